"""Listwise reranking: which of the numbered candidates help answer the question, best first."""

from __future__ import annotations

from pydantic import BaseModel, Field

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import Prompt

__all__ = ["PROMPT", "RankingReply", "messages"]


class RankingReply(BaseModel):
    ranking: list[int] = Field(max_length=100)


PROMPT = Prompt("rerank", 1, RankingReply)

_SYSTEM = "You rank memories by how well they help answer a question. You reply with JSON only."


def messages(question: str, candidates: list[str]) -> list[Message]:
    listed = "\n".join(f"[{n}] {text}" for n, text in enumerate(candidates, start=1))
    content = (
        f"Question: {question}\n\nCandidates:\n{listed}\n\n"
        "List the numbers of the candidates that help answer the question, most useful first.\n"
        'Reply as JSON: {"ranking": [2, 5, 1]}'
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": content}]
