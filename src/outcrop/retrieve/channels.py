"""Retrieval channels. Each returns ``(item id, score)`` pairs, best first, higher is better.

A channel is one small class with a ``name`` and ``search``; the pipeline runs the channels whose
weight in :class:`~outcrop.config.RetrievalConfig` is positive.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

import numpy as np

from outcrop.config import RetrievalConfig
from outcrop.core.text import FILLER, query_terms, without_possessive
from outcrop.core.threads import available_cores
from outcrop.core.types import Level, Scope
from outcrop.providers.base import Embedder
from outcrop.providers.term_neighbours import term_neighbours
from outcrop.retrieve.expansion import expand_terms
from outcrop.retrieve.query import QueryAnalysis, known_speakers
from outcrop.retrieve.reuse import active_reuse
from outcrop.stores.base import ScoredId, SearchFilters, Store, VectorSpace

__all__ = ["BM25Channel", "Channel", "ChannelRequest", "DenseChannel", "RecencyChannel", "TurnDenseChannel"]

_NAME = re.compile(r"\b[A-Z][\w'’-]+")


@dataclass(frozen=True)
class ChannelRequest:
    scope: Scope
    query: QueryAnalysis
    filters: SearchFilters | None
    k: int


class Channel(Protocol):
    name: str

    def search(self, request: ChannelRequest) -> list[ScoredId]: ...


class BM25Channel:
    """FTS5/tsvector BM25 over lexical documents, with optional pseudo-relevance feedback:
    the top documents' most frequent content words join the query at a lower weight.

    A question that asks for a list ("What recipes has Nate made?": ``QueryAnalysis.lists``) takes
    its feedback from more documents at a higher weight (``list_prf_docs``, ``list_prf_weight``):
    its answer is spread over sessions, and the words its first hits share ("coconut", "dairy-free")
    reach the others. LoCoMo dev (kept stores, `bench/locomo_rescore.py`), 0.5 from 8 documents
    against 0.3 from 3: R@10 81.2 → 81.6, multi-hop 61.8 → 62.7, coverage @1000 83.9 → 84.1,
    multi-hop coverage 53.5 → 54.7, answer words 79.9 → 80.3; 0.5 / 0.7 / 1.0 from 3 documents:
    R@10 81.3 / 81.1 / 81.0; 0.5 from 12: 81.7, coverage 83.8 (docs/decisions.md)."""

    name = "bm25"

    def __init__(self, store: Store, config: RetrievalConfig) -> None:
        self.store = store
        self.config = config

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        terms = {t: 1.0 for t in request.query.terms}
        first = self.store.lexical.search(request.scope, terms, request.k, request.filters, self.config.context_weight)
        extra: dict[str, float] = {}
        listing = request.query.lists and self.config.prf_weight > 0  # prf_weight 0: no feedback at all
        weight = self.config.list_prf_weight if listing else self.config.prf_weight
        if first and weight > 0:
            docs = self.config.list_prf_docs if listing else self.config.prf_docs
            feedback = self._expansion_terms(request, first[:docs], set(terms))
            if feedback:
                # The feedback as a whole weighs its weight of the original query, however many terms it has.
                extra.update(dict.fromkeys(feedback, weight * len(terms) / len(feedback)))
        if self.config.expansion_weight > 0:
            for term, weight in self._neighbour_terms(request).items():
                extra[term] = extra.get(term, 0.0) + weight
        if not extra:
            return first
        # Added terms are matched against items' own text only: neighbour context would add cost, not signal.
        scores = dict(first)
        for item_id, score in self.store.lexical.search(request.scope, extra, request.k, request.filters):
            scores[item_id] = scores.get(item_id, 0.0) + score
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[: request.k]

    def _neighbour_terms(self, request: ChannelRequest) -> dict[str, float]:
        """Words near the query's terms in a static embedding vocabulary (retrieve/expansion.py)."""
        names = {*request.query.speakers, *(m.group() for m in _NAME.finditer(request.query.text) if m.start() > 0)}
        return expand_terms(
            request.query.terms,
            term_neighbours(),
            neighbours=self.config.expansion_neighbours,
            floor=self.config.expansion_similarity,
            weight=self.config.expansion_weight,
            names=[without_possessive(n) for n in names],
        )

    def _expansion_terms(self, request: ChannelRequest, first: list[ScoredId], asked: set[str]) -> list[str]:
        """The content words shared by most of the ``first`` documents (ties: order of appearance),
        without the question's own words and the participants' names."""
        top_ids = [item_id for item_id, _ in first]
        documents = self.store.lexical.documents(request.scope, top_ids)
        counts: Counter[str] = Counter()
        for item_id in top_ids:
            document = documents.get(item_id)
            if document is not None:
                counts.update(query_terms(f"{document.own}\n{document.context}"))
        # a participant's name is in most documents of a conversation (a fact says who said it): it
        # says nothing about what the question asks (in a two-item memory it made a turn's fact
        # outrank the turn itself). A date's words do: they pull in the first hits' sessions (left
        # out too, LoCoMo dev coverage @1000 84.1 -> 83.8; docs/decisions.md)
        names = {w for name in known_speakers(self.store, request.scope, request.query) for w in query_terms(name)}
        fresh = [t for t, _ in counts.most_common() if t not in asked and t not in FILLER and t not in names]
        return fresh[: self.config.prf_terms]


class DenseChannel:
    """Cosine similarity between the query embedding and item embeddings."""

    name = "dense"

    def __init__(self, store: Store, embedder: Embedder, cached_queries: int = 256) -> None:
        self.store = store
        self.embedder = embedder
        self.space = VectorSpace(embedder.id, embedder.dim)
        # A widened search asks again with the same text, and agents repeat questions: the
        # query vector is kept (read-only) for the last ``cached_queries`` texts.
        self._vector = lru_cache(maxsize=cached_queries)(self._embed)
        self._pending = threading.local()  # this thread's prefetched (text, future)

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        vector = self.query_vector(request.query.text)
        return self.store.vectors.search(request.scope, self.space, vector, request.k, request.filters)

    def prefetch(self, text: str) -> None:
        """Start embedding ``text`` on another thread, so that it runs beside the search's first
        statements (the query's speakers, the lexical channel: the database's work, or SQLite's
        outside the GIL); :meth:`query_vector` on this thread takes it up. The same vector as
        embedding it then: only the one search's latency changes, not its CPU or its result."""
        if active_reuse() is not None:  # an evaluation's reuse keeps its own vectors
            return
        self._pending.job = (text, _prefetcher().submit(self._vector, text))

    def query_vector(self, text: str) -> np.ndarray:
        """``text``'s embedding (unit length, read-only), from the cache when it was asked lately."""
        reuse = active_reuse()
        if reuse:
            return np.asarray(reuse.vector(self.embedder, text, lambda: self._vector(text)))
        job: tuple[str, Future[np.ndarray]] | None = getattr(self._pending, "job", None)
        if job is not None and job[0] == text:
            self._pending.job = None
            if not job[1].cancel():  # started (or done): wait for it; still queued: embed here
                return np.asarray(job[1].result())
        return np.asarray(self._vector(text))

    def _embed(self, text: str) -> np.ndarray:
        vector = np.array(self.embedder.embed([text])[0], dtype=np.float32)
        vector.setflags(write=False)
        return vector


class TurnDenseChannel:
    """The dense channel's cosine over turns alone.

    The facts that restate a turn with its names and dates resolved sit beside it in the dense
    ranking and crowd its first places (LoCoMo dev: "What is Joanna inspired by?" has its evidence
    first by cosine among turns, 115th through the pipeline). Contexts fuse this ranking too
    (``retrieval.context_dense_turns``); it shares the dense channel's query vector."""

    name = "dense_turns"

    def __init__(self, store: Store, dense: DenseChannel) -> None:
        self.store = store
        self.dense = dense

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        filters = request.filters or SearchFilters()
        if filters.levels and Level.TURN not in filters.levels:
            return []  # the request asks for no turns
        vector = self.dense.query_vector(request.query.text)
        turns_only = replace(filters, levels=(Level.TURN,))
        return self.store.vectors.search(request.scope, self.dense.space, vector, request.k, turns_only)


@lru_cache(maxsize=1)
def _prefetcher() -> ThreadPoolExecutor:
    """The process's threads for :meth:`DenseChannel.prefetch` (one per core: a prefetch that
    waits for one is cancelled and embedded by its search instead)."""
    return ThreadPoolExecutor(max_workers=available_cores(), thread_name_prefix="outcrop-query-embed")


class RecencyChannel:
    """The newest items first: a weak prior that breaks ties toward what is current."""

    name = "recency"

    def __init__(self, store: Store) -> None:
        self.store = store

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        return self.store.records.recent(request.scope, request.k, request.filters)
