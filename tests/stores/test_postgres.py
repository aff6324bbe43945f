"""The PostgreSQL + pgvector store on a real server: the Memory API end to end, tenant isolation
through the API, and row-level security that holds even when the application's filter is
bypassed with raw SQL."""

from __future__ import annotations

import psycopg
import pytest

from memstrata import Memory, MemoryConfig
from memstrata.errors import NotFoundError
from memstrata.providers import Embedder
from memstrata.stores.postgres_schema import APP_ROLE, SCHEMA

TURNS = [
    {"name": "Ana", "content": "I moved to Lisbon last month."},
    {"name": "Ben", "content": "Nice! I adopted a puppy named Biscuit yesterday."},
    {"name": "Ana", "content": "I play the piano every evening now."},
]


def _memory(url: str, embedder: Embedder, tenant: str = "default") -> Memory:
    return Memory(config=MemoryConfig(store=url, tenant=tenant), embedder=embedder)


def test_memory_api_end_to_end(postgres_url: str, embedder: Embedder) -> None:
    with _memory(postgres_url, embedder) as m:
        ids = m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        assert len(ids) == 3
        assert m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00") == ids  # idempotent
        hits = m.search("What is the name of Ben's puppy?", user_id="u1", limit=5)
        assert hits and "Biscuit" in hits[0].text
        facts = m.list(user_id="u1", level="fact")
        assert any("February 2024" in f.text for f in facts)  # "last month" resolved against the turn's time
        m.update(ids[2], "I play the cello every evening now.", user_id="u1")
        assert m.get(ids[2], user_id="u1").text.startswith("I play the cello")
        assert [v.event for v in m.history(ids[2], user_id="u1")] == ["add", "update"]
        m.delete(ids[0], user_id="u1")
        with pytest.raises(NotFoundError):
            m.get(ids[0], user_id="u1")
        assert all(h.id != ids[0] for h in m.search("Lisbon", user_id="u1", filters={"level": "turn"}))
    with _memory(postgres_url, embedder) as reopened:  # state survives the process's connections
        assert reopened.get(ids[1], user_id="u1").text == TURNS[1]["content"]


def test_tenants_never_see_each_other(postgres_url: str, embedder: Embedder) -> None:
    with _memory(postgres_url, embedder, "acme") as acme, _memory(postgres_url, embedder, "globex") as globex:
        mine = acme.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        globex.add([{"name": "Zed", "content": "I like chess."}], user_id="u1", timestamp="2024-03-11T10:00:00")
        assert not [h for h in globex.search("Lisbon puppy piano", user_id="u1") if h.id in mine]
        assert {h.text for h in globex.search("Biscuit", user_id="u1")} <= {"I like chess.", "Zed likes: chess"} | {
            i.text for i in globex.list(user_id="u1")
        }
        with pytest.raises(NotFoundError):
            globex.get(mine[0], user_id="u1")
        with pytest.raises(NotFoundError):
            globex.delete(mine[0], user_id="u1")
        assert acme.get(mine[0], user_id="u1").text == TURNS[0]["content"]


def _count_as_app(url: str, tenant: str | None) -> int:
    """Rows the application role sees in the items table with raw SQL and no WHERE clause at all."""
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        if tenant is not None:
            conn.execute("SELECT set_config('memstrata.tenant', %s, true)", [tenant])
        row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.items").fetchone()
        assert row is not None
        return int(row[0])


def test_row_level_security_holds_without_the_application_filter(postgres_url: str, embedder: Embedder) -> None:
    with _memory(postgres_url, embedder, "acme") as acme:
        acme.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        total = acme.stats(user_id="u1")["counts"]
    assert _count_as_app(postgres_url, "acme") == sum(v for k, v in total.items() if k != "log")
    assert _count_as_app(postgres_url, "globex") == 0
    assert _count_as_app(postgres_url, None) == 0
    with psycopg.connect(postgres_url) as conn, conn.transaction():  # writes for another tenant are refused too
        conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        conn.execute("SELECT set_config('memstrata.tenant', 'globex', true)")
        hidden = conn.execute(f"UPDATE {SCHEMA}.items SET text = 'x' WHERE tenant = 'acme'")
        assert hidden.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the policy's WITH CHECK
            conn.execute(
                f"INSERT INTO {SCHEMA}.log (id, tenant, user_id, kind, payload, content_hash, recorded_at)"
                " VALUES ('l_x', 'acme', 'u1', 'message', '{}', 'h', now())"
            )
