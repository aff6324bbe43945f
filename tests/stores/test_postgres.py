"""What only the PostgreSQL + pgvector store has, on a real server: recorded migrations, the HNSW
path of vector search, and row-level security that holds even when the application's filter is
bypassed with raw SQL. Every behaviour both stores share is in tests/stores/test_contract.py."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.legacy import LegacyNameWarning
from outcrop.core.types import Scope
from outcrop.errors import ConfigError
from outcrop.providers import Embedder
from outcrop.stores.base import SearchFilters
from outcrop.stores.postgres import PostgresStore
from outcrop.stores.postgres_schema import (
    APP_ROLE,
    LEGACY_APP_ROLE,
    LEGACY_SCHEMA,
    MIGRATIONS,
    SCHEMA,
    TENANT_SETTING,
    migrate,
)

TURNS = [
    {"name": "Ana", "content": "I moved to Lisbon last month."},
    {"name": "Ben", "content": "Nice! I adopted a puppy named Biscuit yesterday."},
    {"name": "Ana", "content": "I play the piano every evening now."},
]


def _memory(url: str, embedder: Embedder, tenant: str = "default") -> Memory:
    return Memory(config=MemoryConfig(store=url, tenant=tenant), embedder=embedder)


def test_migrations_are_recorded_and_applied_once(postgres_url: str, embedder: Embedder) -> None:
    with _memory(postgres_url, embedder) as m:
        m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
    with psycopg.connect(postgres_url) as conn:
        applied = [r[0] for r in conn.execute(f"SELECT name FROM {SCHEMA}.schema_migrations ORDER BY name")]
        assert applied == [name for name, _ in MIGRATIONS]
        assert migrate(conn) == []  # nothing pending: a second open changes nothing
    with _memory(postgres_url, embedder) as reopened:  # and the data is still there
        assert reopened.stats(user_id="u1")["counts"]["turn"] == 3


def test_the_hnsw_index_path_finds_what_the_exact_scan_finds(postgres_url: str, embedder: Embedder) -> None:
    """Scopes above ``exact_limit`` items search through the HNSW index (iterative scan, filtered
    by scope afterwards); on a small memory it must return the exact neighbours."""
    with _memory(postgres_url, embedder) as m, _memory(postgres_url, embedder, "other") as other:
        other.add([{"name": "Zed", "content": f"Note {i} about puppies and pianos."} for i in range(30)], user_id="u1")
        m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        store = m.store
        assert isinstance(store, PostgresStore)
        scope = Scope(tenant="default", user_id="u1")
        space = store.active_space()
        assert space is not None
        query = embedder.embed(["a new dog"])[0]
        exact = store.vector_search(scope, space, query, 5)
        store.exact_limit = 0
        approximate = store.vector_search(scope, space, query, 5)
        assert [i for i, _ in approximate] == [i for i, _ in exact] and len(exact) == 5
        assert [s for _, s in approximate] == pytest.approx([s for _, s in exact], abs=1e-5)
        with_filter = store.vector_search(scope, space, query, 5, SearchFilters(speakers=("Ben",)))
        assert with_filter and {store.get_items(scope, [i])[i].speaker for i, _ in with_filter} == {"Ben"}
        hits = m.search("What is the name of Ben's puppy?", user_id="u1", channels={"dense": 1.0}, limit=3)
        assert "Biscuit" in hits[0].text  # the other tenant's 30 puppy notes are never seen


def _count_as_app(url: str, tenant: str | None) -> int:
    """Rows the application role sees in the items table with raw SQL and no WHERE clause at all."""
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
        if tenant is not None:
            conn.execute("SELECT set_config(%s, %s, true)", [TENANT_SETTING, tenant])
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
        conn.execute("SELECT set_config(%s, 'globex', true)", [TENANT_SETTING])
        hidden = conn.execute(f"UPDATE {SCHEMA}.items SET text = 'x' WHERE tenant = 'acme'")
        assert hidden.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the policy's WITH CHECK
            conn.execute(
                f"INSERT INTO {SCHEMA}.log (id, tenant, user_id, kind, payload, content_hash, recorded_at)"
                " VALUES ('l_x', 'acme', 'u1', 'message', '{}', 'h', now())"
            )


def test_a_non_superuser_owner_can_run_the_store(postgres_server: str, embedder: Embedder) -> None:
    """The deployment the docs describe: the URL's user owns the database but is no superuser (and
    has no BYPASSRLS). It holds only the ADMIN option on the app role (what PostgreSQL 16+ gives a
    CREATEROLE user that created it), grants itself SET, and forgets without a CHECKPOINT."""
    owner, database = f"owner_{secrets.token_hex(4)}", f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS")
        admin.execute(f'CREATE DATABASE "{database}" OWNER {owner}')
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone():
            admin.execute(f"GRANT {APP_ROLE} TO {owner} WITH ADMIN TRUE, SET FALSE, INHERIT FALSE")
    superuser_url = postgres_server.replace("/postgres?", f"/{database}?", 1)
    with psycopg.connect(superuser_url, autocommit=True) as admin:
        admin.execute("CREATE EXTENSION vector")  # not a trusted extension: a superuser installs it once
    url = superuser_url.replace("//postgres:@", f"//{owner}:@", 1)
    assert owner in url
    with _memory(url, embedder) as m:
        ids = m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        assert "Biscuit" in m.search("What is the name of Ben's puppy?", user_id="u1", limit=3)[0].text
        receipt = m.forget([ids[1]], user_id="u1")
        assert receipt.ok and receipt.scrub["checkpoint"] is False
        assert m.search("Biscuit puppy", user_id="u1", channels={"bm25": 1.0}, filters={"level": "turn"}) == []
        space = m.store.active_space()
        assert space is not None
        with pytest.raises(ConfigError, match="BYPASSRLS"):  # it could not see the other tenants' vectors
            m.store.activate_space(space)
    assert _count_as_app(url, "default") > 0 and _count_as_app(url, "other") == 0


def _lay_out_as_memstrata(url: str) -> None:
    """Turn an outcrop store into what the project wrote under its former name: the ``memstrata``
    schema, policies comparing with ``memstrata.tenant`` and the ``memstrata_app`` role."""
    legacy_match = "tenant = nullif(current_setting('memstrata.tenant', true), '')"
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute(f"ALTER SCHEMA {SCHEMA} RENAME TO {LEGACY_SCHEMA}")
        tables = conn.execute("SELECT tablename FROM pg_policies WHERE schemaname = %s", [LEGACY_SCHEMA]).fetchall()
        for (table,) in tables:
            conn.execute(
                f"ALTER POLICY tenant_isolation ON {LEGACY_SCHEMA}.{table} USING ({legacy_match}) WITH CHECK ({legacy_match})"
            )
        conn.execute(f"ALTER ROLE {APP_ROLE} RENAME TO {LEGACY_APP_ROLE}")


def test_a_store_written_under_the_former_name_opens_renamed(postgres_url: str, embedder: Embedder) -> None:
    with _memory(postgres_url, embedder, "acme") as m:
        m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
    _lay_out_as_memstrata(postgres_url)
    with (
        pytest.warns(LegacyNameWarning, match="renaming the PostgreSQL schema"),
        _memory(postgres_url, embedder, "acme") as m,
    ):
        assert "Biscuit" in m.search("What is the name of Ben's puppy?", user_id="u1", limit=3)[0].text
        m.add("I sold the piano.", user_id="u1", session_id="s2", timestamp="2024-04-01T10:00:00")
        assert m.stats(user_id="u1")["counts"]["turn"] == 4
    with psycopg.connect(postgres_url) as conn:
        schemas = {
            r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname IN ('outcrop', 'memstrata')")
        }
        assert schemas == {SCHEMA}
        quals = {str(r[0]) for r in conn.execute("SELECT qual FROM pg_policies WHERE schemaname = %s", [SCHEMA])}
        assert quals and all(TENANT_SETTING in q and "memstrata" not in q for q in quals)
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [LEGACY_APP_ROLE]).fetchone() is None
    assert _count_as_app(postgres_url, "acme") > 0 and _count_as_app(postgres_url, "globex") == 0
