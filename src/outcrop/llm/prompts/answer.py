"""Answer a question from a packed memory context, citing its lines' [n] references, or abstain."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import ModelText, Prompt

__all__ = ["PROMPT", "AnswerReply", "messages"]


class AnswerReply(BaseModel):
    answer: ModelText = Field("", max_length=1000)
    citations: list[str] = Field(default_factory=list, max_length=10)
    abstain: bool = False

    @field_validator("citations", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: object) -> object:
        """A model often cites [3] as the number 3 (or 3.0), or gives one citation bare."""
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, list):
            return [
                str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) if type(v) is int else v
                for v in value
            ]
        return value

    @model_validator(mode="after")
    def _answer_or_abstain(self) -> AnswerReply:
        if not self.abstain and not self.answer.strip():
            raise ValueError('the answer is empty but abstain is false (give an answer, or set "abstain": true)')
        return self


PROMPT = Prompt("answer", 2, AnswerReply)  # 2: memories are cited by their [n], not their id

_SYSTEM = "You answer questions about people using only the memories you are given. You reply with JSON only."
_TASK = """Question: {question}

Answer in a few words (a name, a date, a short phrase) using only the memories above, and cite
the [n] numbers of the memories that support the answer. If the memories do not say, reply
{{"answer": "", "citations": [], "abstain": true}}.
Reply as JSON: {{"answer": "...", "citations": ["n"], "abstain": false}}"""


def messages(question: str, context: str, today: str | None = None) -> list[Message]:
    memories = context or "(no memories)"
    when = f"Today is {today}.\n" if today else ""
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": f"{when}{memories}\n\n{_TASK.format(question=question)}"},
    ]
