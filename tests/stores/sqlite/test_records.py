"""The SQLite records' reads of one user's log follow that user's records, on a real file: the
plan SQLite picks for the log queries of a user scope (count, pages in append order) seeks the
``(tenant, user_id, seq)`` index instead of walking the tenant's records."""

from __future__ import annotations

from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder
from outcrop.stores.sql import scope_clause
from outcrop.stores.sqlite.driver import sqlite3


def _plan(db: sqlite3.Connection, sql: str, params: list[object]) -> str:
    return " | ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_a_users_log_is_read_through_its_own_index(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "memory.db"
    with Memory(config=MemoryConfig(store=f"sqlite:///{path}", strata={"on_add": False}), embedder=embedder) as m:
        for user in ("u1", "u2", "u3"):
            m.add([f"{user} says hello {n}" for n in range(5)], user_id=user, session_id="s1")
        assert m.stats(user_id="u2")["counts"]["log"] == 5
        assert len(m.store.records.log_records(Scope(tenant="default", user_id="u2"))) == 5
    clause, params = scope_clause(Scope(tenant="default", user_id="u2"))
    with sqlite3.connect(path) as db:
        count = _plan(db, f"SELECT COUNT(*) FROM log WHERE {clause}", params)
        pages = _plan(db, f"SELECT id FROM log WHERE {clause} ORDER BY seq LIMIT 10 OFFSET 0", params)
    assert "log_scope (tenant=? AND user_id=?)" in count
    assert "log_scope (tenant=? AND user_id=?)" in pages and "TEMP B-TREE" not in pages
