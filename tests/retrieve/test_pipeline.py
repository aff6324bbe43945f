"""The pipeline's first hit is kept from the turns the relations channel lifts (keep_first)."""

from __future__ import annotations

from outcrop import Hit, Level, Memory, MemoryConfig
from outcrop.core.types import Item, Scope
from outcrop.providers import Embedder
from outcrop.retrieve.pipeline import keep_first, place_view
from outcrop.retrieve.relations import may_lead
from tests.helpers import say
from tests.retrieve.test_relations import _story as story


def _hit(item_id: str, score: float) -> Hit:
    return Hit(id=item_id, level=Level.TURN, text=item_id, score=score, explain={})


def test_the_best_hit_without_the_channel_moves_to_the_front_and_the_rest_keeps_its_order() -> None:
    hits = [_hit("lifted", 0.9), _hit("a", 0.8), _hit("best", 0.7), _hit("b", 0.6)]
    without = {"lifted": 0.1, "a": 0.5, "best": 0.7, "b": 0.6}  # "lifted" was first only through the channel
    assert [h.id for h in keep_first(hits, without, 1)] == ["best", "lifted", "a", "b"]
    assert [h.id for h in keep_first(hits, without, 2)] == ["best", "b", "lifted", "a"]
    assert keep_first(hits, without, 0) == hits
    assert keep_first([], without, 1) == []


def test_the_best_view_moves_up_to_its_place_and_never_down() -> None:
    hits = [_hit("a", 0.9), _hit("b", 0.8), _hit("c", 0.7), _hit("view", 0.6), _hit("d", 0.5)]
    assert [h.id for h in place_view(hits, "view", 2)] == ["a", "view", "b", "c", "d"]
    assert [h.id for h in place_view(hits, "view", 1)] == ["view", "a", "b", "c", "d"]
    assert place_view(hits, "view", 4) == hits  # at its place already
    assert place_view(hits, "view", 5) == hits  # above it: never moved down
    assert place_view(hits, "missing", 2) == hits


def test_a_participants_pictures_never_lead() -> None:
    def view(relation: str) -> Item:
        return Item(id=relation, level=Level.TOPIC, scope=Scope(user_id="u1"), text="", metadata={"relation": relation})

    assert may_lead(view("owns")) and not may_lead(view("shared"))
    assert not may_lead(Item(id="t", level=Level.TURN, scope=Scope(user_id="u1"), text="a turn"))


def test_a_list_question_keeps_its_best_match_first_whatever_the_channel_weight(
    db_url: str, embedder: Embedder
) -> None:
    config = MemoryConfig.build(
        {"store": db_url, "strata": {"relations": True, "entity_pages": True}, "retrieval": {"prf_weight": 0.0}}
    )
    with Memory(config=config, embedder=embedder) as memory:
        story(memory)  # Audrey's puppies and kitten among other talk (tests/retrieve/test_relations.py)
        say(memory, "Which pets has Audrey adopted? Pixie the puppy, she told me.", "s9", 20, name="Andrew")
        question = "Which pets has Audrey adopted?"
        plain = memory.search(question, user_id="u1", limit=5, channels={"bm25": 1.0})
        lifted = memory.search(question, user_id="u1", limit=5, channels={"bm25": 1.0, "relations": 20.0})
        assert any("relations" in h.explain["channels"] for h in lifted)  # the channel found the view
        first = lifted[0]
        # a view may lead (it carries the list); a turn leads only if it was first without the channel
        assert first.level == Level.TOPIC or first.id == plain[0].id
