"""``Memory.answer``: retrieve, pack a cited context, and let the LLM answer from it or abstain.

The answer cites the ids of the context items that support it; ids the model cites that are not
in the context are dropped (and counted in ``explain``), so every citation points at a memory
the model was shown. The model abstains when the memories do not say; an empty context abstains
without a call. Provenance: ``model`` and ``prompt`` name exactly what wrote the answer.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from outcrop.core.types import Context
from outcrop.llm.base import LLM
from outcrop.llm.prompts import answer as prompt
from outcrop.llm.structured import generate

if TYPE_CHECKING:  # pragma: no cover
    from outcrop.api.memory import Memory

__all__ = ["Answer", "answer_question"]


class Answer(BaseModel):
    """An answer with the memories it cites, or an abstention."""

    question: str
    text: str  # "" when abstained
    citations: list[str] = Field(default_factory=list)  # ids of context items
    abstained: bool = False
    model: str = ""
    prompt: str = prompt.PROMPT.id
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    context: Context
    explain: dict[str, Any] = Field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def answer_question(
    memory: Memory,
    llm: LLM,
    question: str,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    max_tokens: int = 1000,
    answer_tokens: int = 200,
) -> Answer:
    """Answer ``question`` from ``memory`` with ``llm``; raises :class:`~outcrop.errors.LLMError`
    when the call fails or the reply stays unusable after its repair round."""
    started = time.perf_counter()
    context = memory.context(question, user_id=user_id, agent_id=agent_id, session_id=session_id, max_tokens=max_tokens)
    if not context.items:
        return Answer(
            question=question,
            text="",
            abstained=True,
            model=llm.model,
            context=context,
            latency_ms=(time.perf_counter() - started) * 1000,
            explain={"reason": "no memories in scope"},
        )
    generated = generate(
        llm, prompt.PROMPT, prompt.messages(question, context.text), max_tokens=answer_tokens, item=question[:80]
    )
    reply = generated.value
    cited, unknown = _resolve(reply.citations, context)
    text = " ".join(reply.answer.split())
    abstained = reply.abstain or not text
    return Answer(
        question=question,
        text="" if abstained else text,
        citations=[] if abstained else cited,
        abstained=abstained,
        model=generated.completions[-1].model or llm.model,
        prompt_tokens=sum(c.prompt_tokens for c in generated.completions),
        completion_tokens=sum(c.completion_tokens for c in generated.completions),
        latency_ms=(time.perf_counter() - started) * 1000,
        context=context,
        explain={"repaired": generated.repaired, "unknown_citations": unknown, "context_items": len(context.items)},
    )


_CITATION_PARTS = re.compile(r"[\s,;()\[\]#]+")  # "[1], [2]", "(3)", "#4": one reference each


def _resolve(cited: list[str], context: Context) -> tuple[list[str], list[str]]:
    """The ids of the cited context items: a line's reference ("3", "[3]"), or an item id (a unique
    prefix of at least 6 characters accepted)."""
    found: list[str] = []
    unknown: list[str] = []
    keys = [(raw, key) for raw in cited for key in _CITATION_PARTS.split(str(raw)) if key]
    for raw, key in keys:
        hit = context.item_for(key)
        match = hit.id if hit is not None else None
        if match is None and len(key) >= 6:
            candidates = [h.id for h in context.items if h.id.startswith(key)]
            match = candidates[0] if len(candidates) == 1 else None
        if match is None:
            if raw not in unknown:
                unknown.append(raw)
        elif match not in found:
            found.append(match)
    return found, unknown
