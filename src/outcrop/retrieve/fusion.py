"""Rank fusion (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from outcrop.core.explain import ChannelRank

__all__ = ["weighted_rrf"]


def weighted_rrf(
    rankings: Mapping[str, Sequence[tuple[str, float]]], weights: Mapping[str, float], k: int = 60
) -> list[tuple[str, float, dict[str, ChannelRank]]]:
    """Weighted reciprocal-rank fusion: ``score(d) = Σ_c w_c / (k + rank_c(d))``, ranks from 1.

    Returns ``(id, fused score, {channel: {"rank", "score"}})`` sorted by fused score, ties
    broken by the best single rank and then by id, so equal inputs give equal outputs.
    """
    fused: dict[str, float] = {}
    traces: dict[str, dict[str, ChannelRank]] = {}
    best_rank: dict[str, int] = {}
    for channel, ranking in rankings.items():
        weight = weights.get(channel, 0.0)
        if weight <= 0:
            continue
        for rank, (item_id, score) in enumerate(ranking, start=1):
            fused[item_id] = fused.get(item_id, 0.0) + weight / (k + rank)
            traces.setdefault(item_id, {})[channel] = {"rank": rank, "score": round(float(score), 6)}
            best_rank[item_id] = min(best_rank.get(item_id, rank), rank)
    order = sorted(fused, key=lambda i: (-fused[i], best_rank[i], i))
    return [(item_id, fused[item_id], traces[item_id]) for item_id in order]
