"""mem0's ``filters``: the scope ids it carries, and its metadata conditions.

``{"user_id": ..., "agent_id": ..., "run_id": ...}`` pick the scope (``actor_id`` the speaker);
every other key is a condition on the memory's metadata: a value (equality), ``"*"`` (the key is
present), or an object of operators ``eq, ne, in, nin, gt, gte, lt, lte, contains, icontains``;
``AND``/``OR``/``NOT`` take lists of such filters. Plain equalities are handed to the store's own
metadata filter; the rest is checked here on the candidates the store returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from outcrop.core.types import DEFAULT_USER
from outcrop.core.values import validate_metadata, validate_name
from outcrop.errors import InvalidInputError

__all__ = ["SCOPE_KEYS", "Mem0Filters", "parse", "scope_ids"]

SCOPE_KEYS = ("user_id", "agent_id", "run_id")
_LOGICAL = ("AND", "OR", "NOT")
_OPERATORS = frozenset({"eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains", "icontains"})
_FIELDS = frozenset({"memory", "hash", "role", "created_at", "updated_at", "expiration_date", "attributed_to"})
"""A memory's own fields a filter may name beside its metadata (checked here, not by the store)."""

Condition = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Mem0Filters:
    """A mem0 filter split into what the store narrows and what is checked on each candidate."""

    ids: dict[str, str] = field(default_factory=dict)  # user_id / agent_id / run_id
    actor_id: str | None = None
    equal: dict[str, Any] = field(default_factory=dict)  # metadata key = value, done by the store
    conditions: tuple[Condition, ...] = ()  # the rest, over a memory's fields and metadata

    def accepts(self, fields: dict[str, Any]) -> bool:
        return all(check(fields) for check in self.conditions)


def _compare(op: str, have: Any, want: Any) -> bool:
    try:
        if op == "eq":
            return bool(have == want)
        if op == "ne":
            return bool(have != want)
        if op in ("in", "nin"):  # ``want`` a list: checked when the filter is read (_condition)
            return (have in want) == (op == "in")
        if have is None:
            return False
        if op == "gt":
            return bool(have > want)
        if op == "gte":
            return bool(have >= want)
        if op == "lt":
            return bool(have < want)
        if op == "lte":
            return bool(have <= want)
        if op == "contains":
            return isinstance(have, str) and isinstance(want, str) and want in have
        if op == "icontains":
            return isinstance(have, str) and isinstance(want, str) and want.lower() in have.lower()
    except TypeError:
        return False  # a value of another type (a string against a number) matches nothing
    raise InvalidInputError(f"unsupported metadata filter operator: {op!r}")


def _condition(key: str, value: Any) -> Condition:
    if key in _LOGICAL:
        if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
            raise InvalidInputError(f"{key} takes a non-empty list of filters")
        parts = [_all(sub) for sub in value]
        if key == "AND":
            return lambda f: all(p(f) for p in parts)
        if key == "OR":
            return lambda f: any(p(f) for p in parts)
        return lambda f: not any(p(f) for p in parts)
    if value == "*":
        return lambda f: f.get(key) is not None
    if isinstance(value, Mapping):
        ops = dict(value)
        unknown = sorted(set(ops) - _OPERATORS)
        if unknown:
            raise InvalidInputError(f"unsupported metadata filter operator: {unknown[0]!r}")
        listed = next((op for op in ("in", "nin") if op in ops and not isinstance(ops[op], list | tuple)), None)
        if listed is not None:  # refused whether or not the scope holds a memory to check it on
            raise InvalidInputError(f"filter operator {listed!r} takes a list")
        return lambda f: all(_compare(op, f.get(key), want) for op, want in ops.items())
    return lambda f: bool(f.get(key) == value)


def _all(filters: Mapping[str, Any]) -> Condition:
    parts = [_condition(str(k), v) for k, v in filters.items()]
    return lambda f: all(p(f) for p in parts)


def _id(value: Any, name: str) -> str:
    """mem0's entity id rules: an integer id (a database key) is used as its string; no
    whitespace inside, none only; and outcrop's rules for a name (valid Unicode, at most 200
    characters). Any other type is refused (a list or ``True`` became the user ``"['a']"`` or
    ``"True"``). ``user_id="default"`` is refused: it is outcrop's user for memories added without
    one (an agent's or a run's), so a mem0 user of that name would read and delete them all."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInputError(f"Invalid {name}: must be a string (or an integer), got {type(value).__name__}")
    text = str(value).strip()
    if not text or any(c.isspace() for c in text):
        raise InvalidInputError(f"Invalid {name}: cannot be empty or contain whitespace")
    validate_name(text, name)
    if name == "user_id" and text == DEFAULT_USER:
        raise InvalidInputError(
            f"Invalid user_id: {DEFAULT_USER!r} is reserved (outcrop keeps the memories added without a user under it)"
        )
    return text


def scope_ids(user_id: Any = None, agent_id: Any = None, run_id: Any = None) -> dict[str, str]:
    given = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    return {k: _id(v, k) for k, v in given.items() if v is not None}


def parse(filters: Mapping[str, Any] | None, **top_level: Any) -> Mem0Filters:
    """``filters`` (2.0.x) merged with ids given at top level (1.0.x); a conflict is refused."""
    if filters is not None and not isinstance(filters, Mapping):
        raise InvalidInputError(f"filters must be an object, got {type(filters).__name__}")
    rest = dict(filters or {})
    ids = scope_ids(**{k: rest.pop(k) for k in SCOPE_KEYS if k in rest})
    for key, value in scope_ids(**top_level).items():
        if ids.get(key, value) != value:
            raise InvalidInputError(f"{key} given twice with different values ({ids[key]!r}, {value!r})")
        ids[key] = value
    actor = rest.pop("actor_id", None)
    equal = {
        k: v
        for k, v in rest.items()
        if k not in _LOGICAL and k not in _FIELDS and v != "*" and isinstance(v, str | int | float | bool)
    }
    validate_metadata(equal, "filters")  # handed to the store: keys and values it can hold
    conditions = tuple(_condition(k, v) for k, v in rest.items() if k not in equal)
    actor_id = None if actor is None else _id(actor, "actor_id")
    return Mem0Filters(ids=ids, actor_id=actor_id, equal=equal, conditions=conditions)
