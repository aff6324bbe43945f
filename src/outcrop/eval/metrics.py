"""Retrieval metrics over turn-level evidence (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["hit_at", "ndcg_at", "percentile", "recall_at"]


def _first_k_unique(retrieved: Sequence[Sequence[str]], k: int) -> list[set[str]]:
    return [set(turns) for turns in retrieved[:k]]


def recall_at(retrieved: Sequence[Sequence[str]], evidence: Sequence[str], k: int) -> float:
    """Share of evidence turns covered by the top-k items (each item covers its source turns)."""
    if not evidence:
        return 0.0
    covered: set[str] = set()
    for turns in _first_k_unique(retrieved, k):
        covered |= turns
    return len(covered & set(evidence)) / len(set(evidence))


def hit_at(retrieved: Sequence[Sequence[str]], evidence: Sequence[str], k: int) -> float:
    """1.0 when at least one evidence turn is in the top k."""
    return 1.0 if recall_at(retrieved, evidence, k) > 0 else 0.0


def ndcg_at(retrieved: Sequence[Sequence[str]], evidence: Sequence[str], k: int) -> float:
    """Binary-gain nDCG@k; an item's gain is 1 if it covers an evidence turn not yet covered."""
    wanted = set(evidence)
    if not wanted:
        return 0.0
    dcg, seen = 0.0, set[str]()
    for rank, turns in enumerate(_first_k_unique(retrieved, k), start=1):
        new = (turns & wanted) - seen
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            seen |= new
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(wanted), k) + 1))
    return dcg / ideal


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
