"""Parsing and normalising the times that come with inputs.

Times are stored as naive ISO-8601 strings in the caller's frame (LoCoMo and most chat logs
carry local wall-clock times with no zone). Aware datetimes are converted to UTC first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from outcrop.errors import InvalidInputError

__all__ = ["format_time", "now", "parse_time"]

_LOCOMO = re.compile(
    r"^\s*(?P<h>\d{1,2}):(?P<m>\d{2})\s*(?P<ampm>am|pm)\s+on\s+(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]+),?\s+(?P<y>\d{4})\s*$",
    re.IGNORECASE,
)
_FORMATS = ("%d %B, %Y", "%d %B %Y", "%B %d, %Y", "%d %b %Y", "%Y/%m/%d (%a) %H:%M", "%Y/%m/%d")


def now() -> datetime:
    """The current time, naive UTC, to the second."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_time(value: str | datetime | int | float | None) -> datetime | None:
    """Parse a timestamp given as ISO-8601, a LoCoMo date ("1:56 pm on 8 May, 2023"),
    a LongMemEval date ("2023/05/20 (Sat) 02:21"), a plain date, or epoch seconds.

    Raises :class:`InvalidInputError` for anything else, rather than guessing.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return _naive(value)
    if isinstance(value, bool):
        raise InvalidInputError(f"timestamp must be a date string or number, got {value!r}")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    if not isinstance(value, str):
        raise InvalidInputError(f"timestamp must be a date string or number, got {type(value).__name__}")
    text = value.strip()
    try:
        return _naive(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
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


def format_time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
