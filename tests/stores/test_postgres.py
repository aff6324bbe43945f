"""What only the PostgreSQL + pgvector store has, on a real server: recorded migrations, the HNSW
path of vector search, and row-level security that holds even when the application's filter is
bypassed with raw SQL. Every behaviour both stores share is in tests/stores/test_contract.py."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import numpy as np
import psycopg
import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.ids import new_id
from outcrop.core.legacy import LegacyNameWarning
from outcrop.core.time import now
from outcrop.core.types import Item, Level, Scope
from outcrop.errors import ConfigError, StoreError
from outcrop.ingest.batch import PendingAdd
from outcrop.ingest.messages import IncomingTurn
from outcrop.providers import Embedder
from outcrop.stores.base import LexicalDocument, SearchFilters, VectorSpace, WriteBatch
from outcrop.stores.postgres import PostgresStore
from outcrop.stores.postgres import records as records_module
from outcrop.stores.postgres.rows import drop_items
from outcrop.stores.postgres.schema import (
    APP_ROLE,
    LEGACY_APP_ROLE,
    LEGACY_SCHEMA,
    MIGRATIONS,
    SCHEMA,
    TENANT_SETTING,
    migrate,
)
from outcrop.stores.postgres.vectors import PostgresVectors
from outcrop.stores.registry import open_store
from tests.helpers import run_cli

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


def test_a_users_log_is_read_through_its_own_index(postgres_url: str, embedder: Embedder) -> None:
    """The log queries of a user scope (count, pages in append order) can seek the (tenant,
    user_id, seq) index of every partition instead of walking the tenant's records."""
    with _memory(postgres_url, embedder) as m:
        for user in ("u1", "u2"):
            m.add(TURNS, user_id=user, session_id="s1")
        assert m.stats(user_id="u2")["counts"]["log"] == 3
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        conn.execute("SET enable_seqscan = off")  # a tiny table: the planner would scan it whole
        plan = "\n".join(
            str(r[0])
            for r in conn.execute(
                "EXPLAIN SELECT id FROM log WHERE tenant = 'default' AND user_id = 'u2' ORDER BY seq LIMIT 10"
            )
        )
    assert "log_" in plan and "_user_id_seq_idx" in plan and "Sort" not in plan


def test_the_hnsw_index_path_finds_what_the_exact_scan_finds(postgres_url: str, embedder: Embedder) -> None:
    """Scopes above ``exact_limit`` items search through the HNSW index (iterative scan, filtered
    by scope afterwards); on a small memory it must return the exact neighbours."""
    with _memory(postgres_url, embedder) as m, _memory(postgres_url, embedder, "other") as other:
        other.add([{"name": "Zed", "content": f"Note {i} about puppies and pianos."} for i in range(30)], user_id="u1")
        m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        store = m.store
        assert isinstance(store, PostgresStore)
        scope = Scope(tenant="default", user_id="u1")
        space = store.vectors.active_space()
        assert space is not None
        query = embedder.embed(["a new dog"])[0]
        exact = store.vectors.search(scope, space, query, 5)
        store.vectors.exact_limit = 0
        approximate = store.vectors.search(scope, space, query, 5)
        assert [i for i, _ in approximate] == [i for i, _ in exact] and len(exact) == 5
        assert [s for _, s in approximate] == pytest.approx([s for _, s in exact], abs=1e-5)
        with_filter = store.vectors.search(scope, space, query, 5, SearchFilters(speakers=("Ben",)))
        assert with_filter and {store.records.get_items(scope, [i])[i].speaker for i, _ in with_filter} == {"Ben"}
        hits = m.search("What is the name of Ben's puppy?", user_id="u1", channels={"dense": 1.0}, limit=3)
        assert "Biscuit" in hits[0].text  # the other tenant's 30 puppy notes are never seen


def test_a_filtered_hnsw_search_scans_on_until_it_finds_the_scopes_rows(postgres_url: str, embedder: Embedder) -> None:
    """pgvector's HNSW index is filtered after the fact: with 400 vectors of another user closer to
    the query than any of u1's five, its first ``ef_search`` (100) candidates hold none of u1's
    rows, and only the iterative scan (``hnsw.iterative_scan``) goes on to find them. (The planner
    would rather read u1's five rows by the items index and sort them: ``enable_sort=off`` makes it
    take the HNSW index, as it does for a large scope; without the iterative scan this finds none.)"""
    query = embedder.embed(["Which pet bird did I adopt?"])[0]
    rng = np.random.default_rng(7)
    crowd = query + rng.normal(0, 0.01, (400, len(query))).astype(np.float32)
    own = rng.normal(0, 1, (5, len(query))).astype(np.float32)
    assert "?" in postgres_url
    store = open_store(postgres_url + "&options=-c%20enable_sort%3Doff")
    assert isinstance(store, PostgresStore)
    space = VectorSpace(embedder.id, embedder.dim)
    ids = {user: _write_vectors(store, space, user, vectors) for user, vectors in (("crowd", crowd), ("u1", own))}
    store.vectors.ensure_index(space)
    store.vectors.exact_limit = 0  # through the HNSW index
    approximate = store.vectors.search(Scope(tenant="default", user_id="u1"), space, query, 5)
    assert sorted(i for i, _ in approximate) == sorted(ids["u1"])
    store.close()


def _write_vectors(store: PostgresStore, space: VectorSpace, user: str, vectors: np.ndarray) -> list[str]:
    scope = Scope(tenant="default", user_id=user)
    items = [
        Item(id=new_id("t"), level=Level.TURN, scope=scope, text=f"note {n}", producer="test", recorded_at=now())
        for n in range(len(vectors))
    ]
    store.records.write(
        WriteBatch(items=items, vectors=dict(zip([i.id for i in items], vectors, strict=True)), space=space)
    )
    return [i.id for i in items]


def _vectors_held_400_times(store: PostgresStore, space: VectorSpace, rng: np.random.Generator) -> np.ndarray:
    """20 distinct vectors written 400 times each, by user u1 one time in four (the others by
    user "others"); the 20 vectors."""
    distinct = rng.normal(0, 1, (20, space.dim)).astype(np.float32)
    rows = np.tile(distinct, (400, 1))
    _write_vectors(store, space, "u1", rows[0::4])
    _write_vectors(store, space, "others", np.concatenate([rows[1::4], rows[2::4], rows[3::4]]))
    return distinct


def _points(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.vector_points").fetchone()
        assert row is not None
        return int(row[0])


def test_the_hnsw_path_keeps_its_way_among_many_identical_vectors(
    postgres_url: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 distinct vectors, each held 400 times (by u1 one time in four): an HNSW graph over the
    rows closes each vector's copies in among themselves (pgvector keeps ten rows per graph element
    and 32 neighbours on its lowest layer: 40 elements of one vector fill each other's lists), and
    found 0.23 of the exact top-10 on bench/scale.py's store. The index holds each distinct vector
    once (``vector_points``), so the approximate path returns the exact ranking, ties included,
    without falling back to the exact scan."""
    store = open_store(postgres_url)
    assert isinstance(store, PostgresStore)
    space = VectorSpace(embedder.id, embedder.dim)
    rng = np.random.default_rng(11)
    distinct = _vectors_held_400_times(store, space, rng)
    assert _points(postgres_url) == 20
    scope = Scope(tenant="default", user_id="u1")
    for query in (distinct[3] + rng.normal(0, 0.3, embedder.dim), rng.normal(0, 1, embedder.dim)):
        exact = store.vectors.search(scope, space, query.astype(np.float32), 10)
        store.vectors.exact_limit = 0
        with monkeypatch.context() as patched:
            patched.setattr(PostgresVectors, "_exact", lambda *a: pytest.fail("fell back to the exact scan"))
            approximate = store.vectors.search(scope, space, query.astype(np.float32), 10)
        store.vectors.exact_limit = PostgresVectors.exact_limit
        assert [i for i, _ in approximate] == [i for i, _ in exact] and len(exact) == 10
    store.close()


def test_the_hnsw_path_reads_only_the_scopes_rows_of_each_point(
    postgres_url: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 distinct vectors, each held 400 times, by u1 one time in four: the approximate path
    reads a point's rows of u1 only (``vectors_point`` ends with the user, migration 0018), not
    every row holding the vector, each looked up in ``items`` to be dropped there (on
    bench/scale.py's 1.1M-turn store ~320 rows a vector, ~23 of them the 100k-turn user's: the
    cost grew with the tenant). The statement the search ran, explained: no row of ``vectors``
    read that ``items`` then drops, and the same ranking as the exact scan."""
    store = open_store(postgres_url)
    assert isinstance(store, PostgresStore)
    space = VectorSpace(embedder.id, embedder.dim)
    rng = np.random.default_rng(11)
    distinct = _vectors_held_400_times(store, space, rng)
    scope = Scope(tenant="default", user_id="u1")
    query = (distinct[3] + rng.normal(0, 0.3, embedder.dim)).astype(np.float32)
    exact = store.vectors.search(scope, space, query, 10)
    ran: list[tuple[str, list[object]]] = []
    execute = psycopg.Connection.execute

    def recording(self: psycopg.Connection[object], query: object, params: object = None, **kw: object) -> object:
        text = query.decode() if isinstance(query, bytes) else str(query)
        if "FROM vector_points p" in text:
            ran.append((text, list(params or [])))  # type: ignore[call-overload]
        return execute(self, query, params, **kw)  # type: ignore[arg-type]

    store.vectors.exact_limit = 0  # through the HNSW index
    with monkeypatch.context() as patched:
        patched.setattr(psycopg.Connection, "execute", recording)
        approximate = store.vectors.search(scope, space, query, 10)
    assert [i for i, _ in approximate] == [i for i, _ in exact] and len(ran) == 1
    with store.vectors._db.tx("default") as conn:
        conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
        conn.execute("SET LOCAL enable_seqscan = off")  # small tables: the plan of a large one
        plan = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {ran[0][0]}".encode(), ran[0][1]).fetchone()
    assert plan is not None

    def nodes(node: dict[str, object]) -> list[dict[str, object]]:
        return [node, *(n for child in node.get("Plans", []) for n in nodes(child))]  # type: ignore[attr-defined]

    scans = nodes(plan[0][0]["Plan"])
    read = [n for n in scans if n.get("Relation Name", "").startswith("vectors")]  # type: ignore[attr-defined]
    assert read and all("user_id" in str(n.get("Index Cond", "")) for n in read), read
    assert sum(int(n.get("Rows Removed by Filter", 0)) for n in scans) == 0  # type: ignore[call-overload]
    store.close()


def test_a_store_from_before_the_vectors_users_ranks_as_before(postgres_url: str, embedder: Embedder) -> None:
    """A store written before ``0018_vector_users`` (no user on ``vectors``, the index by point
    alone, no record) opens with each row's user filled from its item and ranks as before, both
    paths, scope by scope."""
    store = open_store(postgres_url)
    assert isinstance(store, PostgresStore)
    space = VectorSpace(embedder.id, embedder.dim)
    rng = np.random.default_rng(5)
    distinct = rng.normal(0, 1, (12, embedder.dim)).astype(np.float32)
    rows = np.tile(distinct, (30, 1))
    for n, user in enumerate(("u1", "u2", "u3")):
        _write_vectors(store, space, user, rows[n::3])
    queries = [(distinct[2] + rng.normal(0, 0.3, embedder.dim)).astype(np.float32) for _ in range(3)]
    scopes = [Scope(tenant="default", user_id=u) for u in ("u1", "u2")] + [Scope(tenant="default", user_id=None)]

    def ranked(store: PostgresStore) -> list[list[list[tuple[str, float]]]]:
        out = []
        for limit in (PostgresVectors.exact_limit, 0):
            store.vectors.exact_limit = limit
            out.append([store.vectors.search(scope, space, q, 7) for scope in scopes for q in queries])
        return out

    before = ranked(store)
    store.close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        conn.execute("DROP INDEX vectors_point")
        conn.execute("ALTER TABLE vectors DROP COLUMN user_id")
        conn.execute("CREATE INDEX vectors_point ON vectors (tenant, space, point)")
        conn.execute("DELETE FROM schema_migrations WHERE name = '0018_vector_users'")
    store = open_store(postgres_url)
    assert isinstance(store, PostgresStore)
    assert ranked(store) == before
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE v.user_id = i.user_id) FROM vectors v"
            " JOIN items i ON i.tenant = v.tenant AND i.id = v.item_id"
        ).fetchone()
    assert row is not None and row[0] == row[1] == 360
    store.close()


def test_a_vector_leaves_the_points_with_the_last_item_holding_it(postgres_url: str, embedder: Embedder) -> None:
    """Forgetting an item takes its vector out of the HNSW index's table too, unless another item
    holds the same vector (no strata: only the turns hold vectors)."""
    config = MemoryConfig(store=postgres_url, strata={"on_add": False})
    with Memory(config=config, embedder=embedder) as m:
        m.add([{"name": "Ana", "content": "Same words."}], user_id="u1", session_id="s1")
        m.add([{"name": "Ana", "content": "Same words."}], user_id="u2", session_id="s1")
        m.add([{"name": "Ana", "content": "Other words."}], user_id="u1", session_id="s2")
        held = _points(postgres_url)
        same = [i for i in m.list(user_id="u1", level="turn") if i.text.endswith("Same words.")]
        other = [i for i in m.list(user_id="u1", level="turn") if i.text.endswith("Other words.")]
        m.delete(same[0].id, user_id="u1")
        assert _points(postgres_url) == held  # u2 still holds that vector
        m.delete(other[0].id, user_id="u1")
        assert _points(postgres_url) == held - 1


def test_a_point_stays_while_a_writer_adds_its_vector_as_its_last_holder_goes(
    postgres_url: str, embedder: Embedder
) -> None:
    """A write adding a vector (not committed yet) and a delete of the last item holding that same
    vector: the delete waits for the write's lock on the point, then sees its row and keeps the
    point (before, it dropped the point and the write committed a row the index could not find)."""
    config = MemoryConfig(store=postgres_url, strata={"on_add": False})
    with Memory(config=config, embedder=embedder) as m:
        [held] = m.add([{"name": "Ana", "content": "Same words."}], user_id="u1", session_id="s1")
        store = m.store
        assert isinstance(store, PostgresStore)
        space = store.vectors.active_space()
        assert space is not None
        vector = store.vectors.vectors_for(Scope(tenant="default", user_id="u1"), space, [held])[held]
        written, release, dropped = threading.Event(), threading.Event(), threading.Event()

        def write() -> None:
            with store.connections.tx("default") as conn:
                PostgresVectors.insert_rows(conn, "default", space, [("t_copy", np.asarray(vector))], ["u1"])
                written.set()
                assert release.wait(30)

        def drop() -> None:
            with store.connections.tx("default") as conn:
                drop_items(conn, store.lexical, "default", [held])
            dropped.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert written.wait(30)
        dropper = threading.Thread(target=drop)
        dropper.start()
        assert not dropped.wait(1.0)  # waiting for the writer's lock on the point
        release.set()
        writer.join(30)
        dropper.join(30)
        assert dropped.is_set()
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {SCHEMA}.vectors v WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA}.vector_points p"
            " WHERE p.tenant = v.tenant AND p.space = v.space AND p.point = v.point)"
        ).fetchone()
    assert row is not None and row[0] == 0
    assert _points(postgres_url) == 1


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
        space = m.store.vectors.active_space()
        assert space is not None
        with pytest.raises(ConfigError, match="BYPASSRLS"):  # it could not see the other tenants' vectors
            m.store.vectors.activate(space)
    assert _count_as_app(url, "default") > 0 and _count_as_app(url, "other") == 0
    # a bulk command naming its tenant needs no listing of every tenant (which such a role may not do)
    done = run_cli("rebuild", "--tenant", "default", env={"OUTCROP_DB": url})
    assert "default" in done.stdout
    typo = run_cli("rebuild", "--tenant", "defualt", env={"OUTCROP_DB": url}, check=False)
    assert typo.returncode == 2 and typo.stderr.strip() == "error: the store holds no tenant 'defualt'"


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


# -- the connection pool ----------------------------------------------------------------------
def test_many_threads_share_a_pool_smaller_than_their_number(postgres_url: str, embedder: Embedder) -> None:
    """16 threads add and search at once through one ``Memory`` whose store has 4 connections:
    every call waits its turn for a connection, none fails, and every write is there."""
    threads, rounds = 16, 3
    with _memory(postgres_url, embedder) as m:
        store = m.store
        assert isinstance(store, PostgresStore)
        store.connections.pool.resize(min_size=1, max_size=4)
        m.add(TURNS, user_id="shared", session_id="s1", timestamp="2024-03-10T10:00:00")
        start = threading.Barrier(threads)

        def work(n: int) -> int:
            start.wait()
            found = 0
            for r in range(rounds):
                m.add(
                    [{"name": "Ana", "content": f"Thread {n}, round {r}: I practised the piano for {r + 1} hours."}],
                    user_id=f"u{n}",
                    session_id="s1",
                    timestamp=f"2024-03-1{r}T10:00:00",
                )
                found += len(m.search("How long did Ana practise the piano?", user_id=f"u{n}", limit=5))
                top = m.search("What is the name of Ben's puppy?", user_id="shared", limit=3)
                assert "Biscuit" in top[0].text
            return found

        with ThreadPoolExecutor(threads) as pool:
            found = list(pool.map(work, range(threads)))
        assert all(found)
        for n in range(threads):
            counts = m.stats(user_id=f"u{n}")["counts"]
            assert (counts["turn"], counts["log"]) == (rounds, rounds)
        everyone = store.records.count(Scope(tenant="default", user_id=None))
        assert (everyone["turn"], everyone["log"]) == (threads * rounds + 3, threads * rounds + 3)
        assert store.connections.pool.get_stats()["pool_size"] <= 4


def test_a_transaction_inside_another_reuses_its_connection(postgres_url: str) -> None:
    """With a pool of one, a nested ``tx`` must not wait for a second connection: it is a savepoint
    of the outer one, with its own tenant for its part only, rolled back alone when it fails."""
    store = PostgresStore(postgres_url, pool_size=1, pool_timeout=2)
    try:
        db = store.connections
        with db.tx("acme") as outer:
            with db.tx("globex") as inner:
                assert inner is outer
                assert outer.execute("SELECT current_setting(%s)", [TENANT_SETTING]).fetchone() == ("globex",)
            assert outer.execute("SELECT current_setting(%s)", [TENANT_SETTING]).fetchone() == ("acme",)
            outer.execute(f"INSERT INTO {SCHEMA}.scope_speakers VALUES ('acme', 'u1', 'Ana')")
            with pytest.raises(StoreError, match="write rejected"), db.tx("acme") as again:
                again.execute(f"INSERT INTO {SCHEMA}.scope_speakers VALUES ('acme', 'u1', 'Ben')")
                again.execute(f"INSERT INTO {SCHEMA}.scope_speakers VALUES ('acme', 'u1', 'Ben')")
            assert outer.execute("SELECT current_setting(%s)", [TENANT_SETTING]).fetchone() == ("acme",)
        assert store.records.speakers(Scope(tenant="acme", user_id="u1")) == ["Ana"]
    finally:
        store.close()


def test_a_search_is_one_read_only_transaction_and_leaves_its_connection_read_write(
    postgres_url: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search reads in one transaction, the active space's check included (it had one of its
    own: four round trips), begun REPEATABLE READ, READ ONLY in its BEGIN; the pooled connection
    then serves writes again (a pool of one: the same connection)."""
    config = MemoryConfig(store=postgres_url, tenant="acme", postgres_pool_size=1, strata={"on_add": False})
    with Memory(config=config, embedder=embedder) as memory:
        memory.add(TURNS, user_id="u1", session_id="s1")
        begins: list[tuple[object, object]] = []
        opened = psycopg.Connection.transaction

        def counted(conn: psycopg.Connection[object], *args: object, **kwargs: object) -> object:
            begins.append((conn.isolation_level, conn.read_only))
            return opened(conn, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(psycopg.Connection, "transaction", counted)
        assert memory.search("Where did Ana move?", user_id="u1", limit=3)[0].text.endswith("Lisbon last month.")
        assert begins == [(psycopg.IsolationLevel.REPEATABLE_READ, True)]
        monkeypatch.setattr(psycopg.Connection, "transaction", opened)
        memory.add("Ben's puppy chewed a shoe.", user_id="u1", session_id="s1")  # read-write again
        assert memory.store.records.count(Scope(tenant="acme", user_id="u1"))["turn"] == 4


def test_a_pool_with_no_free_connection_fails_clearly(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, pool_size=1, pool_timeout=0.5)
    try:
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with store.connections.tx("acme"):
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert held.wait(10)
            with pytest.raises(StoreError, match=r"no PostgreSQL connection free within 0\.5s: all 1 "):
                store.records.count(Scope(tenant="acme"))
        finally:
            release.set()
            holder.join()
        assert store.records.count(Scope(tenant="acme"))["log"] == 0  # the connection came back
    finally:
        store.close()
    with pytest.raises(StoreError, match="closed"):
        store.records.count(Scope(tenant="acme"))


# -- iter_items -------------------------------------------------------------------------------
def _item(n: int, when: datetime | None, level: Level = Level.TURN, speaker: str = "Ana") -> Item:
    return Item(
        id=f"t_{n:03d}",
        level=level,
        scope=Scope(tenant="acme", user_id="u1", session_id="s1"),
        text=f"Note {n}",
        speaker=speaker,
        timestamp=when,
        sources=[f"l_{n:03d}", "l_shared"],
        producer="test",
        recorded_at=datetime(2024, 1, 1),
    )


def test_iter_items_reads_every_item_in_list_order_page_by_page(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Undated items first (in write order), then by time with ties in write order, exactly as
    ``list_items`` orders them, across pages that start among the undated items and inside a run
    of equal timestamps; no connection is held between pages (a pool of one still serves others)."""
    day = datetime(2024, 3, 10, 10)
    whens = [day, None, day, None, day - timedelta(days=1), None, day, day + timedelta(hours=1), None, day]
    items = [
        _item(n, when, Level.FACT if n % 3 == 0 else Level.TURN, "Ben" if n % 2 else "Ana")
        for n, when in enumerate(whens)
    ]
    items.reverse()  # write order (seq) differs from id order
    store = PostgresStore(postgres_url, pool_size=1, pool_timeout=2)
    try:
        store.records.write(WriteBatch(items=items))
        scope = Scope(tenant="acme", user_id="u1")
        everything = store.records.list_items(scope, limit=10_000)
        assert everything[0].timestamp is None and len(everything) == len(items)
        for page_size in (1, 2, 3, 4, 500):
            monkeypatch.setattr(records_module, "_PAGE", page_size)
            assert list(store.records.iter_items(scope)) == everything
            turns = store.records.list_items(scope, levels=[Level.TURN], limit=10_000)
            assert list(store.records.iter_items(scope, levels=[Level.TURN])) == turns
            bens = SearchFilters(speakers=("ben",))
            assert list(store.records.iter_items(scope, filters=bens)) == store.records.list_items(
                scope, filters=bens, limit=10_000
            )
        monkeypatch.setattr(records_module, "_PAGE", 3)
        pages = store.records.iter_items(scope)
        first = next(pages)
        assert first.sources == sorted([first.sources[0], "l_shared"])
        assert store.records.count(scope)["turn"] == sum(i.level is Level.TURN for i in items)  # between pages
        assert [first, *pages] == everything
        assert list(store.records.iter_items(Scope(tenant="acme", user_id="nobody"))) == []
    finally:
        store.close()


Frequencies = dict[str, tuple[int, int]]


def _stats_and_recount(
    conn: psycopg.Connection[tuple[object, ...]], tenant: str
) -> tuple[tuple[object, ...] | None, tuple[object, ...] | None]:
    """(kept, recounted): the tenant's ``lexical_stats`` row (documents and tokens per field) and
    the same counted from its items."""
    stats = conn.execute(
        f"SELECT own_docs, own_tokens, ctx_docs, ctx_tokens FROM {SCHEMA}.lexical_stats WHERE tenant = %s", [tenant]
    ).fetchone()
    counted = conn.execute(
        "SELECT count(*) FILTER (WHERE lex_own IS NOT NULL), sum(own_len),"
        f" count(*) FILTER (WHERE lex_context <> ''), sum(ctx_len) FROM {SCHEMA}.items WHERE tenant = %s",
        [tenant],
    ).fetchone()
    return stats, counted


def _term_frequencies(
    conn: psycopg.Connection[tuple[object, ...]], tenant: str, table: str = "lexical_terms"
) -> tuple[Frequencies, Frequencies]:
    """(kept, recounted): the tenant's ``lexical_terms`` rows (``lexical_pairs``: its adjacent
    lexeme pairs') and the same counted from its items."""
    key, rows_of = ("lexeme", "unnest") if table == "lexical_terms" else ("pair", f"{SCHEMA}.tsvector_pairs")
    kept: Frequencies = {
        str(r[0]): (int(str(r[1])), int(str(r[2])))
        for r in conn.execute(f"SELECT {key}, own_df, ctx_df FROM {SCHEMA}.{table} WHERE tenant = %s", [tenant])
    }
    recounted: Frequencies = {}
    for field, column in ((0, "own_tsv"), (1, "ctx_tsv")):
        for lexeme, df in conn.execute(
            f"SELECT u.k, count(*) FROM {SCHEMA}.items i, {rows_of}(i.{column}) u(k) WHERE i.tenant = %s GROUP BY 1",
            [tenant],
        ):
            pair = list(recounted.get(str(lexeme), (0, 0)))
            pair[field] = int(str(df))
            recounted[str(lexeme)] = (pair[0], pair[1])
    return kept, recounted


def test_term_frequencies_kept_on_write_match_a_recount_and_forget_leaves_no_row(
    postgres_url: str, embedder: Embedder
) -> None:
    """Searches read each word's document frequency from ``lexical_terms`` (kept by the writes)
    instead of counting documents: after adds, an update, a delete and a forget it must equal a
    recount, and a forgotten word must leave no row behind."""
    with _memory(postgres_url, embedder, "acme") as m, _memory(postgres_url, embedder, "other") as other:
        ids = m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        other.add("Biscuit the puppy from the other tenant.", user_id="u9")
        m.add([{"name": "Ana", "content": "My cousin Quetzalina visits in June."}], user_id="u1", session_id="s2")
        m.update(ids[2], "I play the cello every evening now.", user_id="u1")
        m.delete(ids[0], user_id="u1")
        [quetzalina] = [h.id for h in m.list(user_id="u1", level="turn", limit=50) if "Quetzalina" in h.text]
        m.forget([quetzalina], user_id="u1")
        top = m.search("puppy Biscuit", user_id="u1", limit=1)
        assert top and "puppy" in top[0].text
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SELECT set_config(%s, 'acme', false)", [TENANT_SETTING])
        kept, recounted = _term_frequencies(conn, "acme")
        assert kept == recounted and "piano" not in kept and "cello" in kept
        assert not [lexeme for lexeme in kept if lexeme.startswith("quetzalin")]


def _filenodes(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r'",
            [SCHEMA],
        ).fetchall()
    return {name: node for name, node in rows}


def test_a_forget_rewrites_its_tenants_partitions_only(postgres_url: str, embedder: Embedder) -> None:
    """The scrub's ``VACUUM FULL`` is of the partitions that hold the tenant (a new file for each),
    never of the other partitions: a forget costs its tenant's share of the store. A forget
    without a scrub leaves one due, which the next open completes."""
    with _memory(postgres_url, embedder) as m:
        ids = m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        before = _filenodes(postgres_url)
        receipt = m.forget([ids[1]], user_id="u1")
        assert receipt.ok and receipt.scrub["bytes_gone"] is True
        rewritten = set(receipt.scrub["vacuumed_full"])
        after = _filenodes(postgres_url)
        assert {name for name in before if after[name] != before[name]} == rewritten
        assert len({name.rsplit("_p", 1)[1] for name in rewritten}) == 1  # one remainder of the hash
        assert "items_p0" in before and len(rewritten) < len(before) / 2
        assert not m.store.maintenance.scrub_due("default")
        assert m.forget([ids[2]], user_id="u1", scrub=False).scrub == {}
        assert m.store.maintenance.scrub_due("default")
        assert not m.store.maintenance.scrub_due("other")  # a mark per tenant
    with _memory(postgres_url, embedder) as reopened:
        assert not reopened.store.maintenance.scrub_due("default")


def test_batched_writes_keep_statistics_equal_to_a_recount_across_sessions_and_batches(
    postgres_url: str, embedder: Embedder
) -> None:
    """A batch's rows go in one statement per table: the document frequencies and the tenant's
    document and token counts must still equal a recount after adds that re-index earlier turns of
    the same session (their context gains the new neighbours), a batch ingest of many sessions, an
    update and a delete."""
    with _memory(postgres_url, embedder, "acme") as m:
        ids = m.add(TURNS, user_id="u1", session_id="s1", timestamp="2024-03-10T10:00:00")
        m.add([{"name": "Ben", "content": "Biscuit chewed my piano bench."}], user_id="u1", session_id="s1")
        m.add(TURNS[:2], user_id="u2")  # no session: no positions, no neighbours
        m.engine.add_many(
            PendingAdd(
                Scope(tenant="acme", user_id=f"u{n % 3}", session_id=f"b{n}"),
                [IncomingTurn("user", t["name"], t["content"], None) for t in turns],
            )
            for n, turns in enumerate([TURNS, TURNS[::-1], [{"name": "Ana", "content": "Quiet day, no news."}]])
        )
        m.update(ids[1], "I adopted a kitten named Miso.", user_id="u1")
        m.delete(ids[0], user_id="u1")
    with psycopg.connect(postgres_url) as conn:
        conn.execute("SELECT set_config(%s, 'acme', false)", [TENANT_SETTING])
        kept, recounted = _term_frequencies(conn, "acme")
        assert kept == recounted and "biscuit" in kept and "miso" in kept
        # the adjacent pairs too: the earlier turns re-indexed for their new neighbours change
        # their context's pairs by the net difference only (PostgresLexical.put_many)
        pairs, recounted_pairs = _term_frequencies(conn, "acme", "lexical_pairs")
        assert pairs == recounted_pairs and any(p.startswith("biscuit ") for p in pairs)
        stats, counted = _stats_and_recount(conn, "acme")
        assert stats == counted and counted is not None and counted[2] > 0


def test_a_replaced_items_document_leaves_the_statistics_of_a_recount(postgres_url: str) -> None:
    """A strata plan writes an episode or topic again under its id (``WriteBatch.replaces``): the
    old document's lexemes and pairs are netted with the new one's in one upsert per table
    (``PostgresLexical.take_out``), so a word both hold is not written; the frequencies, pairs and
    counts must equal a recount after replacements that keep, add, drop and move words between
    fields, and a word no document holds any more must leave no row."""
    store = PostgresStore(postgres_url)
    try:
        scope = Scope(tenant="acme", user_id="u1")
        space = VectorSpace("test-space", 4)
        versions = [
            ("Caroline painted a sunrise over the lake", "Melanie went hiking"),
            ("Caroline painted a sunrise over the quiet lake", "Melanie went hiking with Zyxwort"),
            ("Melanie went hiking", ""),  # the context's words move to the own field
            ("Caroline painted a sunrise", "a lake"),
        ]
        item_id = new_id("e")
        for n, (own, context) in enumerate(versions):
            item = Item(id=item_id, level=Level.EPISODE, scope=scope, text=own, producer="test", recorded_at=now())
            other = Item(id=new_id("t"), level=Level.TURN, scope=scope, text=f"turn {n} lake", producer="test")
            other.recorded_at = now()
            store.records.write(
                WriteBatch(
                    items=[item, other],
                    lexical={item_id: LexicalDocument(own, context), other.id: LexicalDocument(other.text, "")},
                    vectors={item_id: np.ones(4, dtype=np.float32), other.id: np.ones(4, dtype=np.float32)},
                    space=space,
                    replaces=[item_id] if n else [],
                )
            )
            with psycopg.connect(postgres_url) as conn:
                conn.execute("SELECT set_config(%s, 'acme', false)", [TENANT_SETTING])
                for table in ("lexical_pairs", "lexical_terms"):
                    kept, recounted = _term_frequencies(conn, "acme", table)
                    assert kept == recounted, (n, table)
                stats, counted = _stats_and_recount(conn, "acme")
                assert stats == counted
        assert not [k for k in kept if k.startswith("zyxwort")] and "sunris" in kept
    finally:
        store.close()


def test_a_batchs_vectors_are_stored_exactly_and_in_the_batchs_order(postgres_url: str, embedder: Embedder) -> None:
    """The batch's vectors travel as one binary ``real[]``, each row its slice: every vector must
    come back bit for bit, and ``seq`` (which breaks the exact search's ties) follow the batch."""
    rng = np.random.default_rng(7)
    store = PostgresStore(postgres_url)
    try:
        space = VectorSpace("test-space", 8)
        scope = Scope(tenant="acme", user_id="u1")
        at = now()
        items = [
            Item(id=new_id("t"), level=Level.TURN, scope=scope, text=f"turn {n}", producer="test", recorded_at=at)
            for n in range(5)
        ]
        vectors = {item.id: rng.standard_normal(8).astype(np.float32) for item in items}
        store.records.write(WriteBatch(items=items, vectors=vectors, space=space))
        got = store.vectors.vectors_for(scope, space, [item.id for item in items])
        assert all(np.array_equal(got[i], v) for i, v in vectors.items())
        with store.connections.tx("acme") as conn:
            ordered = [r[0] for r in conn.execute("SELECT item_id FROM vectors WHERE tenant = 'acme' ORDER BY seq")]
        assert ordered == [item.id for item in items]
    finally:
        store.close()


def test_writers_of_two_tenants_hold_the_vector_space_check_together(postgres_url: str) -> None:
    """A write checks the active vector space under a lock that keeps a switch of the space out:
    the lock taken before conflicted with itself, so every write of the store waited for the one
    before to commit. One tenant's open write must not hold up another tenant's."""
    store = PostgresStore(postgres_url)
    try:
        space = VectorSpace("test-space", 8)
        store.vectors.ensure_active(space)
        holding, release = threading.Event(), threading.Event()

        def first() -> None:
            with store.connections.tx("a") as conn:
                store.vectors.ensure_space(conn, space)
                holding.set()
                release.wait(30)

        thread = threading.Thread(target=first)
        thread.start()
        try:
            assert holding.wait(30)
            started = time.monotonic()
            with store.connections.tx("b") as conn:
                conn.execute("SET LOCAL lock_timeout = '5s'")
                store.vectors.ensure_space(conn, space)  # raised on lock_timeout before
            assert time.monotonic() - started < 5
        finally:
            release.set()
            thread.join()
    finally:
        store.close()


def test_a_small_scopes_exact_search_reads_its_items_once_on_a_database_never_analysed(postgres_url: str) -> None:
    """On a database no ``ANALYZE`` has reached yet (a new store, before autovacuum's first pass:
    switched off here for its tables), the exact search of a small scope (the linker's: a user's
    facts among the tenant's vectors), and the read of some of its stored vectors, read the scope's
    items once, not once per vector of the tenant: counted in the search's own transaction (``pg_stat_xact_user_tables``; a transaction
    inside another is a savepoint of its connection). The ranking is the exact one."""
    rng = np.random.default_rng(17)
    store = PostgresStore(postgres_url)
    try:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            for table in ("items", "vectors"):
                for (part,) in admin.execute(
                    "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
                    [f"{SCHEMA}.{table}"],
                ).fetchall():
                    admin.execute(f"ALTER TABLE {part} SET (autovacuum_enabled = false)")
        space = VectorSpace("test-space", 16)
        scope = Scope(tenant="acme", user_id="u1")
        facts: dict[str, np.ndarray] = {}
        for user, level in (("u1", Level.TURN), ("u1", Level.FACT), ("u2", Level.FACT)):
            items = [
                Item(
                    id=new_id("f"),
                    level=level,
                    scope=Scope(tenant="acme", user_id=user),
                    text=f"{level.value} {n}",
                    producer="test",
                    recorded_at=now(),
                )
                for n in range(300)
            ]
            vectors = {i.id: rng.standard_normal(16).astype(np.float32) for i in items}
            store.records.write(WriteBatch(items=items, vectors=vectors, space=space))
            if user == "u1" and level is Level.FACT:
                facts = vectors
        queries = [rng.standard_normal(16).astype(np.float32) for _ in range(2)]
        only = SearchFilters(levels=(Level.FACT,))
        with store.connections.tx("acme") as conn:
            found = store.vectors.search(scope, space, queries[0], 10, only)
            both = store.vectors.search_many(scope, space, queries, 10, only)
            stored = store.vectors.vectors_for(scope, space, list(facts)[:40])  # a stage's stored vectors
            (scans,) = conn.execute(
                "SELECT sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)) FROM pg_stat_xact_user_tables"
                " WHERE relname LIKE 'items%'"
            ).fetchone()
            (analysed,) = conn.execute(
                "SELECT count(*) FROM pg_stat_user_tables WHERE (relname LIKE 'items%' OR relname LIKE 'vectors%')"
                " AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"
            ).fetchone()
        assert analysed == 0
        assert scans <= 8, scans  # the scope counted and its ids gathered, a few times; 900 vectors: not per vector
        ids = list(facts)
        matrix = np.stack([facts[i] for i in ids]).astype(np.float64)
        for query, ranked in zip(queries, both, strict=True):
            cosine = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
            assert [i for i, _ in ranked] == [ids[int(n)] for n in np.argsort(-cosine)[:10]]
        assert found == both[0]
        assert list(stored) == list(facts)[:40] and all(np.array_equal(stored[i], facts[i]) for i in stored)
    finally:
        store.close()
