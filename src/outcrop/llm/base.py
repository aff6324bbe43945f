"""The ``LLM`` protocol: one chat-completions call, with optional JSON-schema structured output.

Every implementation records each call in its :class:`~outcrop.llm.ledger.Ledger` (tokens,
cost, latency, errors), so ``Memory.stats()`` and eval reports can say what the LLM path cost.
Parsing, validation and the one repair round live in :mod:`outcrop.llm.structured`, on top of
this protocol, so every implementation gets them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from outcrop.llm.ledger import Ledger

__all__ = ["LLM", "Completion", "Message"]


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    """One reply: its text, the model that wrote it, and what it cost."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    structured: str  # how JSON was requested: "json_schema", "json_object", "none" (prompt only)
    finish_reason: str | None = None


@runtime_checkable
class LLM(Protocol):
    """A chat model behind an OpenAI-compatible endpoint (or anything that acts like one).

    Contract: ``chat`` returns the assistant's text for ``messages``; with ``schema`` (a JSON
    schema of an object) it asks the server to constrain the reply to it where the server can,
    and otherwise relies on the prompt. It raises :class:`~outcrop.errors.LLMError` subclasses
    only, after retrying 429, 5xx, timeouts and connection errors. ``model`` is the model id
    recorded in provenance (``producer``).
    """

    model: str
    ledger: Ledger

    def chat(
        self,
        messages: Sequence[Message],
        *,
        schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
        purpose: str = "chat",
        item: str | None = None,
    ) -> Completion: ...
