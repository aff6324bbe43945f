"""``as_of``: the moment (system time) a read replays memory at, as the REST API takes it.

RFC 3339: ``2023-03-01T12:00:00Z`` or with an offset (``+02:00``); without an offset the time is
taken as UTC, the frame memory records in (``recorded_at``); a plain date means its midnight UTC.
Anything else is refused with 400 rather than guessed at (the library's :func:`parse_time` is more
lenient: it also reads LoCoMo dates and epoch seconds, which an API should not have to).
"""

from __future__ import annotations

import re
from datetime import datetime

from outcrop.core.time.clock import to_naive_utc
from outcrop.server.errors import ApiError

__all__ = ["AS_OF_DESCRIPTION", "AS_OF_PATTERN", "parse_as_of"]

AS_OF_PATTERN = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})?)?$"
AS_OF_DESCRIPTION = (
    "answer from what memory held at this moment (system time), RFC 3339 such as 2023-03-01T12:00:00Z; "
    "without an offset, UTC"
)
_AS_OF = re.compile(AS_OF_PATTERN)


def parse_as_of(value: str | None) -> datetime | None:
    """The moment ``value`` names, naive UTC; None for None. Raises a 400 :class:`ApiError`."""
    if value is None:
        return None
    if not _AS_OF.match(value):
        raise ApiError(
            400,
            "invalid_as_of",
            f"as_of must be an RFC 3339 date-time such as 2023-03-01T12:00:00Z, got {value[:80]!r}",
        )
    try:
        moment = to_naive_utc(datetime.fromisoformat(value.upper().replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise ApiError(400, "invalid_as_of", f"as_of {value!r} is not a valid date-time") from None
    return moment
