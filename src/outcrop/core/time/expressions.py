"""Resolve relative time expressions ("yesterday", "last Saturday", "two weeks ago") to absolute
dates against the time of the turn that said them (DESIGN.md §3).

Rules, not a parser library: every rule is a regular expression with a resolver, each one tested
in ``tests/core/time/test_expressions.py``. A resolution is a span of days (``start``..``end`` inclusive) with
a granularity, so "last week" stays a week and "in 2022" stays a year; ``label`` formats it the way
people write dates ("7 May 2023", "the week of 1 May 2023", "April 2023").
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

__all__ = ["TimeSpan", "annotate", "resolve_dates"]

Granularity = Literal["day", "weekend", "week", "month", "year"]

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = [m.lower() for m in calendar.month_name[1:]]
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a couple": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
    "several": 3,
}
_FUTURE_HINT = re.compile(r"\b(will|going to|gonna|plan(?:ning)?|'ll|hope to|can't wait|looking forward)\b", re.I)

_WD = "|".join(_WEEKDAYS)
_RECURRING = re.compile(r"\b(?:every|each)\s+(?:other\s+)?$", re.I)
_UNTIL_BEFORE = re.compile(r"\b(?:until|till|til|before)\s+$", re.I)  # "staying until June": the coming June
_PAST_BEFORE = re.compile(r"\b(?:went|was|were|did|had|got|took|made|learned|learnt|\w{3,}ed)\b", re.I)
_MN = "|".join(_MONTHS) + "|" + "|".join(sorted(_MONTH_ABBR, key=len, reverse=True))
_NUM = r"\d{1,3}|" + "|".join(sorted((re.escape(k) for k in _NUMBERS), key=len, reverse=True))


@dataclass(frozen=True)
class TimeSpan:
    """A resolved time expression: the phrase, where it sits in the text, and its days."""

    phrase: str
    start_char: int
    end_char: int
    start: date
    end: date
    granularity: Granularity
    explicit: bool = False  # written as a date ("May 7, 2023"), not relative to the turn

    @property
    def label(self) -> str:
        if self.granularity == "day":
            return _day(self.start)
        if self.granularity == "weekend":
            return f"the weekend of {_day(self.start)}"
        if self.granularity == "week":
            return f"the week of {_day(self.start)}"
        if self.granularity == "month":
            return f"{calendar.month_name[self.start.month]} {self.start.year}"
        return str(self.start.year)


def _day(d: date) -> str:
    return f"{d.day} {calendar.month_name[d.month]} {d.year}"


def _count(word: str) -> int:
    word = word.lower()
    return int(word) if word.isdigit() else _NUMBERS[word]


def _month_index(word: str) -> int:
    word = word.lower().rstrip(".")
    return _MONTHS.index(word) + 1 if word in _MONTHS else _MONTH_ABBR[word[:4] if word == "sept" else word[:3]]


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _shift_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def _week_of(d: date) -> tuple[date, date]:
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


def _weekend_before(d: date) -> tuple[date, date]:
    """The most recent Saturday–Sunday that ended before ``d``'s week-day (today counts on a Sunday)."""
    saturday = d - timedelta(days=(d.weekday() - 5) % 7 or (7 if d.weekday() == 5 else 0))
    if saturday >= d:
        saturday -= timedelta(days=7)
    return saturday, saturday + timedelta(days=1)


Resolved = tuple[date, date, Granularity]
Resolver = Callable[[re.Match[str], date, bool], Resolved | None]


def _fixed(offset: int) -> Resolver:
    def resolve(_: re.Match[str], anchor: date, __: bool) -> Resolved:
        d = anchor + timedelta(days=offset)
        return d, d, "day"

    return resolve


def _weekday(m: re.Match[str], anchor: date, future: bool) -> Resolved:
    which = (m.group("which") or "").lower()
    which = "" if which == "on" else which
    target = _WEEKDAYS.index(m.group("wd").lower())
    if which == "next" or (not which and future) or (which == "this" and future):
        delta = (target - anchor.weekday()) % 7 or 7
        d = anchor + timedelta(days=delta)
    elif which == "this":
        d = anchor + timedelta(days=target - anchor.weekday())
    else:  # "last", "this past", or a bare weekday told in the past tense
        delta = (anchor.weekday() - target) % 7 or 7
        d = anchor - timedelta(days=delta)
    return d, d, "day"


def _relative_unit(m: re.Match[str], anchor: date, _: bool) -> Resolved | None:
    which = m.group("which").lower().replace("the ", "")
    unit = m.group("unit").lower()
    step = {"last": -1, "past": -1, "previous": -1, "next": 1, "coming": 1, "this": 0}[which.split()[-1]]
    if unit == "weekend":
        if step < 0:
            s, e = _weekend_before(anchor)
        else:
            saturday = anchor + timedelta(days=(5 - anchor.weekday()) % 7)
            if anchor.weekday() == 6 and step == 0:
                saturday = anchor - timedelta(days=1)
            if step > 0 and saturday <= anchor + timedelta(days=1) and anchor.weekday() >= 5:
                saturday += timedelta(days=7)
            s, e = saturday, saturday + timedelta(days=1)
        return s, e, "weekend"
    if unit == "week":
        s, e = _week_of(anchor + timedelta(weeks=step))
        return s, e, "week"
    if unit == "month":
        s, e = _month_span(*(lambda d: (d.year, d.month))(_shift_months(anchor.replace(day=1), step)))
        return s, e, "month"
    year = anchor.year + step
    return date(year, 1, 1), date(year, 12, 31), "year"


def _offset(n: int, unit: str, anchor: date) -> Resolved:
    """The day, week, month or year ``n`` units from ``anchor`` (negative: in the past)."""
    unit = unit.lower().rstrip("s")
    if unit == "day":
        d = anchor + timedelta(days=n)
        return d, d, "day"
    if unit == "week":
        s, e = _week_of(anchor + timedelta(weeks=n))
        return s, e, "week"
    if unit == "month":
        d = _shift_months(anchor, n)
        s, e = _month_span(d.year, d.month)
        return s, e, "month"
    return date(anchor.year + n, 1, 1), date(anchor.year + n, 12, 31), "year"


def _ago(m: re.Match[str], anchor: date, _: bool) -> Resolved:
    forward = bool(m.group("pre")) or m.group("dir").lower() != "ago"
    n = _count(m.group("n"))
    return _offset(n if forward else -n, m.group("unit"), anchor)


def _in_n(m: re.Match[str], anchor: date, _: bool) -> Resolved:
    return _offset(_count(m.group("n")), m.group("unit"), anchor)


def _named_month(m: re.Match[str], anchor: date, future: bool) -> Resolved | None:
    which = (m.group("which") or "").lower()
    month = _month_index(m.group("month"))
    year = int(m.group("year")) if m.groupdict().get("year") else None
    if year is None:
        if which == "last" or (not which and not future):
            year = anchor.year if month < anchor.month or (not which and month == anchor.month) else anchor.year - 1
        elif which == "next" or future:
            year = anchor.year if month > anchor.month else anchor.year + 1
        else:  # "this May"
            year = anchor.year
    s, e = _month_span(year, month)
    return s, e, "month"


def _explicit_day(m: re.Match[str], anchor: date, _: bool) -> Resolved | None:
    month = _month_index(m.group("month"))
    year = int(m.group("year")) if m.group("year") else anchor.year
    try:
        d = date(year, month, int(m.group("day")))
    except ValueError:
        return None
    return d, d, "day"


def _iso_day(m: re.Match[str], _: date, __: bool) -> Resolved | None:
    try:
        d = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
    except ValueError:
        return None
    return d, d, "day"


def _year(m: re.Match[str], _: date, __: bool) -> Resolved | None:
    year = int(m.group("year"))
    if not 1900 <= year <= 2100:
        return None
    return date(year, 1, 1), date(year, 12, 31), "year"


def _week_before(m: re.Match[str], anchor: date, _: bool) -> Resolved:
    unit = m.group("unit").lower()
    if unit == "weekend":
        s, e = _weekend_before(anchor)
        return s, e, "weekend"
    s, e = _week_of(anchor - timedelta(weeks=1))
    return s, e, "week"


_RULES: list[tuple[re.Pattern[str], Resolver]] = [
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b", re.I), _fixed(-2)),
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b", re.I), _fixed(2)),
    (re.compile(r"\b(?:yesterday|last\s+night)\b", re.I), _fixed(-1)),
    (re.compile(r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b", re.I), _fixed(0)),
    (re.compile(r"\btomorrow\b", re.I), _fixed(1)),
    (re.compile(r"\bthe\s+(?P<unit>week|weekend)\s+before\b", re.I), _week_before),
    (
        re.compile(
            rf"\b(?P<pre>in\s+)?(?P<n>{_NUM})\s+(?P<unit>days?|weeks?|months?|years?)\s+(?P<dir>ago|from\s+now|later)\b",
            re.I,
        ),
        _ago,
    ),
    (re.compile(rf"\bin\s+(?P<n>{_NUM})\s+(?P<unit>days?|weeks?|months?|years?)\b", re.I), _in_n),
    (
        re.compile(
            r"\b(?P<which>last|next|this|(?:this|the)\s+past|(?:this|the)\s+coming|previous)\s+(?P<unit>weekend|week|month|year)\b",
            re.I,
        ),
        _relative_unit,
    ),
    (re.compile(rf"\b(?P<which>last|next|this(?:\s+past)?|on)?\s*\b(?P<wd>{_WD})\b", re.I), _weekday),
    (
        re.compile(rf"\b(?P<month>{_MN})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?\b", re.I),
        _explicit_day,
    ),
    (
        re.compile(
            rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MN})\.?(?:,?\s+(?P<year>\d{{4}}))?\b", re.I
        ),
        _explicit_day,
    ),
    (re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b"), _iso_day),
    (
        re.compile(
            rf"\b(?P<which>last|next|this|in|since|during)?\s*\b(?P<month>{_MN})\b(?:\s+(?P<year>\d{{4}}))?", re.I
        ),
        _named_month,
    ),
    (re.compile(r"\b(?:in|since|during|of|back in)\s+(?P<year>\d{4})\b", re.I), _year),
]
_EXPLICIT: set[Resolver] = {_explicit_day, _iso_day, _year}
# Month abbreviations that are also common words are only months next to a day or a year.
_AMBIGUOUS_MONTHS = {"may", "mar", "jan", "jun", "aug", "sep", "sept", "oct", "dec", "nov", "apr", "jul", "feb"}


def resolve_dates(text: str, anchor: datetime | date) -> list[TimeSpan]:
    """Every time expression in ``text`` resolved against ``anchor``, in text order, without overlaps."""
    day = anchor.date() if isinstance(anchor, datetime) else anchor
    future = bool(_FUTURE_HINT.search(text))
    taken: list[tuple[int, int]] = []
    found: list[TimeSpan] = []
    for pattern, resolver in _RULES:
        for m in pattern.finditer(text):
            start, end = m.span()
            phrase = m.group(0).strip()
            start += len(m.group(0)) - len(m.group(0).lstrip())
            if not phrase or any(start < e and s < end for s, e in taken):
                continue
            if resolver is _named_month and not _named_month_ok(m):
                continue
            if resolver is _weekday and _RECURRING.search(text[:start]):
                continue  # "every Tuesday", "on Tuesdays": a habit, not a day
            if resolver is _in_n and not future and _PAST_BEFORE.search(text[:start]):
                continue  # "went from open strings to an orchestra in six months": a duration
            ahead = future
            if (
                resolver is _named_month
                and _UNTIL_BEFORE.search(text[:start])
                and not _PAST_BEFORE.search(text[:start])
            ):
                ahead = True  # "I'm staying there until June"; "I stayed until June" stays past
            try:
                resolved = resolver(m, day, ahead)
            except (OverflowError, ValueError):  # past the calendar's ends ("999 years ago" in year 500)
                resolved = None
            if resolved is None:
                continue
            taken.append((start, end))
            explicit = resolver in _EXPLICIT or (resolver is _named_month and bool(m.group("year")))
            found.append(TimeSpan(phrase, start, end, *resolved, explicit=explicit))
    return sorted(found, key=lambda span: span.start_char)


def _named_month_ok(m: re.Match[str]) -> bool:
    """Bare "may"/"march" are usually not months: require a capital, a qualifier or a year."""
    word = m.group("month")
    if m.group("year") or m.group("which"):
        return word[0].isupper() or word.lower() not in _AMBIGUOUS_MONTHS
    return word[0].isupper() and word.lower() not in {"may", "march"} and len(word) > 3


def annotate(text: str, anchor: datetime | date, *, named_months: bool = True) -> tuple[str, list[TimeSpan]]:
    """``text`` with each relative expression followed by its absolute date in parentheses
    ("yesterday (7 May 2023)"); explicit dates are left as written. ``named_months=False``: a month
    the phrase names ("in June") gets no year when it is the year the text was said in, for a reader
    who has the text's date beside it ("in January" said in December still says which January)."""
    spans = resolve_dates(text, anchor)
    out: list[str] = []
    last = 0
    for span in spans:
        out.append(text[last : span.end_char])
        said_month = (
            span.granularity == "month"
            and span.start.year == anchor.year
            and calendar.month_name[span.start.month].lower() in span.phrase.lower()
        )
        if not span.explicit and span.label.lower() not in span.phrase.lower() and (named_months or not said_month):
            out.append(f" ({span.label})")
        last = span.end_char
    out.append(text[last:])
    return "".join(out), spans
