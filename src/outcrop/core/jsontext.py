"""JSON text from outside (a file, an option, a line of an export) read as data, with one error of
our own for what cannot be: a syntax error, or nesting deeper than Python's parser recurses
(``[[[[…`` a few thousand deep raises :class:`RecursionError`, not :class:`json.JSONDecodeError`)."""

from __future__ import annotations

import json
from typing import Any

from outcrop.errors import InvalidInputError

__all__ = ["parse_json"]


def parse_json(text: str | bytes, what: str, error: type[Exception] = InvalidInputError) -> Any:
    """``text`` parsed as JSON; ``error`` (an :class:`InvalidInputError` by default) naming ``what``
    when it is not JSON or is nested too deep to parse."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise error(f"{what} is JSON nested too deep") from None
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not UTF-8 text (byte {exc.start})") from None
