"""Values callers hand over to be stored as they are: names (user, agent, session, speaker, role)
and metadata objects, and the ids they hand back. All are checked before anything is written or
looked up, so nothing stored can break a later read: metadata is plain JSON that every store
holds the same (finite numbers, 64-bit integers, valid Unicode without NUL, bounded depth and size)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from outcrop.errors import InvalidInputError

__all__ = ["MAX_METADATA_BYTES", "MAX_METADATA_DEPTH", "validate_id", "validate_metadata", "validate_name"]

MAX_NAME_CHARS = 200
MAX_METADATA_DEPTH = 16
MAX_METADATA_BYTES = 64 * 1024
_INT64 = (-(2**63), 2**63 - 1)  # the integers every store compares exactly (SQLite's INTEGER)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_name(value: object, what: str) -> str:
    """A user, agent, session or speaker name: a non-empty string of at most 200 characters with
    no control characters (NUL, newlines) and valid Unicode."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME_CHARS:
        raise InvalidInputError(f"{what} must be a non-empty string of at most {MAX_NAME_CHARS} characters")
    if _CONTROL.search(value):
        raise InvalidInputError(f"{what} contains a control character")
    _unicode(value, what)
    return value


def validate_id(value: object, what: str = "id") -> str:
    """An item id as a caller hands it back: a non-empty string of at most 200 characters, valid
    Unicode, no control characters (any other value cannot name an item, so it is refused rather
    than looked up)."""
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        raise InvalidInputError(f"{what} must be a non-empty string of at most {MAX_NAME_CHARS} characters")
    if _CONTROL.search(value):
        raise InvalidInputError(f"{what} contains a control character")
    _unicode(value, what)
    return value


def validate_metadata(value: object, what: str = "metadata") -> dict[str, Any]:
    """``value`` if it is a JSON object that stores and reads back unchanged; else
    :class:`InvalidInputError` naming the first problem."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"{what} must be an object")
    _check(value, what, 1)
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise InvalidInputError(f"{what} is {size:,} bytes as JSON; the limit is {MAX_METADATA_BYTES:,}")
    return dict(value)


def _unicode(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInputError(f"{what} is not valid Unicode (position {exc.start}: {exc.reason})") from None


def _json_text(text: str, what: str) -> None:
    """A string of a metadata object: valid Unicode without NUL, which PostgreSQL's ``jsonb``
    cannot hold (the SQLite store took it, the PostgreSQL store failed the write)."""
    _unicode(text, what)
    if "\x00" in text:
        raise InvalidInputError(f"{what} contains a NUL character")


def _check(value: object, where: str, depth: int) -> None:
    if depth > MAX_METADATA_DEPTH:
        raise InvalidInputError(f"{where}: nested deeper than {MAX_METADATA_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InvalidInputError(f"{where}: integers must fit in 64 bits")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: {value} is not a JSON number")
    elif isinstance(value, str):
        _json_text(value, where)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{where}: keys must be strings, got {type(key).__name__}")
            _json_text(key, f"{where} key")
            _check(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]", depth + 1)
    else:
        raise InvalidInputError(f"{where}: a {type(value).__name__} is not a JSON value")
