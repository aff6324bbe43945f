"""The clock memory reads, and parsing and normalising the times that come with inputs.

Times are stored as naive ISO-8601 strings in the caller's frame (LoCoMo and most chat logs
carry local wall-clock times with no zone). Aware datetimes are converted to UTC first
(:func:`to_naive_utc`); comparisons that must not mix the two frames use :func:`to_aware_utc`.

Every "now" outcrop records (``recorded_at``, access times) comes from :func:`now`, which asks the
current :class:`Clock`: the system clock unless a caller put another in place with
:func:`using_clock` (tests use :class:`FixedClock` instead of sleeping past a second)::

    with using_clock(FixedClock(datetime(2024, 1, 1))) as clock:
        memory.add("first")
        clock.advance(seconds=1)
        memory.add("second")
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol

from outcrop.errors import InvalidInputError

__all__ = [
    "MEMORY_YEARS",
    "Clock",
    "FixedClock",
    "SystemClock",
    "format_time",
    "memory_time",
    "now",
    "parse_time",
    "to_aware_utc",
    "to_naive_utc",
    "using_clock",
]

_LOCOMO = re.compile(
    r"^\s*(?P<h>\d{1,2}):(?P<m>\d{2})\s*(?P<ampm>am|pm)\s+on\s+(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]+),?\s+(?P<y>\d{4})\s*$",
    re.IGNORECASE,
)
_FORMATS = ("%d %B, %Y", "%d %B %Y", "%B %d, %Y", "%d %b %Y", "%Y/%m/%d (%a) %H:%M", "%Y/%m/%d")


class Clock(Protocol):
    """Where memory's "now" comes from."""

    def now(self) -> datetime:
        """The current time, naive UTC, to the second."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class FixedClock:
    """A clock that stands still until moved: deterministic times for tests and replays."""

    def __init__(self, start: datetime) -> None:
        self._now = to_naive_utc(start).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)`` (``seconds=1``, ``days=3``); returns the new time."""
        self._now += timedelta(**delta)
        return self._now


_SYSTEM_CLOCK = SystemClock()
_CLOCK: ContextVar[Clock | None] = ContextVar("outcrop_clock", default=None)


def now() -> datetime:
    """The current time from the clock in place (:func:`using_clock`), naive UTC, to the second."""
    return (_CLOCK.get() or _SYSTEM_CLOCK).now()


@contextmanager
def using_clock(clock: Clock) -> Iterator[Clock]:
    """Read time from ``clock`` inside the block (in this thread or task and what it awaits)."""
    token = _CLOCK.set(clock)
    try:
        yield clock
    finally:
        _CLOCK.reset(token)


def to_naive_utc(value: datetime) -> datetime:
    """An aware time converted to UTC with its zone dropped; a naive one unchanged."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def to_aware_utc(value: datetime) -> datetime:
    """A naive time read as UTC; an aware one unchanged (comparable with either kind)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_time(value: str | datetime | int | float | None) -> datetime | None:
    """Parse a timestamp given as ISO-8601, a LoCoMo date ("1:56 pm on 8 May, 2023"),
    a LongMemEval date ("2023/05/20 (Sat) 02:21"), a plain date, or epoch seconds.

    Raises :class:`InvalidInputError` for anything else, rather than guessing.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            return to_naive_utc(value)
        except OverflowError:  # 0001-01-01 with a positive offset has no UTC time
            raise InvalidInputError(f"timestamp {value.isoformat()} is out of range") from None
    if isinstance(value, bool):
        raise InvalidInputError(f"timestamp must be a date string or number, got {value!r}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise InvalidInputError(f"timestamp {value!r} is out of range of epoch seconds") from None
    if not isinstance(value, str):
        raise InvalidInputError(f"timestamp must be a date string or number, got {type(value).__name__}")
    text = value.strip()
    try:
        return to_naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: no UTC time
        raise InvalidInputError(f"timestamp {value!r} is out of range") from None
    match = _LOCOMO.match(text)
    if match:
        hour = int(match["h"]) % 12 + (12 if match["ampm"].lower() == "pm" else 0)
        day = f"{match['d']} {match['mon']} {match['y']}"
        for fmt in ("%d %B %Y", "%d %b %Y"):
            try:
                return datetime.strptime(day, fmt).replace(hour=hour, minute=int(match["m"]))
            except ValueError:
                continue
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise InvalidInputError(f"cannot parse timestamp {value!r}; use ISO-8601 such as 2023-05-08T13:56:00")


MEMORY_YEARS = (2, 9998)
"""The years a remembered moment may fall in: the calendar's first and last years cannot anchor
what people say relative to them ("tomorrow", "next year")."""


def memory_time(value: str | datetime | int | float | None) -> datetime | None:
    """:func:`parse_time` for the time of something to remember: refused outside :data:`MEMORY_YEARS`."""
    moment = parse_time(value)
    if moment is not None and not MEMORY_YEARS[0] <= moment.year <= MEMORY_YEARS[1]:
        raise InvalidInputError(
            f"timestamp {moment.isoformat()} is outside the years {MEMORY_YEARS[0]}-{MEMORY_YEARS[1]} memory can reason about"
        )
    return moment


def format_time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
