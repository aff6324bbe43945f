"""Version history survives derived items that are deleted and derived again under the same id."""

from __future__ import annotations

from memstrata import Memory


def test_a_rederived_item_can_be_deleted_again(memory: Memory) -> None:
    memory.add(
        [{"name": "Ana", "content": "I adopted a puppy named Biscuit last week."}],
        user_id="u1",
        session_id="s1",
        timestamp="2024-03-10T10:00:00",
    )
    facts = memory.list(user_id="u1", level="fact")
    assert facts, "the rule producer should derive a fact from the turn"
    fact_id = facts[0].id
    memory.delete(fact_id, user_id="u1")
    memory.consolidate(user_id="u1")  # derives the same fact again, under the same id
    assert fact_id in {f.id for f in memory.list(user_id="u1", level="fact")}
    memory.delete(fact_id, user_id="u1")  # the same version again: must not collide with the first delete
    memory.consolidate(user_id="u1")
    memory.update(fact_id, "Ana adopted a puppy named Biscuit.", user_id="u1")
    history = memory.history(fact_id, user_id="u1")
    keys = [(v.version, v.event) for v in history]
    assert len(keys) == len(set(keys)) == 3
    assert [event for _, event in keys] == ["delete", "delete", "update"]
    assert [version for version, _ in keys] == sorted(version for version, _ in keys)
