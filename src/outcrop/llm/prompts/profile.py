"""Profile reflection: does a profile line follow from the facts it cites?"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import Prompt

__all__ = ["PROMPT", "ReflectionReply", "messages"]


class ReflectionReply(BaseModel):
    verdict: Literal["supported", "unsupported"]
    reason: str = Field("", max_length=300)


PROMPT = Prompt("profile.reflect", 1, ReflectionReply)

_SYSTEM = """You check a person's profile in a long-term memory. You reply with JSON only.
You get one profile line and the facts it was built from. Reply "supported" when the facts say
what the line says about the person, "unsupported" when the line misreads them (wrong person,
a question or a wish taken as a fact, a value the facts do not give). Give a short reason.
Example reply: {"verdict": "unsupported", "reason": "Melanie asked whether Caroline likes hiking."}"""


def messages(line: str, facts: list[str]) -> list[Message]:
    body = "\n".join(f"- {fact}" for fact in facts)
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": f"Profile line: {line}\nFacts:\n{body}"},
    ]
