"""FTS5's ``bm25()`` from statistics the store keeps (``lexical_terms``, ``lexical_stats``) and
per-row figures that cost the matched rows only (the postings and lengths kept on write): the
constants and the IDF here, the per-row sum in the SQL of :mod:`outcrop.stores.sqlite.lexical`.

The arithmetic is FTS5's (``fts5_aux.c``, ``fts5Bm25Function``), operation for operation:
``idf = log((N - n + 0.5) / (n + 0.5))``, floored at 1e-6; ``avgdl = tokens / N``; a row scores
``sum(idf[i] * (f[i] * (k1 + 1)) / (f[i] + k1 * (1 - b + b * D / avgdl)))`` over the query's
phrases in order, with k1 = 1.2, b = 0.75, ``f`` a phrase's occurrences in the row and ``D`` the
row's length in tokens (kept on write in ``lexical_docs``). With the same statistics the scores are
FTS5's to the bit (``tests/stores/sqlite/test_term_stats.py``).
"""

from __future__ import annotations

import math

__all__ = ["K1", "B", "idf"]

K1 = 1.2
B = 0.75


def idf(docs: int, hits: int) -> float:
    """A phrase's inverse document frequency among ``docs`` documents, ``hits`` of them holding it."""
    value = math.log((docs - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else 1e-6
