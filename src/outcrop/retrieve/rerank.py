"""Reranking behind the :class:`~outcrop.providers.base.Reranker` protocol.

:class:`LLMReranker` is listwise: the model sees the top ``top`` hits numbered and returns the
numbers of the useful ones, best first; those move to the front in that order, the rest keep
their fused order behind them. :class:`RerankingRetriever` applies a reranker after the fused
search, so ``search``, ``context`` and ``answer`` all see the reranked list.
"""

from __future__ import annotations

from collections.abc import Sequence

from outcrop.config import RetrievalConfig
from outcrop.core.types import Hit
from outcrop.errors import ConfigError, LLMError
from outcrop.llm.base import LLM
from outcrop.llm.prompts import rerank as prompt
from outcrop.llm.structured import generate
from outcrop.providers.base import Embedder, Reranker
from outcrop.retrieve.pipeline import Retriever
from outcrop.stores.base import Store

__all__ = ["LLMReranker", "RerankingRetriever", "make_retriever"]

_CHARS = 300


class LLMReranker:
    version = 1

    def __init__(self, llm: LLM, *, top: int = 20, max_tokens: int = 120) -> None:
        self.llm = llm
        self.top = top
        self.max_tokens = max_tokens
        self.id = f"rerank.llm@{self.version}:{llm.model}:{prompt.PROMPT.id}"
        self.failures = 0

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]:
        head, tail = list(hits[: self.top]), list(hits[self.top :])
        if len(head) < 2:
            return list(hits)
        texts = [_line(h) for h in head]
        try:
            reply = generate(self.llm, prompt.PROMPT, prompt.messages(query, texts), max_tokens=self.max_tokens).value
        except LLMError as exc:  # the fused order stands, and each hit it leaves unranked says why:
            self.failures += 1  # the error's kind only (its text may name the endpoint, its credentials)
            for hit in head:
                hit.explain["rerank"] = {"by": self.id, "failed": type(exc).__name__}
            return list(hits)
        order = list(dict.fromkeys(n - 1 for n in reply.ranking if 1 <= n <= len(head)))
        chosen = set(order)
        ranked = [head[i] for i in order] + [h for i, h in enumerate(head) if i not in chosen]
        for new, hit in enumerate(ranked, start=1):
            was = head.index(hit) + 1
            hit.explain["rerank"] = {"by": self.id, "rank": new, "was": was, "picked": (was - 1) in chosen}
        return ranked + tail


def _line(hit: Hit) -> str:
    when = hit.timestamp.strftime("%Y-%m-%d") if hit.timestamp else ""
    who = f"{hit.speaker}: " if hit.speaker else ""
    text = " ".join(hit.text.split())
    return f"{when} {who}{text[:_CHARS]}".strip()


class RerankingRetriever(Retriever):
    """A :class:`Retriever` whose hits pass through ``reranker`` after fusion and the gate."""

    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig, reranker: Reranker) -> None:
        super().__init__(store, embedder, config)
        self.reranker = reranker

    def _reorder(self, query: str, hits: list[Hit]) -> list[Hit]:
        return self.reranker.rerank(query, hits)


def make_retriever(store: Store, embedder: Embedder, config: RetrievalConfig, llm: LLM | None) -> Retriever:
    """The configured retriever: plain, or reranked by the LLM when ``config.rerank == "llm"``."""
    if config.rerank == "none":
        return Retriever(store, embedder, config)
    if llm is None:
        raise ConfigError("retrieval.rerank is 'llm' but no LLM is configured (llm.base_url and llm.model)")
    return RerankingRetriever(store, embedder, config, LLMReranker(llm, top=config.rerank_top))
