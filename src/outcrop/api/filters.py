"""Parse the ``filters`` argument of search/context into :class:`SearchFilters`, and the
``channels`` weights of search."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from outcrop.core.time.clock import parse_time
from outcrop.core.types import Level
from outcrop.core.values import validate_metadata, validate_name
from outcrop.errors import InvalidInputError
from outcrop.stores.base import SearchFilters

__all__ = ["CHANNELS", "MAX_WEIGHT", "Filters", "parse_channels", "parse_filters"]

Filters = SearchFilters | Mapping[str, Any]
"""Search filters: a :class:`SearchFilters`, or an object with the keys :func:`parse_filters` reads."""

_KEYS = {"since", "until", "speaker", "speakers", "session_id", "metadata", "level", "levels"}
CHANNELS = (
    "bm25",
    "dense",
    "recency",
    "temporal",
    "graph",
    "pages",
    "relations",
    "traits",
    "focus",
    "hops",
    "feedback",
    "dense_turns",
)
"""The channels search fuses (``retrieve/``); ``channels`` weights name some of them."""
MAX_WEIGHT = 100.0


def _strings(value: Any, key: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidInputError(f"filter {key!r} must be a string or a list of strings")
    return tuple(values)


def parse_channels(channels: Mapping[str, float] | None) -> dict[str, float] | None:
    """Fusion weights per channel: known channel names, finite weights from 0 to 100, at least
    one above 0 (an all-zero weighting would search nothing)."""
    if channels is None:
        return None
    if not isinstance(channels, Mapping):
        raise InvalidInputError(f"channels must be an object of channel: weight, got {type(channels).__name__}")
    unknown = [k for k in channels if k not in CHANNELS]
    if unknown:
        raise InvalidInputError(f"unknown channels {unknown!r}; channels: {list(CHANNELS)}")
    weights = {}
    for name, weight in channels.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise InvalidInputError(f"channel weight {name!r} must be a number")
        if not 0.0 <= weight <= MAX_WEIGHT:
            raise InvalidInputError(f"channel weight {name!r} must be between 0 and {MAX_WEIGHT:g}")
        weights[name] = float(weight)
    if not any(weights.values()):
        raise InvalidInputError("channels must give at least one channel a weight above 0")
    return weights


def parse_filters(filters: Filters | None) -> SearchFilters | None:
    """Accepts ``{"since", "until", "speaker"|"speakers", "session_id", "metadata": {k: v}, "level"|"levels"}``."""
    if filters is None or isinstance(filters, SearchFilters):
        return filters
    if not isinstance(filters, Mapping):
        raise InvalidInputError(f"filters must be an object, got {type(filters).__name__}")
    unknown = set(filters) - _KEYS
    if unknown:
        raise InvalidInputError(f"unknown filter keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    metadata = filters.get("metadata")
    metadata = {} if metadata is None else metadata  # 0 or "" are no metadata filter: refused
    if not isinstance(metadata, dict):
        raise InvalidInputError("filter 'metadata' must be an object of key: value pairs")
    metadata = validate_metadata(metadata, "filter 'metadata'")
    levels_raw = filters.get("levels", filters.get("level", ()))
    try:
        levels = tuple(Level(v) for v in _strings(levels_raw, "levels")) if levels_raw else ()
    except ValueError:
        raise InvalidInputError(f"unknown level in {levels_raw!r}; levels: {[lv.value for lv in Level]}") from None
    session = filters.get("session_id")
    if session is not None:
        session = validate_name(session, "filter 'session_id'")
    speakers = filters.get("speakers", filters.get("speaker"))
    # an empty name is refused as a name is, not read as no filter ("speaker": "" matched everyone)
    names = (
        tuple(validate_name(v, "filter 'speaker'") for v in _strings(speakers, "speaker"))
        if speakers is not None
        else ()
    )
    return SearchFilters(
        since=parse_time(filters.get("since")),
        until=parse_time(filters.get("until")),
        speakers=names,
        session_id=session,
        metadata=metadata,
        levels=levels,
    )
