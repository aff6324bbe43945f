"""Typed replies: ask with a prompt's schema, read tolerantly, validate, repair once, or fail clearly.

A reply that is empty, not JSON, fails the schema, or echoes the schema back instead of filling
it gets one repair round (the model sees its reply and the exact problem). If the repaired reply
is still unusable, :class:`~outcrop.errors.LLMOutputError` says why, and the ledger records the
rejection: nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from outcrop.core.validation import describe_errors
from outcrop.errors import LLMOutputError
from outcrop.llm.base import LLM, Completion, Message
from outcrop.llm.jsonparse import parse_json_reply
from outcrop.llm.ledger import LedgerEntry
from outcrop.llm.prompts.base import Prompt

__all__ = ["Generated", "ReplyProblem", "generate", "read_reply"]

T = TypeVar("T", bound=BaseModel)


class ReplyProblem(ValueError):
    """What is wrong with one reply (fed back to the model in the repair round)."""


@dataclass(frozen=True)
class Generated(Generic[T]):
    value: T
    completions: tuple[Completion, ...]
    repaired: bool

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.completions)


def read_reply(prompt: Prompt[T], text: str) -> T:
    """Parse and validate one reply; raises :class:`ReplyProblem` with a short, precise reason."""
    try:
        data = parse_json_reply(text)
    except ValueError as exc:
        raise ReplyProblem(str(exc)) from None
    if _echoes_schema(data, prompt):
        raise ReplyProblem("the reply repeats the JSON schema instead of an object that follows it")
    if not isinstance(data, dict):
        raise ReplyProblem(f"expected a JSON object, got {type(data).__name__}")
    try:
        return prompt.response.model_validate(data)
    except ValidationError as exc:
        problems = describe_errors(exc.errors(), root="(root)")
        raise ReplyProblem(f"the reply does not follow the schema: {problems}") from None


def generate(
    llm: LLM,
    prompt: Prompt[T],
    messages: Sequence[Message],
    *,
    max_tokens: int | None = None,
    item: str | None = None,
) -> Generated[T]:
    """One structured call with at most one repair round."""
    schema = prompt.schema()
    first = llm.chat(messages, schema=schema, max_tokens=max_tokens, purpose=prompt.id, item=item)
    try:
        return Generated(read_reply(prompt, first.text), (first,), repaired=False)
    except ReplyProblem as problem:
        repair: list[Message] = [
            *messages,
            {"role": "assistant", "content": first.text[:2000]},
            {
                "role": "user",
                "content": f"That reply cannot be used: {problem}. Reply again with only one JSON object "
                f"that follows this schema (values, not the schema itself): {prompt.schema_text()}",
            },
        ]
    second = llm.chat(repair, schema=schema, max_tokens=max_tokens, purpose=f"{prompt.id}.repair", item=item)
    try:
        return Generated(read_reply(prompt, second.text), (first, second), repaired=True)
    except ReplyProblem as again:
        message = f"{prompt.id}: model {llm.model!r} gave an unusable reply, also after one repair round: {again}"
        llm.ledger.record(
            LedgerEntry(purpose=prompt.id, model=llm.model, ok=False, error=message, item=item, call=False)
        )
        raise LLMOutputError(message, raw=second.text[:1000]) from None


def _echoes_schema(data: Any, prompt: Prompt[Any]) -> bool:
    if not isinstance(data, dict):
        return False
    fields = set(prompt.response.model_fields)
    schema_keys = {"properties", "$defs", "required", "$schema"}
    return bool(schema_keys & set(data)) and not (schema_keys & fields) and not (fields & set(data) - schema_keys)
