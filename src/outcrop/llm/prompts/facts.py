"""Fact extraction from one chat message: atomic, self-contained facts with resolved dates and an
optional (subject, attribute, value) slot.

Version 3 is shaped for cost on small local models: the fixed instructions are the system message
(one identical prefix for every call, which llama.cpp and vLLM keep cached, so only the message is
evaluated per call), and the reply names only what the model must supply. ``date``, ``entities``
and the slot fields are optional: entities are added by our own recognizer on the fact's text, so
the model spends no output tokens listing them (a list it sends anyway is kept).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import ModelText, Prompt

__all__ = ["PROMPT", "ExtractedFact", "FactsReply", "messages"]


class ExtractedFact(BaseModel):
    text: ModelText = Field(min_length=3, max_length=400)
    date: str | None = Field(None, max_length=40, description="YYYY-MM-DD when it happened, if the message says")
    entities: list[ModelText] = Field(default_factory=list, max_length=10)
    # bounded as the text is: a profile line and a slot are made of them (a 1 MB value was stored)
    subject: ModelText | None = Field(None, max_length=80)
    attribute: ModelText | None = Field(None, max_length=80)
    value: ModelText | None = Field(None, max_length=200)


class FactsReply(BaseModel):
    facts: list[ExtractedFact] = Field(max_length=8)


PROMPT = Prompt("facts", 4, FactsReply)

_SYSTEM = """You extract facts from chat messages for a long-term memory. You reply with JSON only.
Write every fact the message states about a person as one short standalone sentence.
- Use names, never I, you, he, she, we: the message says who wrote it.
- Replace relative dates (yesterday, last week, next month) with the date, e.g. "on 7 May 2023",
  and give that day as "date" (YYYY-MM-DD).
- Skip greetings, questions and small talk. If there is no fact, reply {"facts": []}.
- State each fact once; at most 5 facts.
- Only for a lasting trait of a person add "subject", "attribute" (lives_in, job, likes, has_pet,
  relationship, ...) and "value".
Example reply: {"facts": [{"text": "Caroline went to a support group on 7 May 2023.", "date": "2023-05-07"},
{"text": "Caroline lives in Boston.", "subject": "Caroline", "attribute": "lives_in", "value": "Boston"}]}"""


def messages(
    text: str,
    speaker: str | None,
    when: datetime | None,
    participants: list[str],
    previous: tuple[str | None, str] | None = None,
) -> list[Message]:
    who = speaker or "the user"
    lines = []
    if participants:
        lines.append(f"Conversation between {' and '.join(participants)}.")
    if when:
        lines.append(f"Message date: {when.strftime('%A')}, {when.day} {when.strftime('%B %Y')} ({when.date()}).")
    if previous:
        lines.append(f"Previous message, by {previous[0] or 'the other person'}: {previous[1][:400]}")
    lines.append(f"Message by {who}: {text}")
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n".join(lines)}]
