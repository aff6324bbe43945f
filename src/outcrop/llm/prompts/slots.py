"""Contradiction judgement: does a newer fact retire an older value of the same (subject, attribute)?"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import Prompt

__all__ = ["PROMPT", "JudgementReply", "messages"]

Verdict = Literal["replaces", "same", "both_true"]


class JudgementReply(BaseModel):
    verdict: Verdict
    reason: str = Field("", max_length=300)


PROMPT = Prompt("slot.judge", 1, JudgementReply)

_SYSTEM = """You keep a long-term memory consistent. You reply with JSON only.
You get an older and a newer fact about the same attribute of a person. Reply with one verdict:
"replaces" when the newer fact makes the older one no longer true (she moved, he quit, they broke up),
"same" when both state the same thing in other words, "both_true" when both can hold at once.
Example reply: {"verdict": "replaces", "reason": "Caroline moved from Boston to Paris."}"""


def messages(attribute: str, older: str, newer: str) -> list[Message]:
    user = f"Attribute: {attribute}\nOlder fact: {older}\nNewer fact: {newer}"
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]
