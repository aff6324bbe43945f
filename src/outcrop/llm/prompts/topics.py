"""Topic labels: a short name and a one-sentence summary for a cluster of facts across sessions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import ModelText, Prompt

__all__ = ["PROMPT", "TopicReply", "messages"]


class TopicReply(BaseModel):
    label: ModelText = Field(min_length=2, max_length=80)
    summary: ModelText = Field(min_length=10, max_length=600)


PROMPT = Prompt("topic", 1, TopicReply)

_SYSTEM = """You name topics in a long-term memory. You reply with JSON only.
You get facts that were grouped because they are about one subject. Give the subject a short
label (2 to 5 words, e.g. "Caroline's adoption plans") and a one-sentence summary that says who
did what and when, using names and dates from the facts only.
Example reply: {"label": "Melanie's pottery", "summary": "Melanie took up pottery in May 2023 and made a bowl in July."}"""


def messages(facts: list[str]) -> list[Message]:
    body = "\n".join(f"- {line}" for line in facts)
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": f"Facts:\n{body}"}]
