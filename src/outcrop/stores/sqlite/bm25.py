"""FTS5's ``bm25()``, in Python, from statistics the store keeps (``lexical_terms``,
``lexical_stats``) and per-row figures that cost the matched rows only.

The arithmetic is FTS5's (``fts5_aux.c``, ``fts5Bm25Function``), operation for operation:
``idf = log((N - n + 0.5) / (n + 0.5))``, floored at 1e-6; ``avgdl = tokens / N``; a row scores
``sum(idf[i] * (f[i] * (k1 + 1)) / (f[i] + k1 * (1 - b + b * D / avgdl)))`` over the query's
phrases in order, with k1 = 1.2, b = 0.75, ``f`` a phrase's occurrences in the row and ``D`` the
row's length in tokens (its FTS5 tokens, kept on write in ``lexical_docs``). With the same statistics the scores are
FTS5's to the bit (``tests/stores/sqlite/test_term_stats.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["K1", "B", "idf", "row_score"]

K1 = 1.2
B = 0.75


def idf(docs: int, hits: int) -> float:
    """A phrase's inverse document frequency among ``docs`` documents, ``hits`` of them holding it."""
    value = math.log((docs - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else 1e-6


def row_score(idfs: Sequence[float], freqs: Sequence[int], length: float, avgdl: float) -> float:
    """BM25 of one row: ``freqs[i]`` occurrences of phrase ``i`` (idf ``idfs[i]``) in a row of
    ``length`` tokens. A phrase the row lacks adds nothing (FTS5 adds an exact 0.0)."""
    score = 0.0
    for weight, freq in zip(idfs, freqs, strict=True):
        if freq:
            f = float(freq)
            score += weight * ((f * (K1 + 1.0)) / (f + K1 * (1 - B + B * length / avgdl)))
    return score
