"""Time windows named in a question: "in May 2023", "before June 2023", "after 2022" (absolute),
"last summer", "this spring", "two weeks ago" (relative to an anchor, memory's own "now").

A window is half-open, [since, until); either end may be open. Seasons are the meteorological
ones of the northern hemisphere; "last summer" is the latest summer already over at the anchor.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from outcrop.core.time.expressions import resolve_dates

__all__ = ["MONTH_NAMES", "TimeWindow", "parse_relative_window", "parse_window"]

MONTH_NAMES = {m.lower(): i for i, m in enumerate(calendar.month_name) if m} | {
    m.lower(): i for i, m in enumerate(calendar.month_abbr) if m
}
_MONTH = "|".join(sorted(MONTH_NAMES, key=len, reverse=True))
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
        start, end = _span(int(m.group("year")), MONTH_NAMES[m.group("month").lower()], int(day) if day else None)
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
    """The first relative time constraint in ``query`` resolved against ``anchor``, or None (also
    when it falls past the calendar's ends: an anchor in year 9999 has no "next summer")."""
    try:
        return _relative_window(query, anchor)
    except (OverflowError, ValueError):
        return None


def _relative_window(query: str, anchor: date | datetime | None) -> TimeWindow | None:
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
