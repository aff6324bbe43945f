"""mem0's filter language as the shim reads it: scope ids out, plain equalities to the store, the
operators checked on each memory."""

from __future__ import annotations

from typing import Any

import pytest

from outcrop.compat.mem0.filters import parse
from outcrop.errors import InvalidInputError

MEMORY = {"category": "movies", "rating": 4, "memory": "I love Sci-Fi", "role": "user"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"category": "movies"}, True),
        ({"category": {"eq": "books"}}, False),
        ({"category": {"ne": "books"}}, True),
        ({"category": {"in": ["books", "movies"]}}, True),
        ({"category": {"nin": ["books", "movies"]}}, False),
        ({"rating": {"gt": 3, "lte": 4}}, True),
        ({"rating": {"lt": 4}}, False),
        ({"rating": {"gte": "x"}}, False),  # another type matches nothing, as a comparison in a store
        ({"memory": {"contains": "Sci"}}, True),
        ({"memory": {"icontains": "sci-fi"}}, True),
        ({"missing": "*"}, False),
        ({"category": "*"}, True),
        ({"AND": [{"category": "movies"}, {"rating": {"gte": 5}}]}, False),
        ({"OR": [{"category": "books"}, {"rating": {"gte": 4}}]}, True),
        ({"NOT": [{"category": "books"}]}, True),
        ({"role": "assistant"}, False),
    ],
)
def test_conditions_select_as_mem0_documents_them(condition: dict[str, Any], expected: bool) -> None:
    parsed = parse({"user_id": "alice", **condition})
    matches = parsed.accepts(MEMORY) and all(MEMORY.get(k) == v for k, v in parsed.equal.items())
    assert matches is expected


def test_ids_come_from_filters_or_the_top_level_and_equalities_go_to_the_store() -> None:
    parsed = parse({"user_id": " alice ", "category": "movies", "rating": {"gt": 1}}, agent_id=7)
    assert parsed.ids == {"user_id": "alice", "agent_id": "7"}  # trimmed; a numeric id is its string
    assert parsed.equal == {"category": "movies"}
    assert len(parsed.conditions) == 1
    assert parse({"user_id": "a", "role": "user"}).equal == {}  # a memory's own field: checked here


@pytest.mark.parametrize(
    "bad",
    [
        {"user_id": "a b"},
        {"user_id": "  "},
        {"category": {"regex": "x"}},
        {"OR": []},
        {"NOT": "x"},
    ],
)
def test_malformed_filters_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        parse(bad)


def test_an_id_given_twice_must_agree() -> None:
    with pytest.raises(InvalidInputError, match="given twice"):
        parse({"user_id": "alice"}, user_id="bob")
    assert parse({"user_id": "alice"}, user_id="alice").ids == {"user_id": "alice"}


def test_in_and_nin_take_a_list_whatever_the_scope_holds() -> None:
    """Checked on candidates only, a bad value passed wherever the scope held no memory."""
    for op in ("in", "nin"):
        with pytest.raises(InvalidInputError, match="takes a list"):
            parse({"user_id": "a", "category": {op: "movies"}})
