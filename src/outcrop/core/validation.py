"""Pydantic's validation errors as one line in the words of whoever sent the value.

Every face reports a value it cannot take as one line (REST: a 422's message; MCP: a tool's or a
message's error; the CLI and the configuration: a :class:`~outcrop.errors.ConfigError`). Pydantic
names a union's members by their types ("messages.function-after[_no_surrogates(), constrained-str]",
"messages.Message") and reports every member that failed; here a place is its fields and indexes,
a union's failures one line of what it takes, and a place whose part deeper down is named is left
to that part ("messages.0.content", not "messages" as well).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

__all__ = ["describe_errors"]

# a union member's tag in an error's location: "function-after[...]", "list[...]", "str"'s
# constrained forms; never a name the sender wrote (an extra field keeps its own)
_TYPE_TAG = re.compile(r"[\[(]")
_TYPE_NAMES = re.compile(r" or (?:instance of \w+|object to extract fields from)$")  # pydantic's, not the sender's
_EXPECTED = re.compile(r"^Input should be (?:a valid |an? )(.*)$")


def describe_errors(
    errors: Iterable[Mapping[str, Any]],
    *,
    root: str,
    limit: int = 5,
    skip: Collection[str] = (),
    model_names: Collection[str] = (),
) -> str:
    """``errors`` (``ValidationError.errors()``) as one line, "place: message; ..." for at most
    ``limit`` places. ``root`` names the place of an error about the value as a whole; ``skip``
    are location parts the sender never wrote (FastAPI's "body"); ``model_names`` the models
    whose names pydantic puts in a location when they are a union's members."""
    found: dict[tuple[str, ...], list[str]] = {}
    for error in errors:
        said = found.setdefault(_place(error, skip, model_names), [])
        message = str(error.get("msg", "invalid"))
        if message not in said:
            said.append(message)
    deepest = [p for p in found if not any(len(q) > len(p) and q[: len(p)] == p for q in found)]
    parts = [f"{'.'.join(place) or root}: {_one_of(found[place])}" for place in deepest[:limit]]
    return "; ".join(parts) or f"{root}: invalid"


def _place(error: Mapping[str, Any], skip: Collection[str], model_names: Collection[str]) -> tuple[str, ...]:
    """Where ``error`` is, as the sender wrote the value: its fields and indexes only."""
    loc = [p for p in error.get("loc", ()) if p not in skip]
    sent = loc[-1:] if error.get("type") == "extra_forbidden" else []  # the sender's own name, whatever it is
    inner = loc[: len(loc) - len(sent)]
    tags = {p for p in inner if isinstance(p, str) and (_TYPE_TAG.search(p) or p in model_names)}
    return tuple(str(p) for p in inner if p not in tags) + tuple(map(str, sent))


def _one_of(messages: list[str]) -> str:
    """A union's failures as one message: what the member of the value's type said of it ("String
    should have at least 1 character"), else what the union takes ("Input should be a valid
    string, dictionary or list")."""
    messages = [_TYPE_NAMES.sub("", m.removeprefix("Value error, ")) for m in messages]
    specific = [m for m in messages if not _EXPECTED.match(m)]
    if specific or len(messages) == 1:
        return "; ".join(specific or messages)
    wanted = [m.group(1) for m in map(_EXPECTED.match, messages) if m is not None]
    return f"Input should be a valid {', '.join(wanted[:-1])} or {wanted[-1]}"
