"""JSON from outside read as data, with one error of our own (core/jsontext.py)."""

from __future__ import annotations

import pytest

from outcrop.core.jsontext import parse_json
from outcrop.errors import InvalidInputError


def test_an_object_naming_a_key_twice_is_refused_at_any_depth() -> None:
    with pytest.raises(InvalidInputError, match="'user_id' appears twice"):
        parse_json('{"user_id": "a", "user_id": "b"}', "the file")
    with pytest.raises(InvalidInputError, match="'k' appears twice"):
        parse_json('[{"m": {"k": 1, "k": 1}}]', "the file")
    assert parse_json('{"a": {"k": 1}, "b": {"k": 2}}', "the file") == {"a": {"k": 1}, "b": {"k": 2}}


def test_what_is_not_json_says_where() -> None:
    with pytest.raises(InvalidInputError, match="line 1 column 2"):
        parse_json("{oops", "the option")
    with pytest.raises(InvalidInputError, match="nested too deep"):
        parse_json("[" * 100_000, "the option")
