"""JSON text from outside (a file, an option, a line of an export, a request body) read as data,
with one error of our own for what cannot be: a syntax error, nesting deeper than Python's parser
recurses (``[[[[…`` a few thousand deep raises :class:`RecursionError`, not
:class:`json.JSONDecodeError`), or an object that names one key twice (``{"user_id": "a",
"user_id": "b"}``: Python keeps the last, another reader the first; which scope was meant is a
guess, so it is refused)."""

from __future__ import annotations

import json
from typing import Any

from outcrop.errors import InvalidInputError

__all__ = ["RepeatedKeyError", "parse_json", "unique_keys"]


class RepeatedKeyError(ValueError):
    """A JSON object names ``key`` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} appears twice in one object")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' ``object_pairs_hook``: the object, or :class:`RepeatedKeyError`."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise RepeatedKeyError(key)
        obj[key] = value
    return obj


def parse_json(text: str | bytes, what: str, error: type[Exception] = InvalidInputError) -> Any:
    """``text`` parsed as JSON; ``error`` (an :class:`InvalidInputError` by default) naming ``what``
    when it is not JSON or is nested too deep to parse."""
    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except RepeatedKeyError as exc:
        raise error(f"{what} is not valid: {exc}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise error(f"{what} is JSON nested too deep") from None
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text (byte {exc.start})") from None
