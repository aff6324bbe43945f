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

# a union member's tag in an error's location, as pydantic-core writes it: "function-after[...]",
# "list[int]", "str", "constrained-str"; or the name of a model (``model_names``)
_TAG = re.compile(r"^([a-z]+(?:-[a-z]+)*)(?:\[.*\])?$", re.DOTALL)
_TAG_HEADS = frozenset(
    "function-after function-before function-wrap function-plain list dict set frozenset tuple literal"
    " nullable union tagged-union is-instance is-subclass lax-or-strict json-or-python chain default json"
    " generator callable str int float bool bytes none decimal date datetime time timedelta uuid url"
    " multi-host-url complex any model dataclass typed-dict enum str-enum int-enum float-enum definition-ref".split()
)
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
    ``limit`` places (then how many more). ``root`` names the place of an error about the value as
    a whole; ``skip`` are location parts the sender never wrote (FastAPI's "body"); ``model_names``
    the models whose names pydantic puts in a location when they are a union's members."""
    errors = list(errors)
    locations = [tuple(p for p in error.get("loc", ()) if p not in skip) for error in errors]
    siblings: dict[tuple[Any, ...], set[Any]] = {}  # what follows each location prefix
    for loc in locations:
        for i, part in enumerate(loc):
            siblings.setdefault(loc[:i], set()).add(part)
    found: dict[tuple[str, ...], list[str]] = {}
    for error, loc in zip(errors, locations, strict=True):
        said = found.setdefault(_place(error, loc, siblings, model_names), [])
        message = str(error.get("msg", "invalid"))
        if message not in said:
            said.append(message)
    deepest = [p for p in found if not any(len(q) > len(p) and q[: len(p)] == p for q in found)]
    parts = [f"{'.'.join(place) or root}: {_one_of(found[place])}" for place in deepest[:limit]]
    more = f" (and {len(deepest) - limit} more)" if len(deepest) > limit else ""
    return ("; ".join(parts) or f"{root}: invalid") + more


def _place(
    error: Mapping[str, Any],
    loc: tuple[Any, ...],
    siblings: Mapping[tuple[Any, ...], set[Any]],
    model_names: Collection[str],
) -> tuple[str, ...]:
    """Where ``error`` is, as the sender wrote the value: its fields and indexes only. A part is a
    union member's tag when it reads as one and every part beside it (the union's other members)
    does too: a dictionary key the sender wrote ("dense(x)", "bm25[2]") keeps its place."""
    sent = loc[-1:] if error.get("type") == "extra_forbidden" else ()  # the sender's own name, whatever it is
    inner = loc[: len(loc) - len(sent)]

    def is_tag(part: Any) -> bool:
        if not isinstance(part, str):
            return False
        if part in model_names:
            return True
        shape = _TAG.match(part)
        if shape is None:
            return False
        head = shape.group(1)
        return part != head or head in _TAG_HEADS or head.startswith("constrained-")  # "x[...]", or a known name

    kept = [
        part
        for i, part in enumerate(inner)
        if not (is_tag(part) and len(siblings[inner[:i]]) > 1 and all(map(is_tag, siblings[inner[:i]])))
    ]
    return tuple(map(str, kept)) + tuple(map(str, sent))


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
