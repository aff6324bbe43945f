"""What makes the evaluation fast must not change a figure: shared channel rankings and query
vectors give exactly the hits each search gives alone, and the one-thread ONNX model used by the
worker processes gives bit-identical vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from outcrop.providers.onnx_minilm import MiniLMOnnxEmbedder
from outcrop.retrieve.reuse import active_reuse, reuse_reads
from tests.helpers import CONVERSATION

QUERIES = ["What did Caroline go to?", "What does Melanie paint?", "When did Caroline go to the support group?"]
TURNS_ONLY = {"level": "turn"}


def _asked(memory: Memory, query: str) -> list[Any]:
    """Every way the evaluation asks one question, as plain data."""
    out: list[Any] = []
    for channels in (None, {"bm25": 1.0}, {"dense": 1.0}):
        filters = None if channels is None else TURNS_ONLY
        hits = memory.search(query, user_id="u", limit=20, channels=channels, filters=filters)
        for hit in hits:
            hit.explain.pop("query_ms")  # a timing
        out.append([h.model_dump() for h in hits])
    for budget in (256, 1000, 2000):
        context = memory.context(query, user_id="u", max_tokens=budget)
        out.append((context.text, [h.id for h in context.items], context.confidence))
    return out


def test_reused_rankings_and_vectors_give_the_same_hits(db_url: str, embedder: Embedder) -> None:
    # As in the evaluation, reads are not counted as accesses: counted, they would (rightly) make
    # the second pass rank by strength differently from the first, reuse or not.
    config = MemoryConfig.build({"store": db_url, "retrieval": {"track_access": False}})
    with Memory(config=config, embedder=embedder) as memory:
        _compare_alone_and_shared(memory)


def _compare_alone_and_shared(memory: Memory) -> None:
    for day in range(1, 6):  # enough turns that context does not return the whole scope
        memory.add(CONVERSATION, user_id="u", session_id=f"s{day}", timestamp=f"2023-05-0{day}T10:00:00")
    alone = [_asked(memory, q) for q in QUERIES]
    assert active_reuse() is None
    with reuse_reads() as reuse:
        shared = [_asked(memory, q) for q in QUERIES]
        assert active_reuse() is reuse
    assert active_reuse() is None
    assert shared == alone
    assert reuse.hits > 0 and reuse.vectors  # something was in fact served from memory


def test_recording_only_computes_every_request() -> None:
    calls: list[str] = []

    def compute() -> list[tuple[str, float]]:
        calls.append("x")
        return [("a", 1.0)]

    with reuse_reads(serving=False) as reuse:
        assert reuse.ranking(object, "request", compute) == [("a", 1.0)]
        assert reuse.ranking(object, "request", compute) == [("a", 1.0)]
        assert len(calls) == 2 and reuse.hits == 0
        reuse.serving = True
        ranking = reuse.ranking(object, "request", compute)
        ranking.append(("b", 0.5))  # a caller's copy: the recorded ranking is unchanged
        assert reuse.ranking(object, "request", compute) == [("a", 1.0)]
        assert len(calls) == 2 and reuse.hits == 2


def test_one_thread_and_batching_give_bit_identical_vectors(embedder: Embedder) -> None:
    texts = [m["content"] for m in CONVERSATION] + ["short", "a much longer text " * 40]
    single_thread = MiniLMOnnxEmbedder(threads=1)
    batched = embedder.embed(texts)
    assert np.array_equal(single_thread.embed(texts), batched)
    one_by_one = np.stack([single_thread.embed([t])[0] for t in texts])
    assert np.array_equal(one_by_one, batched)
