"""Request and response bodies of the ``/v1`` API. Items, hits and contexts are the library's own
models (:mod:`memstrata.core.types`), so the REST shape and the Python shape are the same."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from memstrata.core.clock import parse_time
from memstrata.core.types import Hit, Item, ItemVersion, Level
from memstrata.errors import MemstrataError

__all__ = [
    "AddRequest",
    "AddResponse",
    "ConsolidateRequest",
    "ConsolidateResponse",
    "ContextRequest",
    "Filters",
    "ForgetRequest",
    "HitList",
    "ItemList",
    "Message",
    "ScopeFields",
    "SearchRequest",
    "StatsResponse",
    "UpdateRequest",
    "VersionList",
]


def _no_surrogates(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _valid_time(value: str | float | None) -> str | float | None:
    try:
        parse_time(value)
    except MemstrataError as exc:
        raise ValueError(str(exc)) from None
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"timestamp {value!r} is out of range") from None
    return value


Text = Annotated[str, Field(min_length=1), AfterValidator(_no_surrogates)]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(_no_surrogates)]
Timestamp = Annotated[
    str | float | None,
    Field(description="ISO-8601, a plain date, or epoch seconds"),
    AfterValidator(_valid_time),
]
Metadata = dict[Annotated[str, AfterValidator(_no_surrogates)], Any]


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


class AddResponse(BaseModel):
    ids: list[str] = Field(description="one turn id per message (the existing id for a message already stored)")


class Filters(_Body):
    since: Timestamp = None
    until: Timestamp = None
    speaker: Id | list[Id] | None = None
    session_id: Id | None = None
    metadata: Metadata | None = None
    level: Level | list[Level] | None = None


Weight = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)]


class SearchRequest(ScopeFields):
    query: Text
    limit: int = Field(10, ge=1, le=1000)
    filters: Filters | None = None
    channels: dict[Annotated[str, Field(max_length=50)], Weight] | None = Field(
        None, description='fusion weights per channel, e.g. {"bm25": 1.0} for lexical only'
    )


class ContextRequest(ScopeFields):
    query: Text
    max_tokens: int = Field(1000, ge=16, le=100_000)
    filters: Filters | None = None


class UpdateRequest(_Body):
    text: Text


class ForgetRequest(ScopeFields):
    ids: Annotated[list[Id], Field(min_length=1, max_length=1000)] | None = Field(
        None, description="turn or fact ids; or leave out and give a scope (user_id, agent_id, session_id)"
    )
    scrub: bool = Field(True, description="also rewrite the store's files so no freed page keeps the text")


class ConsolidateRequest(_Body):
    user_id: Id | None = None
    agent_id: Id | None = None


class ConsolidateResponse(BaseModel):
    written: dict[str, int]
    removed: dict[str, int]


class ItemList(BaseModel):
    items: list[Item]
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class HitList(BaseModel):
    hits: list[Hit]


class VersionList(BaseModel):
    versions: list[ItemVersion]


class StatsResponse(BaseModel):
    tenant: str
    embedder: str
    counts: dict[str, int]


def filters_dict(filters: Filters | None) -> dict[str, Any] | None:
    return None if filters is None else filters.model_dump(mode="json", exclude_none=True)
