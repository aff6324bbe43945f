"""Listwise reranking: which of the numbered candidates help answer the question, best first."""

from __future__ import annotations

from pydantic import BaseModel, Field

from outcrop.llm.base import Message
from outcrop.llm.prompts.base import Prompt

__all__ = ["PROMPT", "RankingReply", "messages"]


class RankingReply(BaseModel):
    ranking: list[int] = Field(max_length=100)


# v2: the reply's form names no candidate. v1 showed {"ranking": [2, 5, 1]}, and the bundled 0.5B model
# answered every question with exactly those numbers, moving candidates 2, 5 and 1 to the front.
PROMPT = Prompt("rerank", 2, RankingReply)

_SYSTEM = "You rank memories by how well they help answer a question. You reply with JSON only."


def messages(question: str, candidates: list[str]) -> list[Message]:
    listed = "\n".join(f"[{n}] {text}" for n, text in enumerate(candidates, start=1))
    content = (
        f"Question: {question}\n\nCandidates:\n{listed}\n\n"
        "Which candidates help answer the question? List their numbers (in brackets above), most useful "
        "first, leaving out those that do not help.\n"
        'Reply as JSON: {"ranking": [...]}'
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": content}]
