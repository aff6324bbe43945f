"""Fact extraction from one chat message: atomic, self-contained facts with resolved dates,
entities and an optional (subject, attribute, value) slot."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from memstrata.llm.base import Message
from memstrata.llm.prompts.base import Prompt

__all__ = ["PROMPT", "ExtractedFact", "FactsReply", "messages"]


class ExtractedFact(BaseModel):
    text: str = Field(min_length=3, max_length=400)
    date: str | None = Field(None, description="YYYY-MM-DD when it happened, if the message says")
    entities: list[str] = Field(default_factory=list, max_length=10)
    subject: str | None = None
    attribute: str | None = None
    value: str | None = None


class FactsReply(BaseModel):
    facts: list[ExtractedFact] = Field(max_length=8)


PROMPT = Prompt("facts", 2, FactsReply)

_SYSTEM = "You extract facts from chat messages for a long-term memory. You reply with JSON only."
_TASK = """Write every fact this message states about a person as one short standalone sentence.
- Use names, never I, you, he, she, we ({speaker} wrote the message).
- Replace relative dates (yesterday, last week, next month) with the date, e.g. "on 7 May 2023".
- Skip greetings, questions and small talk. If there is no fact, reply {{"facts": []}}.
- State each fact once; at most 5 facts.
For each fact give: text; date (YYYY-MM-DD when it happened, else null); entities (people, places,
things named); and, when it states a lasting trait of a person, subject, attribute (lives_in, job,
likes, has_pet, relationship, ...) and value, else null.
Reply as JSON: {{"facts": [{{"text": "...", "date": null, "entities": [], "subject": null, "attribute": null, "value": null}}]}}"""


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
    lines.append("")
    lines.append(_TASK.format(speaker=who))
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n".join(lines)}]
