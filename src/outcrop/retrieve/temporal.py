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

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from outcrop.config import RetrievalConfig
from outcrop.core.types import Scope
from outcrop.retrieve.channels import ChannelRequest
from outcrop.stores.base import ScoredId, SearchFilters, Store
from outcrop.strata.dates import resolve_dates

__all__ = ["TemporalChannel", "TimeWindow", "newest_time", "parse_relative_window", "parse_window"]

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    rf"\b(?P<prep>in|on|during|before|after|since|until|by)?\s*(?:the\s+)?"
    rf"(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?P<month>{_MONTH})\.?(?:\s+(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?)?,?\s+(?P<year>(?:19|20)\d\d)\b"
    rf"|\b(?P<prep2>in|during|before|after|since|until|by)\s+(?P<year2>(?:19|20)\d\d)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval [since, until); either end may be open."""

    since: datetime | None
    until: datetime | None


def _span(year: int, month: int | None, day: int | None) -> tuple[datetime, datetime]:
    if month is None:
        return datetime(year, 1, 1), datetime(year + 1, 1, 1)
    if day is None:
        end = datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1)
        return datetime(year, month, 1), end
    day = min(day, calendar.monthrange(year, month)[1])
    start = datetime(year, month, day)
    return start, datetime.fromordinal(start.toordinal() + 1)


def parse_window(query: str) -> TimeWindow | None:
    """The first absolute time constraint in ``query`` as a window, or None."""
    m = _DATE.search(query)
    if m is None:
        return None
    if m.group("year2"):
        prep, (start, end) = m.group("prep2").lower(), _span(int(m.group("year2")), None, None)
    else:
        day = m.group("day") or m.group("day2")
        prep = (m.group("prep") or "in").lower()
        start, end = _span(int(m.group("year")), _MONTHS[m.group("month").lower()], int(day) if day else None)
    if prep in ("before", "until", "by"):
        return TimeWindow(None, end if prep == "by" else start)
    if prep in ("after", "since"):
        return TimeWindow(start if prep == "since" else end, None)
    return TimeWindow(start, end)


_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}  # first month
_SEASON = re.compile(
    r"\b(?:(?P<which>last|this|next|past)\s+(?P<season>spring|summer|fall|autumn|winter)"
    r"|(?:in\s+)?(?:the\s+)?(?P<season2>spring|summer|fall|autumn|winter)\s+(?:of\s+)?(?P<year>(?:19|20)\d\d))\b",
    re.IGNORECASE,
)


def _season(year: int, first_month: int) -> tuple[datetime, datetime]:
    """The season starting in ``first_month`` of ``year`` (winter runs into the next year)."""
    start = datetime(year, first_month, 1)
    end_month = first_month + 3
    end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return start, end


def _season_window(m: re.Match[str], anchor: date | None) -> TimeWindow | None:
    if m.group("year"):
        return TimeWindow(*_season(int(m.group("year")), _SEASONS[m.group("season2").lower()]))
    if anchor is None:
        return None
    first = _SEASONS[m.group("season").lower()]
    which = m.group("which").lower()
    at = datetime(anchor.year, anchor.month, anchor.day)
    candidates = [_season(year, first) for year in range(anchor.year - 2, anchor.year + 2)]
    if which in ("last", "past"):
        return TimeWindow(*max(c for c in candidates if c[1] <= at))
    if which == "next":
        return TimeWindow(*min(c for c in candidates if c[0] > at))
    current = [c for c in candidates if c[0] <= at < c[1]]  # "this summer": the one under way, else this year's
    return TimeWindow(*(current[0] if current else _season(anchor.year, first)))


def parse_relative_window(query: str, anchor: date | datetime | None) -> TimeWindow | None:
    """The first relative time constraint in ``query`` resolved against ``anchor``, or None."""
    m = _SEASON.search(query)
    if m is not None:
        window = _season_window(m, anchor.date() if isinstance(anchor, datetime) else anchor)
        if window is not None:
            return window
    if anchor is None:
        return None
    for span in resolve_dates(query, anchor):
        if not span.explicit:
            start = datetime(span.start.year, span.start.month, span.start.day)
            return TimeWindow(start, datetime.fromordinal(span.end.toordinal() + 1))
    return None


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
        terms = {t: 1.0 for t in request.query.terms if not t.isdigit() and t.lower() not in _MONTHS}
        filters = _narrow(request.filters, window)
        if terms:
            found = self.store.lexical_search(request.scope, terms, request.k, filters, self.config.context_weight)
            if found:
                return found
        return self.store.recent(request.scope, request.k, filters)

    def _anchor(self, request: ChannelRequest) -> datetime | None:
        """The newest item time in the scope (before the filters' ``until``, when one is set)."""
        if not _MAYBE_RELATIVE.search(request.query.text):
            return None
        return newest_time(self.store, request.scope, request.filters)


def newest_time(store: Store, scope: Scope, filters: SearchFilters | None = None) -> datetime | None:
    """The time of the newest dated item in ``scope`` (within ``filters``): memory's own "now"."""
    newest = store.recent(scope, 1, filters)
    if not newest:
        return None
    item = store.get_items(scope, [newest[0][0]]).get(newest[0][0])
    return item.timestamp if item is not None else None


_MAYBE_RELATIVE = re.compile(
    r"\b(?:last|this|next|past|ago|yesterday|today|tonight|tomorrow|recently|earlier)\b", re.IGNORECASE
)
