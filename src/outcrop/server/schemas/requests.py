"""Request bodies of the ``/v1`` API (the server's own: nothing here is a library model)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from outcrop.core.time.clock import parse_time
from outcrop.core.values import validate_metadata
from outcrop.errors import InvalidInputError, OutcropError
from outcrop.server.asof import AS_OF_DESCRIPTION, AS_OF_PATTERN
from outcrop.server.schemas.common import Level

__all__ = [
    "AddRequest",
    "ConsolidateRequest",
    "ContextRequest",
    "Filters",
    "ForgetRequest",
    "Message",
    "ScopeFields",
    "SearchRequest",
    "UpdateRequest",
    "filters_dict",
]


def _no_surrogates(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):  # JSON true is not the epoch second 1
        raise ValueError("a timestamp must be a date string or a number, not true or false")
    return value


def _valid_time(value: str | float | None) -> str | float | None:
    try:
        parse_time(value)
    except OutcropError as exc:
        raise ValueError(str(exc)) from None
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"timestamp {value!r} is out of range") from None
    return value


Text = Annotated[str, Field(min_length=1), AfterValidator(_no_surrogates)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(_no_surrogates)]
Timestamp = Annotated[
    str | float | None,
    Field(description="ISO-8601, a plain date, or epoch seconds"),
    BeforeValidator(_not_a_bool),
    AfterValidator(_valid_time),
]


def _plain_json(value: dict[str, Any]) -> dict[str, Any]:
    try:
        return validate_metadata(value)
    except InvalidInputError as exc:  # a 422 naming the field, like every other bad field
        raise ValueError(str(exc)) from None


Metadata = Annotated[dict[Annotated[str, AfterValidator(_no_surrogates)], Any], AfterValidator(_plain_json)]
Count = Annotated[int, Field(strict=True)]  # JSON true or "10" is not a count
# Checked by the route (server/asof.py) so a bad value is a 400; the pattern documents the shape.
AsOf = Annotated[str, Field(description=AS_OF_DESCRIPTION, json_schema_extra={"pattern": AS_OF_PATTERN})]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopeFields(_Body):
    user_id: Id | None = Field(None, description="user scope (default 'default')")
    agent_id: Id | None = None
    session_id: Id | None = None


class Message(_Body):
    content: Text
    role: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_no_surrogates)] = "user"
    name: Id | None = Field(None, description="who said it")
    timestamp: Timestamp = None
    metadata: Metadata | None = None


class AddRequest(ScopeFields):
    messages: Text | Message | Annotated[list[Text | Message], Field(min_length=1, max_length=1000)]
    timestamp: Timestamp = None
    metadata: Metadata | None = None


class Filters(_Body):
    since: Timestamp = None
    until: Timestamp = None
    speaker: Id | list[Id] | None = None
    session_id: Id | None = None
    metadata: Metadata | None = None
    level: Level | list[Level] | None = None


Weight = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False, strict=True)]


class SearchRequest(ScopeFields):
    query: Text
    limit: Count = Field(10, ge=1, le=1000)
    filters: Filters | None = None
    channels: dict[Annotated[str, Field(max_length=50)], Weight] | None = Field(
        None, description='fusion weights per channel, e.g. {"bm25": 1.0} for lexical only'
    )
    as_of: AsOf | None = None


class ContextRequest(ScopeFields):
    query: Text
    max_tokens: Count = Field(1000, ge=16, le=100_000)
    filters: Filters | None = None
    as_of: AsOf | None = None


class UpdateRequest(_Body):
    text: Text


class ForgetRequest(ScopeFields):
    ids: Annotated[list[Id], Field(min_length=1, max_length=1000)] | None = Field(
        None, description="turn or fact ids; or leave out and give a scope (user_id, agent_id, session_id)"
    )
    scrub: bool = Field(True, description="scrub the store's files now (false: at the tenant's next forget or open)")


class ConsolidateRequest(_Body):
    user_id: Id | None = None
    agent_id: Id | None = None


def filters_dict(filters: Filters | None) -> dict[str, Any] | None:
    """The filters as the library takes them: plain JSON values (levels as their names)."""
    return None if filters is None else filters.model_dump(mode="json", exclude_none=True)
