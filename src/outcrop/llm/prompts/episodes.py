"""Abstractive episode summaries: one session of a conversation in a few sentences."""

from __future__ import annotations

from pydantic import BaseModel, Field

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import ModelText, Prompt

__all__ = ["PROMPT", "EpisodeReply", "messages"]


class EpisodeReply(BaseModel):
    summary: ModelText = Field(min_length=10, max_length=2000)


PROMPT = Prompt("episode", 1, EpisodeReply)

_SYSTEM = "You summarise conversations for a long-term memory. You reply with JSON only."
_TASK = """Summarise this conversation in 2 to 4 sentences: what happened, what each person said about
their life, plans and feelings, with dates. Use names, never pronouns like I or you.
Reply as JSON: {"summary": "..."}"""


def messages(header: str, transcript: list[str]) -> list[Message]:
    body = "\n".join(transcript)
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": f"{header}\n\n{body}\n\n{_TASK}"},
    ]
