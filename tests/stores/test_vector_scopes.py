"""Vector search follows the scope: on both stores a scope's dense ranking is its own (other
tenants' and users' vectors change nothing), and a write through one store instance is seen at
once by another on the same database. On SQLite, a process keeps scope matrices in a cache that
never holds more than its bound, measured with tracemalloc."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.ids import new_id
from outcrop.core.time import now
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import Embedder
from outcrop.stores.base import Store, VectorSpace, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.stores.sqlite import vectors as sqlite_vectors
from outcrop.stores.sqlite.driver import sqlite3

TEXTS = [
    "I adopted a parrot named Zorblax from the shelter.",
    "We went camping in the mountains last weekend.",
    "My sister moved to Lisbon for a design job.",
    "The pottery class meets every Thursday evening.",
    "I finally finished the marathon in under four hours.",
    "Our dog chewed through the garden hose again.",
    "I am learning to play the cello with a teacher from Vienna.",
    "The bakery on the corner sells cardamom buns on Sundays.",
]
QUERY = "Which pet bird did I adopt?"


def _memory(url: str, embedder: Embedder, tenant: str = "acme") -> Memory:
    return Memory(config=MemoryConfig(store=url, tenant=tenant, strata={"on_add": False}), embedder=embedder)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _dense(m: Memory, embedder: Embedder, scope: Scope, query: str = QUERY, k: int = 10) -> list[tuple[str, float]]:
    space = m.store.vectors.active_space()
    assert space is not None
    return m.store.vectors.search(scope, space, embedder.embed([query])[0], k)


def test_a_scopes_dense_ranking_is_unmoved_by_other_scopes(url: str, embedder: Embedder) -> None:
    u1 = Scope(tenant="acme", user_id="u1")
    with _memory(url, embedder) as acme, _memory(url, embedder, "globex") as globex:
        acme.add(TEXTS, user_id="u1", session_id="s1")
        before = _dense(acme, embedder, u1)
        assert len(before) == len(TEXTS) and "Zorblax" in acme.get(before[0][0], user_id="u1").text
        globex.add(TEXTS, user_id="u1")  # the same texts: as close to the query as u1's own
        acme.add([f"{t} (again)" for t in TEXTS], user_id="u2")
        assert _dense(acme, embedder, u1) == before  # the same ids with the same scores
        whole = _dense(acme, embedder, Scope(tenant="acme", user_id=None), k=100)
        owners = {acme.get(i).scope.user_id for i, _ in whole}
        assert len(whole) == 2 * len(TEXTS) and owners == {"u1", "u2"}  # never the other tenant's
        assert _dense(acme, embedder, Scope(tenant="acme", user_id="u1", session_id="s2")) == []


def test_writes_through_one_store_are_seen_at_once_by_another(url: str, embedder: Embedder) -> None:
    scope = Scope(tenant="acme", user_id="u1")
    with _memory(url, embedder) as writer, _memory(url, embedder) as reader:
        ids = writer.add(TEXTS, user_id="u1", session_id="s1")
        assert {i for i, _ in _dense(reader, embedder, scope)} == set(ids)  # the reader now holds the scope
        parrot = ids[0]
        writer.delete(parrot, user_id="u1")
        assert parrot not in dict(_dense(reader, embedder, scope))
        writer.update(ids[1], "I bought a green parrot at the bird market.", user_id="u1")
        assert _dense(reader, embedder, scope)[0][0] == ids[1]  # its new vector, not the camping one
        new = writer.add("A cockatoo now lives with us.", user_id="u1", session_id="s1")[0]
        assert new in dict(_dense(reader, embedder, scope))
        writer.forget([ids[1]], user_id="u1")
        assert ids[1] not in dict(_dense(reader, embedder, scope))
        turns = {i for i, _ in _dense(reader, embedder, scope) if i.startswith("t_")}  # forget re-derived an episode
        assert turns == {*ids[2:], new}


def _items(scope: Scope, texts: list[str]) -> list[Item]:
    return [
        Item(id=new_id("t"), level=Level.TURN, scope=scope, text=t, producer="test", recorded_at=now()) for t in texts
    ]


def _write(store: Store, space: VectorSpace, scope: Scope, vectors: np.ndarray) -> list[str]:
    items = _items(scope, [f"text {n}" for n in range(len(vectors))])
    store.records.write(
        WriteBatch(items=items, vectors={i.id: v for i, v in zip(items, vectors, strict=True)}, space=space)
    )
    return [i.id for i in items]


@pytest.fixture
def many_users(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[str, VectorSpace, np.ndarray]]:
    """A SQLite file holding 12 users of 300 real vectors each (the same texts for every user)."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    vectors = embedder.embed([f"{TEXTS[n % len(TEXTS)]} Note {n}." for n in range(300)])
    space = VectorSpace(embedder.id, embedder.dim)
    store = open_store(url)
    for user in range(12):
        _write(store, space, Scope(tenant="acme", user_id=f"u{user}"), vectors)
    store.close()
    yield url, space, vectors


def test_the_vector_cache_holds_at_most_its_bound(
    many_users: tuple[str, VectorSpace, np.ndarray], embedder: Embedder
) -> None:
    url, space, vectors = many_users
    one_scope = vectors.nbytes  # 300 x 384 float32: 460 KB
    bound = 3 * one_scope + one_scope // 2  # room for three scopes, not four
    store = open_store(url, sqlite_vector_cache_bytes=bound)
    query = embedder.embed([QUERY])[0]
    expected = store.vectors.search(Scope(tenant="acme", user_id="u0"), space, query, 5)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for user in range(12):
            found = store.vectors.search(Scope(tenant="acme", user_id=f"u{user}"), space, query, 5)
            assert [s for _, s in found] == [s for _, s in expected]  # each user's own rows, the same scores
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    reported = store.vectors.cache_bytes  # type: ignore[attr-defined]
    assert 3 * one_scope <= reported <= bound
    assert held <= bound + (256 << 10)  # what the process really holds: the bound, not 12 scopes (5.5 MB)
    assert held >= 2 * one_scope  # and the cache really holds scopes
    assert store.vectors.search(Scope(tenant="acme", user_id="u0"), space, query, 5) == expected  # evicted, reloaded
    store.close()


def test_a_reader_behind_the_kept_removals_reloads_the_scope(
    many_users: tuple[str, VectorSpace, np.ndarray], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, space, _ = many_users
    monkeypatch.setattr(sqlite_vectors, "_KEPT_REMOVALS", 2)
    reader, writer = open_store(url), open_store(url)
    scope = Scope(tenant="acme", user_id="u3")
    query = embedder.embed([QUERY])[0]
    first = reader.vectors.search(scope, space, query, 6)
    gone = [i for i, _ in first[:5]]
    writer.records.remove_items(scope, gone)
    after = reader.vectors.search(scope, space, query, 6)
    assert not set(gone) & {i for i, _ in after} and after[0] == first[5]
    assert reader.vectors.search(scope, space, query, 300) == writer.vectors.search(scope, space, query, 300)
    reader.close()
    writer.close()


def test_a_store_written_before_vector_partitions_opens_and_ranks_as_before(
    many_users: tuple[str, VectorSpace, np.ndarray], embedder: Embedder
) -> None:
    url, space, _ = many_users
    query = embedder.embed([QUERY])[0]
    store = open_store(url)
    expected = store.vectors.search(Scope(tenant="acme", user_id="u5"), space, query, 20)
    store.close()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:  # back to the layout before 0009
        db.execute("DROP INDEX vectors_part")
        db.execute("ALTER TABLE vectors DROP COLUMN part")
        db.execute("DROP TABLE vector_versions")
        db.execute("DROP TABLE vector_removals")
        db.execute("DELETE FROM schema_migrations WHERE name = '0009_vectors_per_scope'")
    store = open_store(url)
    assert store.vectors.search(Scope(tenant="acme", user_id="u5"), space, query, 20) == expected
    store.close()
