"""Temporal channel: time constraints named in the query select items in that window.

"What did Caroline do in May 2023?", "in 2022", "on 8 May 2023", "before June 2023",
"after 2022" become a [since, until) window; the channel then runs lexical search restricted to
items whose time falls inside it, so the dated turns and facts of that window rank first.

Relative phrases ("last summer", "this spring", "last month", "two weeks ago", "yesterday") are
resolved against an anchor: the newest item time in the searched scope, the memory's own "now",
so a replayed history is read as it was lived (a wall-clock anchor would put every 2023
conversation years in the past). Seasons are the meteorological ones of the northern hemisphere;
"last summer" is the latest summer already over at the anchor. Queries without a time constraint
return nothing (the channel abstains).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from outcrop.config import RetrievalConfig
from outcrop.core.time.windows import MONTH_NAMES, TimeWindow, parse_relative_window, parse_window
from outcrop.core.types import Scope
from outcrop.retrieve.channels import ChannelRequest
from outcrop.stores.base import ScoredId, SearchFilters, Store

__all__ = ["TemporalChannel", "newest_time"]


def _narrow(filters: SearchFilters | None, window: TimeWindow) -> SearchFilters:
    base = filters or SearchFilters()
    since = max((t for t in (base.since, window.since) if t is not None), default=None)
    until = min((t for t in (base.until, window.until) if t is not None), default=None)
    return replace(base, since=since, until=until)


class TemporalChannel:
    """Lexical search restricted to the query's time window (abstains without one)."""

    name = "temporal"

    def __init__(self, store: Store, config: RetrievalConfig) -> None:
        self.store = store
        self.config = config

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        window = parse_window(request.query.text) or parse_relative_window(request.query.text, self._anchor(request))
        if window is None:
            return []
        terms = {t: 1.0 for t in request.query.terms if not t.isdigit() and t.lower() not in MONTH_NAMES}
        filters = _narrow(request.filters, window)
        if terms:
            found = self.store.lexical.search(request.scope, terms, request.k, filters, self.config.context_weight)
            if found:
                return found
        return self.store.records.recent(request.scope, request.k, filters)

    def _anchor(self, request: ChannelRequest) -> datetime | None:
        """The newest item time in the scope (before the filters' ``until``, when one is set)."""
        if not _MAYBE_RELATIVE.search(request.query.text):
            return None
        return newest_time(self.store, request.scope, request.filters)


def newest_time(store: Store, scope: Scope, filters: SearchFilters | None = None) -> datetime | None:
    """The time of the newest dated item in ``scope`` (within ``filters``): memory's own "now"."""
    newest = store.records.recent(scope, 1, filters)
    if not newest:
        return None
    item = store.records.get_items(scope, [newest[0][0]]).get(newest[0][0])
    return item.timestamp if item is not None else None


_MAYBE_RELATIVE = re.compile(
    r"\b(?:last|this|next|past|ago|yesterday|today|tonight|tomorrow|recently|earlier)\b", re.IGNORECASE
)
