"""Version history stays well-formed when a derived item is edited, deleted and consolidated again."""

from __future__ import annotations

import pytest

from outcrop import Memory
from outcrop.errors import NotFoundError


def test_a_deleted_derived_item_keeps_one_history_through_reconsolidation(memory: Memory) -> None:
    memory.add(
        [{"name": "Ana", "content": "I adopted a puppy named Biscuit last week."}],
        user_id="u1",
        session_id="s1",
        timestamp="2024-03-10T10:00:00",
    )
    facts = memory.list(user_id="u1", level="fact")
    assert facts, "the rule producer should derive a fact from the turn"
    fact_id = facts[0].id
    memory.update(fact_id, "Ana adopted a puppy named Biscuit.", user_id="u1")
    memory.delete(fact_id, user_id="u1")
    for _ in range(2):  # the same fact would be derived again under the same id: its delete holds
        memory.consolidate(user_id="u1")
        assert fact_id not in {f.id for f in memory.list(user_id="u1", level="fact")}
    with pytest.raises(NotFoundError):
        memory.get(fact_id, user_id="u1")
    history = memory.history(fact_id, user_id="u1")
    keys = [(v.version, v.event) for v in history]
    assert len(keys) == len(set(keys))
    assert [event for _, event in keys] == ["update", "delete"]
    assert [version for version, _ in keys] == sorted(version for version, _ in keys)
