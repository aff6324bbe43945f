"""Positions doubled by concurrent writers before the unique index are renumbered on open. The
writers themselves (processes and servers on one store) are in tests/reliability/test_writers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder

pytestmark = pytest.mark.integration  # a real store file and the model


def test_positions_two_writers_once_doubled_are_renumbered_on_open(tmp_path: Path, embedder: Embedder) -> None:
    from outcrop.stores.sqlite.driver import sqlite3

    url = f"sqlite:///{tmp_path / 'm.db'}"
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as m:
        ids = m.add([{"content": f"note {n}"} for n in range(4)], user_id="u", session_id="s")
    with sqlite3.connect(tmp_path / "m.db") as db:  # as concurrent writers left stores before the index
        db.execute("DROP INDEX turn_positions")
        db.execute("UPDATE items SET position = 1 WHERE id = ?", (ids[2],))
        db.execute("DELETE FROM schema_migrations WHERE name = '0008_unique_turn_positions'")
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as m:
        positions = m.store.records.positions(Scope(tenant=m.config.tenant, user_id="u"), ids)
        assert sorted(positions.values()) == [0, 1, 2, 3]
        assert positions[ids[0]] == 0 and {positions[ids[1]], positions[ids[2]]} == {1, 2} and positions[ids[3]] == 3
