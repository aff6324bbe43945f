"""Pydantic's errors as one line in the sender's words (core/validation.py), on real models."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from outcrop.core.validation import describe_errors


def _stripped(text: str) -> str:
    return text.strip()


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(min_length=1), AfterValidator(_stripped)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: Annotated[str, AfterValidator(_stripped)] | list[Part]
    count: int = Field(1, ge=1)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[Message] | Annotated[str, AfterValidator(_stripped)]


def _errors(model: type[BaseModel], value: object) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(value)
    return caught.value.errors()  # type: ignore[return-value]


def test_a_union_member_is_named_by_the_fields_not_its_type() -> None:
    line = describe_errors(_errors(Request, {"messages": [{"content": 5}]}), root="body", model_names={"Message"})
    assert "function-after" not in line and "Message" not in line and "list[" not in line
    assert line.startswith("messages.0.content: Input should be a valid string")


def test_a_deeper_place_stands_for_the_places_above_it() -> None:
    line = describe_errors(_errors(Request, {"messages": [{"content": [{"text": ""}]}]}), root="body")
    assert line == "messages.0.content.0.text: String should have at least 1 character"


def test_an_extra_field_keeps_the_senders_own_name() -> None:
    line = describe_errors(_errors(Message, {"content": "hi", "list[Part]": 1}), root="body")
    assert line == "list[Part]: Extra inputs are not permitted"


def test_the_value_as_a_whole_is_named_by_root_and_every_place_once() -> None:
    assert describe_errors(_errors(Message, []), root="arguments").startswith("arguments: Input should be")
    line = describe_errors(_errors(Message, {"content": 1, "count": 0}), root="body")
    assert line.count("content") == 1 and "count: Input should be greater than or equal to 1" in line


def test_at_most_limit_places_then_how_many_more() -> None:
    errors = _errors(Request, {"messages": [{"content": n} for n in range(8)]})
    line = describe_errors(errors, root="body", limit=3)
    assert line.endswith(" (and 5 more)") and len(line.split("; ")) == 3
    assert describe_errors([], root="body") == "body: invalid"


class Weights(BaseModel):
    weights: dict[str, float] = {}
    when: str | float | None = None
    size: int | list[int] = 0


def test_a_key_the_sender_wrote_keeps_its_place_whatever_its_characters() -> None:
    """A dictionary key such as "dense(x)" looked like a union member's tag and was dropped, with
    the errors of the keys beside it."""
    line = describe_errors(_errors(Weights, {"weights": {"dense(x)": "a", "bm25[2]": "b"}}), root="configuration")
    assert "weights.dense(x): Input should be a valid number" in line
    assert "weights.bm25[2]: Input should be a valid number" in line


def test_a_union_of_plain_types_is_one_place_and_one_message() -> None:
    assert describe_errors(_errors(Weights, {"when": []}), root="body") == (
        "when: Input should be a valid string or number"
    )
    assert describe_errors(_errors(Weights, {"size": "a"}), root="body").startswith("size: ")
