"""Reserved places for the dense channel's best matches in a packed context."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Hit, Level, Memory, MemoryConfig
from outcrop.providers import Embedder
from outcrop.retrieve.reserve import reserve_places


def _hit(item_id: str, score: float) -> Hit:
    return Hit(id=item_id, level=Level.TURN, text=item_id, score=score, explain={})


def test_reserved_hits_follow_the_head_and_the_rest_keeps_its_order() -> None:
    hits = [_hit(name, 1.0 - n / 10) for n, name in enumerate("abcdefg")]
    out = reserve_places(hits, ["f", "b", "zz", "d"], after=2, channel="dense")
    assert [h.id for h in out] == ["a", "b", "f", "d", "c", "e", "g"]
    assert out[2].explain["reserved"] == "dense" and out[3].explain["reserved"] == "dense"
    assert "reserved" not in out[1].explain  # already ahead: not moved, not marked
    assert reserve_places(hits, [], after=2, channel="dense") == hits


LEXICAL = [  # every one shares "week" with the question; none is about unwinding
    "This week the office printer broke again.",
    "Our team shipped the new release this week.",
    "The week started with a long meeting about budgets.",
    "I spent the week painting the garden fence.",
    "Next week my cousin visits from Lisbon.",
    "The weather was rainy all week long.",
    "Every week I water the plants on Sunday.",
    "Last week the train was late three times.",
]
PARAPHRASE = "A hot bath and a good book calm my nerves after hard days."
OTHER = [f"Dinner on day {n} was {dish}." for n, dish in enumerate(["pasta", "soup", "rice", "salad"] * 5)]
QUESTION = "What helps with stress after a tough week?"


@pytest.fixture
def memory(tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata={"on_add": False})
    with Memory(config=config, embedder=embedder) as m:
        for n, text in enumerate([PARAPHRASE, *LEXICAL, *OTHER]):
            m.add(text, user_id="u1", session_id=f"s{n}", timestamp=f"2024-03-01T10:{n:02d}:00")
        yield m


def _reopened(memory: Memory, **retrieval: object) -> Memory:
    config = memory.config.model_copy(update={"retrieval": memory.config.retrieval.model_copy(update=retrieval)})
    return Memory(config=config, embedder=memory.embedder)


def test_a_context_keeps_a_place_for_the_dense_channels_best_match(memory: Memory) -> None:
    paraphrase = next(t.id for t in memory.list(user_id="u1", limit=50) if t.text == PARAPHRASE)
    with (
        _reopened(memory, reserve_after=1, context_dense_reserve=1) as reserving,
        _reopened(memory, reserve_after=1, context_dense_reserve=0) as plain,
    ):
        found = reserving.context(QUESTION, user_id="u1", max_tokens=70)
        missed = plain.context(QUESTION, user_id="u1", max_tokens=70)
        assert paraphrase in [h.id for h in found.items]
        assert paraphrase not in [h.id for h in missed.items]  # fusion alone ranks it below the lexical hits
        reserved = next(h for h in found.items if h.id == paraphrase)
        assert reserved.explain["reserved"] == "dense"
        # search keeps the plain fused order
        assert [h.id for h in reserving.search(QUESTION, user_id="u1", limit=9)] == [
            h.id for h in plain.search(QUESTION, user_id="u1", limit=9)
        ]


def test_reserved_places_hold_when_the_scope_has_slot_facts(memory: Memory) -> None:
    """Reading current truth (any hit filling a slot) once re-sorted hits by score, which sent the
    low-scored reserved hits to the end of the list and out of the context."""
    lives = "I live in Lisbon and the week was tough."  # its fact fills a slot and ranks first
    memory.add([{"role": "user", "name": "Ann", "content": lives}], user_id="u1", session_id="slot")
    memory.consolidate(user_id="u1")
    assert any("slot" in f.metadata for f in memory.list(user_id="u1", level="fact", limit=100))
    paraphrase = next(t.id for t in memory.list(user_id="u1", level="turn", limit=50) if t.text == PARAPHRASE)

    def carries(context_items: list[Hit]) -> bool:
        return any(h.id == paraphrase or paraphrase in h.sources for h in context_items)

    with (
        _reopened(memory, reserve_after=1, context_dense_reserve=3) as reserving,
        _reopened(memory, reserve_after=1, context_dense_reserve=0) as plain,
    ):
        assert carries(reserving.context(QUESTION, user_id="u1", max_tokens=100).items)
        assert not carries(plain.context(QUESTION, user_id="u1", max_tokens=100).items)
