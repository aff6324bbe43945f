"""pack_context on hand-made hits: references, and the budget held whatever the hits are."""

from __future__ import annotations

from datetime import UTC, datetime

from outcrop.core.types import Hit, Level
from outcrop.eval.runner import answer_recall
from outcrop.retrieve.context import pack_context


def _hit(item_id: str, text: str, level: Level = Level.TURN, day: int = 1) -> Hit:
    return Hit(
        id=item_id, text=text, score=1.0, level=level, speaker="Sam", timestamp=datetime(2024, 5, day, tzinfo=UTC)
    )


def test_lines_cite_their_place_in_items() -> None:
    hits = [_hit(f"t_{n:02d}xyz", f"turn number {n}", day=n) for n in range(1, 13)]
    context = pack_context("q", hits, 1000)
    for n, item in enumerate(context.items, start=1):
        assert f"[{n}] Sam: {item.text}" in context.text and context.item_for(n) is item
    assert "t_01xyz" not in context.text


def test_a_profile_line_among_the_hits_pays_for_its_header() -> None:
    profile = _hit("p_1", "Sam likes dogs", Level.PROFILE)
    turn = _hit("t_1", "I walked the dog")
    for budget in range(20, 60):
        context = pack_context("q", [profile, turn], budget)
        assert context.tokens <= budget, (budget, context.text)


def test_answer_recall_does_not_count_line_references() -> None:
    context = pack_context("q", [_hit(f"t_{n}", f"a line about nothing {n * 100}", day=n) for n in range(1, 9)], 1000)
    assert "[7]" in context.text
    assert answer_recall("7", context.text) == 0.0
