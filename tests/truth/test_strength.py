"""The forgetting curve: fading with age, slowed by access and importance; faded items still reachable."""

from __future__ import annotations

from datetime import datetime

from memstrata.core.types import Hit, Level
from memstrata.truth.strength import apply_strength, retention, wants_faded


def test_retention_curve() -> None:
    assert retention(0) == 1.0
    assert abs(retention(90, importance=0.5) - 0.5) < 1e-9  # half-life at default importance
    assert retention(90, access_count=3) > retention(90) > retention(180)
    assert retention(90, importance=1.0) > retention(90, importance=0.0)


def test_faded_items_drop_from_default_but_not_from_exact_or_timed_queries() -> None:
    now = datetime(2025, 1, 1)
    old = Hit(id="a", text="the blue bicycle", score=1.0, level=Level.TURN, timestamp=datetime(2020, 1, 1))
    new = Hit(id="b", text="a red car", score=0.5, level=Level.TURN, timestamp=datetime(2024, 12, 1))
    assert [h.id for h in apply_strength([old, new], "what did I ride?", now)] == ["b"]
    assert wants_faded('"blue bicycle"') and wants_faded("what did I ride in May 2020?")
    assert {h.id for h in apply_strength([old, new], 'the "blue bicycle"', now)} == {"a", "b"}
    assert {h.id for h in apply_strength([old, new], "what did I ride in 2020?", now)} == {"a", "b"}
