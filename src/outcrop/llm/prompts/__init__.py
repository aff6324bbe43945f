"""Versioned prompts, one module each, with a pydantic response schema (see :mod:`.base`)."""

from outcrop.llm.prompts import answer, episodes, facts, judge, profile, rerank, slots, topics
from outcrop.llm.prompts.base import Prompt

__all__ = ["PROMPTS", "Prompt", "answer", "episodes", "facts", "judge", "profile", "rerank", "slots", "topics"]

PROMPTS: dict[str, Prompt] = {  # type: ignore[type-arg]
    p.id: p
    for p in (
        facts.PROMPT,
        episodes.PROMPT,
        topics.PROMPT,
        profile.PROMPT,
        slots.PROMPT,
        answer.PROMPT,
        judge.LENIENT,
        judge.STRICT,
        rerank.PROMPT,
    )
}
