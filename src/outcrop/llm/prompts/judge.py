"""Two LLM judges of an answer against the gold answer: lenient and strict (pinned versions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import Prompt

__all__ = ["JUDGES", "LENIENT", "STRICT", "Verdict", "messages"]


class Verdict(BaseModel):
    verdict: Literal["CORRECT", "WRONG"]


LENIENT = Prompt("judge.lenient", 1, Verdict)
STRICT = Prompt("judge.strict", 1, Verdict)
JUDGES = {"lenient": LENIENT, "strict": STRICT}

_SYSTEM = "You grade answers to questions about a conversation. You reply with JSON only."
_RULES = {
    "judge.lenient": "Be generous: the answer is CORRECT if it refers to the same thing, person or time as "
    "the gold answer, even in other words, another date format, or with extra detail.",
    "judge.strict": "Be strict: the answer is CORRECT only if it states all the key information of the gold "
    "answer and nothing that contradicts it; a date must name the same day, month or year as the gold answer.",
}


def messages(prompt: Prompt[Verdict], question: str, gold: str, answer: str) -> list[Message]:
    content = (
        f"Question: {question}\nGold answer: {gold}\nGenerated answer: {answer or '(no answer)'}\n\n"
        f"{_RULES[prompt.name]}\n"
        'Reply as JSON: {"verdict": "CORRECT"} or {"verdict": "WRONG"}'
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": content}]
