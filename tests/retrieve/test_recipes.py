"""Named retrieval recipes through ``Memory.search(recipe=...)``, on a real store and model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import InvalidInputError, Level, Memory, MemoryConfig
from outcrop.providers import Embedder


@pytest.fixture
def kitten(tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as m:
        m.add(
            [
                {"role": "user", "name": "Ann", "content": "I adopted a grey kitten called Miso last week."},
                {"role": "user", "name": "Bo", "content": "My car broke down on the motorway."},
                {"role": "user", "name": "Ann", "content": "The weather is lovely today."},
            ],
            user_id="u1",
            session_id="s1",
            timestamp="2023-05-08T10:00:00",
        )
        assert m.list(user_id="u1", level=Level.FACT, limit=10), "facts exist, and must not come back"
        yield m


def test_plain_hybrid_fuses_bm25_and_dense_over_turns_only(kitten: Memory) -> None:
    hits = kitten.search("What is the name of Ann's kitten?", user_id="u1", recipe="plain-hybrid")
    assert hits and all(h.level == Level.TURN for h in hits)
    assert "Miso" in hits[0].text
    assert set(hits[0].explain["channels"]) == {"bm25", "dense"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert kitten.search("kitten", user_id="u2", recipe="plain-hybrid") == []  # another user's memory


@pytest.mark.parametrize(("recipe", "channels"), [("bm25", {"bm25"}), ("dense", {"dense"}), ("turns", None)])
def test_turn_recipes_search_turns_with_their_channels(kitten: Memory, recipe: str, channels: set[str] | None) -> None:
    hits = kitten.search("Ann's grey kitten", user_id="u1", recipe=recipe)
    assert hits and all(h.level == Level.TURN for h in hits) and "Miso" in hits[0].text
    if channels is not None:
        assert {c for h in hits for c in h.explain["channels"]} == channels
    dated = "kitten 1 May 2023"  # the fact carries the resolved date, the turn does not
    assert any(h.level == Level.FACT for h in kitten.search(dated, user_id="u1"))  # default: every level
    assert all(h.level == Level.TURN for h in kitten.search(dated, user_id="u1", recipe=recipe))


def test_a_caller_level_filter_wins_over_the_recipe(kitten: Memory) -> None:
    hits = kitten.search("Ann's grey kitten", user_id="u1", recipe="bm25", filters={"level": "fact"})
    assert hits and all(h.level == Level.FACT for h in hits)


def test_unknown_recipes_and_plain_arguments_are_refused(kitten: Memory) -> None:
    with pytest.raises(InvalidInputError, match="unknown recipe 'bm42'; expected one of: default, turns"):
        kitten.search("kitten", user_id="u1", recipe="bm42")
    with pytest.raises(InvalidInputError, match="takes no channels, filters or as_of"):
        kitten.search("kitten", user_id="u1", recipe="plain-hybrid", channels={"bm25": 1.0})
