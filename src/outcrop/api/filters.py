"""Parse the ``filters`` argument of search/context into :class:`SearchFilters`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from outcrop.core.time.clock import parse_time
from outcrop.core.types import Level
from outcrop.errors import InvalidInputError
from outcrop.stores.base import SearchFilters

__all__ = ["Filters", "parse_filters"]

Filters = SearchFilters | Mapping[str, Any]
"""Search filters: a :class:`SearchFilters`, or an object with the keys :func:`parse_filters` reads."""

_KEYS = {"since", "until", "speaker", "speakers", "session_id", "metadata", "level", "levels"}


def _strings(value: Any, key: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidInputError(f"filter {key!r} must be a string or a list of strings")
    return tuple(values)


def parse_filters(filters: Filters | None) -> SearchFilters | None:
    """Accepts ``{"since", "until", "speaker"|"speakers", "session_id", "metadata": {k: v}, "level"|"levels"}``."""
    if filters is None or isinstance(filters, SearchFilters):
        return filters
    if not isinstance(filters, Mapping):
        raise InvalidInputError(f"filters must be an object, got {type(filters).__name__}")
    unknown = set(filters) - _KEYS
    if unknown:
        raise InvalidInputError(f"unknown filter keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    metadata = filters.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidInputError("filter 'metadata' must be an object of key: value pairs")
    levels_raw = filters.get("levels", filters.get("level", ()))
    try:
        levels = tuple(Level(v) for v in _strings(levels_raw, "levels")) if levels_raw else ()
    except ValueError:
        raise InvalidInputError(f"unknown level in {levels_raw!r}; levels: {[lv.value for lv in Level]}") from None
    session = filters.get("session_id")
    if session is not None and not isinstance(session, str):
        raise InvalidInputError("filter 'session_id' must be a string")
    speakers = filters.get("speakers", filters.get("speaker"))
    return SearchFilters(
        since=parse_time(filters.get("since")),
        until=parse_time(filters.get("until")),
        speakers=_strings(speakers, "speaker") if speakers else (),
        session_id=session,
        metadata=metadata,
        levels=levels,
    )
