"""Temporal channel: time constraints named in the query select items in that window.

"What did Caroline do in May 2023?", "in 2022", "on 8 May 2023", "before June 2023",
"after 2022" become a [since, until) window; the channel then runs lexical search restricted to
items whose time falls inside it, so the dated turns and facts of that window rank first. Queries
without an absolute time constraint return nothing (the channel abstains). Relative phrases such
as "last summer" need an anchor the query does not give and are left to the other channels.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import datetime

from memstrata.config import RetrievalConfig
from memstrata.retrieve.channels import ChannelRequest
from memstrata.stores.base import ScoredId, SearchFilters, Store

__all__ = ["TemporalChannel", "TimeWindow", "parse_window"]

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
        window = parse_window(request.query.text)
        if window is None:
            return []
        terms = {t: 1.0 for t in request.query.terms if not t.isdigit() and t.lower() not in _MONTHS}
        filters = _narrow(request.filters, window)
        if terms:
            found = self.store.lexical_search(request.scope, terms, request.k, filters, self.config.context_weight)
            if found:
                return found
        return self.store.recent(request.scope, request.k, filters)
