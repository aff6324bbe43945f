"""The truth view against a real store: it reads only the slots its hits fill, and judges them as
reading every fact of the scope would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from outcrop.core.types import Hit, Item, Level, Scope
from outcrop.stores.base import WriteBatch
from outcrop.stores.sqlite import SQLiteStore
from outcrop.truth.readtime import truth_view
from outcrop.truth.timeline import apply_truth

SCOPE = Scope(tenant="default", user_id="u1")


def _fact(fid: str, subject: str, attribute: str, value: str, day: int) -> Item:
    return Item(
        id=fid,
        level=Level.FACT,
        scope=SCOPE,
        text=f"{subject} {attribute} {value}",
        timestamp=datetime(2023, 5, day, tzinfo=UTC),
        recorded_at=datetime(2023, 6, day, tzinfo=UTC),
        metadata={"slot": {"subject": subject, "attribute": attribute, "value": value}},
        sources=[f"t-{fid}"],
    )


FACTS = [
    _fact("f1", "Ann", "lives_in", "Boston", 1),
    _fact("f2", "ann", "Lives_In", "Paris", 9),
    _fact("f3", "Ann", "employer", "Acme", 2),
    _fact("f4", "Ann", "employer", "Globex", 8),
    _fact("f5", "Bob", "pet", "a cat", 3),
]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = SQLiteStore(tmp_path / "memory.db")
    opened.records.write(WriteBatch(items=FACTS))
    yield opened
    opened.close()


def test_only_the_hits_slots_are_read_and_judged_as_over_every_fact(store: Any, monkeypatch: Any) -> None:
    hits = [Hit.from_item(f, 1.0 - n / 10, {}) for n, f in enumerate(f for f in FACTS if f.id in ("f1", "f5"))]
    asked: list[list[tuple[str, str]]] = []
    slot_facts = store.records.slot_facts

    def spy(scope: Scope, keys: list[tuple[str, str]]) -> list[Item]:
        asked.append(list(keys))
        return list(slot_facts(scope, keys))

    monkeypatch.setattr(store.records, "slot_facts", spy)
    for weight in (0.0, 0.5, 1.0):
        for as_of in (None, datetime(2023, 6, 5, tzinfo=UTC)):
            got = truth_view(store, SCOPE, hits, as_of=as_of, superseded_weight=weight)
            assert got == apply_truth(hits, FACTS, as_of=as_of, demote=weight)
    assert asked and all(keys == [("ann", "lives_in"), ("bob", "pet")] for keys in asked)
    now = truth_view(store, SCOPE, hits, superseded_weight=0.0)
    assert [h.id for h in now] == ["f5"]  # Boston was superseded by Paris (another case of the same slot)
    assert [h.id for h in truth_view(store, SCOPE, hits, as_of=datetime(2023, 6, 5, tzinfo=UTC))] == ["f1", "f5"]
