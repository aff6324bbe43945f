"""Across levels: de-duplicate hits by the turns they carry, and zoom in and out.

Every item stands for a set of L0 turns: a turn for itself, a fact for its source turn, an
episode, topic or profile line for the turns whose content its text carries (its sources). A hit
whose turns are all already carried by better hits adds nothing and is dropped. Coarse hits list
their supporting items (zoom in); fine hits name the episode of their session (zoom out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from outcrop.core.payloads import FactPayload
from outcrop.core.provenance import carried_turns
from outcrop.core.time.expressions import resolve_dates
from outcrop.core.types import Hit, Item, Level

__all__ = ["annotate_zoom", "deduplicate", "has_time"]


def deduplicate(hits: Sequence[Hit], limit: int, *, transparent: Callable[[Hit], bool] | None = None) -> list[Hit]:
    """Best first, skipping hits whose carried turns are all covered already; at most ``limit``.
    A ``transparent`` hit is kept without covering its turns (a page a context will zoom into)."""
    covered: set[str] = set()
    kept: list[Hit] = []
    for hit in hits:
        if transparent is not None and transparent(hit):
            kept.append(hit)
            if len(kept) == limit:
                break
            continue
        turns = carried_turns(hit)
        if turns and turns <= covered:
            continue
        covered |= turns
        kept.append(hit)
        if len(kept) == limit:
            break
    return kept


def annotate_zoom(hits: Sequence[Hit], items: Mapping[str, Item]) -> None:
    """Add ``explain["zoom_in"]`` (supporting items, best first) to coarse hits and
    ``explain["zoom_out"]`` (the session's episode) to fine hits when it is among the candidates."""
    rank = {item_id: index for index, item_id in enumerate(items)}
    episodes = {
        item.scope.session_id: item.id
        for item in items.values()
        if item.level == Level.EPISODE and item.scope.session_id
    }
    for hit in hits:
        if hit.level in (Level.EPISODE, Level.TOPIC, Level.PROFILE):
            support = sorted(hit.sources, key=lambda s: (rank.get(s, len(rank)), s))
            hit.explain["zoom_in"] = support[:5]
        elif hit.session_id in episodes:
            hit.explain["zoom_out"] = episodes[hit.session_id]


def has_time(item: Item) -> bool:
    """Dated content: a fact with resolved dates, or a turn that mentions a time."""
    if item.level == Level.FACT:
        return bool(FactPayload.of(item).dates)
    if item.level == Level.TURN:
        return _mentions_time(item.text, item.timestamp) if item.timestamp else False
    return False


@lru_cache(maxsize=1 << 16)
def _mentions_time(text: str, anchor: datetime) -> bool:
    """Cached: when-questions test every candidate turn, and the same turns come back query after query."""
    return bool(resolve_dates(text, anchor))
