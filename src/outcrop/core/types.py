"""Domain records: the log, the items projected from it, and what retrieval returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from outcrop.core.explain import ContextExplain, Explain

__all__ = [
    "Context",
    "Hit",
    "Item",
    "ItemVersion",
    "Level",
    "LogRecord",
    "Message",
    "Messages",
    "Scope",
    "Timestamp",
    "Vectors",
    "trusted",
]

Vectors = npt.NDArray[np.float32]  # rows of unit-length embeddings, one per text

Timestamp = str | datetime | int | float
"""A time as inputs give it: ISO-8601 (with or without an offset), a LoCoMo or LongMemEval date
string, a :class:`~datetime.datetime`, or epoch seconds (:func:`outcrop.core.time.parse_time`)."""

Message = Mapping[str, Any]
"""One chat message: ``content`` (or ``text``), and optionally ``role`` (default ``"user"``),
``name`` (or ``speaker``), ``timestamp`` (a :data:`Timestamp`) and ``metadata`` (an object)."""

Messages = str | Message | Sequence[str | Message]
"""What ``Memory.add`` takes: one text, one message, or a list of them."""

_Model = TypeVar("_Model", bound=BaseModel)
_set = object.__setattr__


def trusted(cls: type[_Model], values: dict[str, Any]) -> _Model:
    """``cls(**values)`` without validation, for values the store or the pipeline made: what
    ``cls.model_construct(**values)`` builds (``values`` names every field, in declaration order,
    and all are marked set) without its per-field alias and default lookups, which cost a search
    more than the rest of building its hundred-odd candidates. For models without validators
    after construction, private attributes or extra fields (``tests/core/test_types.py``)."""
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


DEFAULT_TENANT = "default"
DEFAULT_USER = "default"


class Level(StrEnum):
    """Resolution of a memory item, finest first (DESIGN.md §2)."""

    TURN = "turn"  # L0: a verbatim record from the log
    FACT = "fact"  # L1: one atomic statement
    EPISODE = "episode"  # L2: a session or stretch of time
    TOPIC = "topic"  # L3: a cluster across time
    PROFILE = "profile"  # L4: stable traits per participant

    @property
    def prefix(self) -> str:
        return {"turn": "t", "fact": "f", "episode": "e", "topic": "c", "profile": "p"}[self.value]


class Scope(BaseModel):
    """Who a record belongs to: tenant → user → agent → session.

    For writes ``user_id`` is always set (``agent_id``/``session_id`` may be None, meaning "none").
    For reads ``None`` in ``user_id``, ``agent_id`` or ``session_id`` means "any"; the tenant
    always matches.
    """

    model_config = ConfigDict(frozen=True)

    tenant: str = DEFAULT_TENANT
    user_id: str | None = DEFAULT_USER
    agent_id: str | None = None
    session_id: str | None = None

    @property
    def owner(self) -> Scope:
        """The scope without its session: who owns the facts, topics and profile above sessions."""
        return Scope(tenant=self.tenant, user_id=self.user_id, agent_id=self.agent_id)


class LogRecord(BaseModel):
    """One immutable entry of the log: what the caller gave us, exactly once."""

    model_config = ConfigDict(frozen=True)

    id: str
    scope: Scope
    kind: str  # "message", "text", "update", "delete"
    payload: dict[str, Any]
    content_hash: str
    recorded_at: datetime


class Item(BaseModel):
    """A projection of the log at one resolution, with its provenance."""

    id: str
    level: Level
    scope: Scope
    text: str
    role: str | None = None
    speaker: str | None = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)  # derived_from: log ids or item ids
    producer: str = ""
    version: int = 1
    recorded_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def session_id(self) -> str | None:
        return self.scope.session_id


class ItemVersion(BaseModel):
    """One entry of an item's history."""

    item_id: str
    version: int
    event: str  # "add", "update", "delete"
    text: str | None
    log_id: str
    at: datetime


class Hit(BaseModel):
    """One retrieved memory item, with the explain trace of how it was found."""

    id: str
    text: str
    score: float
    level: Level
    role: str | None = None
    speaker: str | None = None
    timestamp: datetime | None = None
    session_id: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    explain: Explain = Field(default_factory=lambda: Explain())

    @classmethod
    def from_item(cls, item: Item, score: float, explain: Explain) -> Hit:
        """A hit for ``item`` (already validated; constructed without validating again)."""
        scope = item.scope
        return trusted(
            cls,
            {
                "id": item.id,
                "text": item.text,
                "score": score,
                "level": item.level,
                "role": item.role,
                "speaker": item.speaker,
                "timestamp": item.timestamp,
                "session_id": scope.session_id,
                "user_id": scope.user_id,
                "agent_id": scope.agent_id,
                "metadata": item.metadata,
                "sources": item.sources,
                "explain": explain,
            },
        )

    def rescored(self, score: float, explain: Explain) -> Hit:
        """This hit with another score and explain trace: ``model_copy(update=...)`` for the two
        fields the pipeline's later stages change, without its generic copy."""
        values = self.__dict__.copy()
        values["score"] = score
        values["explain"] = explain
        hit = trusted(Hit, values)
        _set(hit, "__pydantic_fields_set__", self.__pydantic_fields_set__ | {"score", "explain"})
        return hit


class Context(BaseModel):
    """A packed, cited block of memory ready to put in a prompt."""

    text: str
    items: list[Hit]
    tokens: int
    max_tokens: int
    query: str
    confidence: float = 0.0  # the gate's estimate that the context holds the answer, in [0, 1]
    answerable: bool = False  # confidence cleared the answerability threshold
    complete: bool = False  # the whole scope fitted the budget and is all here
    explain: ContextExplain = Field(default_factory=lambda: ContextExplain())

    def item_for(self, ref: str | int) -> Hit | None:
        """The item a line cites as ``[ref]`` (the n-th of ``items``); also takes an item id."""
        key = str(ref).strip().strip("[]").strip()
        if key.isascii() and key.isdigit():
            n = int(key[:9])  # no context has a billion lines; "²" or 5000 digits are no reference
            return self.items[n - 1] if len(key) <= 9 and 1 <= n <= len(self.items) else None
        return next((hit for hit in self.items if hit.id == key), None)
