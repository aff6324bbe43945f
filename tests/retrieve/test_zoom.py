"""De-duplication across levels by the turns each hit carries."""

from __future__ import annotations

from outcrop.core.provenance import carried_turns
from outcrop.core.types import Hit, Level
from outcrop.retrieve.zoom import deduplicate


def hit(item_id: str, level: Level, sources: list[str]) -> Hit:
    return Hit(id=item_id, text=item_id, score=1.0, level=level, sources=sources)


def test_carried_turns_follow_provenance() -> None:
    assert carried_turns(hit("t_a", Level.TURN, ["l_1"])) == {"t_a"}
    assert carried_turns(hit("f_a", Level.FACT, ["t_a"])) == {"t_a"}
    assert carried_turns(hit("e_a", Level.EPISODE, ["t_a", "t_b"])) == {"t_a", "t_b"}


def test_hits_whose_turns_are_already_carried_are_dropped() -> None:
    ranked = [
        hit("f_1", Level.FACT, ["t_a"]),
        hit("t_a", Level.TURN, ["l_1"]),  # the fact above already carries it
        hit("e_1", Level.EPISODE, ["t_a", "t_b"]),  # brings t_b: kept
        hit("f_2", Level.FACT, ["t_b"]),  # carried by the episode
        hit("t_c", Level.TURN, ["l_3"]),
    ]
    assert [h.id for h in deduplicate(ranked, 10)] == ["f_1", "e_1", "t_c"]
    assert [h.id for h in deduplicate(ranked, 2)] == ["f_1", "e_1"]


def test_a_transparent_hit_keeps_its_place_without_hiding_its_turns() -> None:
    ranked = [
        hit("c_page", Level.TOPIC, ["t_a", "t_b"]),
        hit("t_a", Level.TURN, ["l_1"]),
        hit("t_b", Level.TURN, ["l_2"]),
    ]
    assert [h.id for h in deduplicate(ranked, 10)] == ["c_page"]
    kept = deduplicate(ranked, 10, transparent=lambda h: h.id == "c_page")
    assert [h.id for h in kept] == ["c_page", "t_a", "t_b"]
