"""SQLite's lexical index keeps each user's documents in one rowid range of its tenant's FTS5
tables (migration 0011), so a user's search scores that user's documents only, while BM25's
statistics stay the tenant's. Checked, bit for bit, against the search as it was before: on the
item-keyed layout, every user's matches scored, the scope applied after (``_before``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outcrop.core.documents import LexicalDocument
from outcrop.core.ids import new_id
from outcrop.core.time import now
from outcrop.core.types import Item, Level, Scope
from outcrop.errors import StoreError
from outcrop.stores.base import ScoredId, SearchFilters, Store, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.schema import LEXICAL_ITEM_BITS, lexical_key
from tests.stores.sqlite.fts5_reference import fts5_search

WORDS = (
    "parrot shelter camping mountain sister lisbon pottery class marathon garden cello vienna bakery"
    " cardamom lighthouse storm tomato fence kayak river museum violin chess winter"
).split()
TENANTS, USERS, PER_USER = ("acme", "globex"), 9, 40
START = datetime(2023, 1, 2)
Query = tuple[Scope, dict[str, float], int, SearchFilters | None, float]


pytestmark = pytest.mark.usefixtures("fold")  # every test each way (conftest.py)


def _item(scope: Scope, n: int, rng: random.Random) -> tuple[Item, LexicalDocument]:
    # every fifth text is one of a few fixed ones: equal scores, ties at every depth
    words = rng.sample(WORDS[:6], 3) if n % 5 == 0 else rng.choices(WORDS, k=rng.randint(4, 12))
    text = " ".join(words)
    speaker = ("Caroline", "Melanie")[n % 2]
    item = Item(
        id=new_id("t"),
        level=Level.TURN,
        scope=scope,
        text=text,
        speaker=speaker,
        timestamp=START + timedelta(days=9 * n),
        recorded_at=now(),
    )
    context = " ".join(rng.choices(WORDS, k=rng.randint(0, 10)))
    return item, LexicalDocument(f"{speaker}: {text}", context)


def _crowd(url: str) -> Store:
    """Two tenants of nine users each, their writes interleaved (rowids mixed across users)."""
    rng = random.Random(17)
    store = open_store(url)
    for n in range(PER_USER):
        for tenant in TENANTS:
            batch = WriteBatch()
            for u in range(USERS):
                agent = "a1" if u % 3 == 0 and n % 2 else None
                scope = Scope(tenant=tenant, user_id=f"user-{u}", agent_id=agent, session_id=f"s{n % 4}")
                item, document = _item(scope, n, rng)
                batch.items.append(item)
                batch.lexical[item.id] = document
            store.records.write(batch)
    return store


QUERIES: list[Query] = [
    (Scope(tenant=t, user_id=u, agent_id=a, session_id=s), terms, k, f, w)
    for t in TENANTS
    for u, a, s in (("user-3", None, None), ("user-0", "a1", None), ("user-7", None, "s2"), (None, None, None))
    for terms in (
        {"parrot": 1.0, "shelter": 1.0},
        {"pottery": 1.0, "camping": 0.5, "storm": 0.25},
        {"lisbon museum": 1.0, "parrot": 0.5, "museum": 0.5},  # a phrase
    )
    for k in (3, 25)
    for f in (None, SearchFilters(since=START + timedelta(days=60), until=START + timedelta(days=250)))
    for w in (0.0, 0.85)
]


def _before(
    db: sqlite3.Connection, scope: Scope, terms: dict[str, float], k: int, filters: Any, cw: float
) -> list[ScoredId]:
    """The search before 0011 (item-keyed tables): its SQL and its arithmetic, ties at a depth
    cut given to the older item (before, to whichever row SQLite's plan read first)."""
    return fts5_search(db, scope, terms, k, filters, cw)


def _back_to_item_keys(path: Path) -> None:
    """The file as it was before 0011: documents keyed by their item's rowid, no user numbers."""
    with sqlite3.connect(path) as db:
        for own, ctx in db.execute("SELECT own, ctx FROM lexical_tables").fetchall():
            for table in (own, ctx):
                rows = db.execute(f"SELECT rowid & {(1 << LEXICAL_ITEM_BITS) - 1}, body FROM {table}").fetchall()
                db.execute(f"DELETE FROM {table}")
                db.executemany(f"INSERT INTO {table}(rowid, body) VALUES (?, ?)", rows)
        db.execute("DROP TABLE lexical_users")
        db.execute("ALTER TABLE lexical_stats DROP COLUMN version")  # 0016's too: made after 0011
        db.execute(
            "DELETE FROM schema_migrations WHERE name IN ('0011_lexical_keys_per_user', '0016_lexical_versions')"
        )


@pytest.fixture
def crowd(tmp_path: Path) -> Iterator[tuple[Path, Store]]:
    path = tmp_path / "memory.db"
    store = _crowd(f"sqlite:///{path}")
    yield path, store
    store.close()


def test_a_users_search_among_many_is_the_search_as_before_and_migrates(crowd: tuple[Path, Store]) -> None:
    path, store = crowd
    found = [store.lexical.search(*q) for q in QUERIES]
    lexical: Any = store.lexical
    lexical.postings_share = 0  # users scored from the kept statistics and postings (test_term_stats.py)
    assert [store.lexical.search(*q) for q in QUERIES] == found
    lexical.large_user = 1  # and every user's whole scope from its postings in memory
    assert [store.lexical.search(*q) for q in QUERIES] == found
    assert lexical.postings.nbytes > 0
    scope = Scope(tenant="acme", user_id=None)
    ids = [i for q, hits in zip(QUERIES, found, strict=True) if q[0].tenant == "acme" for i, _ in hits]
    documents = store.lexical.documents(scope, ids)
    assert all(found) and len(documents) == len(set(ids))
    store.close()
    _back_to_item_keys(path)
    with sqlite3.connect(path) as db:
        assert [_before(db, *q) for q in QUERIES] == found  # the same ids with the same scores, to the last bit
    migrated = open_store(f"sqlite:///{path}")  # 0011 runs on the file as it was written before it
    try:
        assert [migrated.lexical.search(*q) for q in QUERIES] == found
        assert migrated.lexical.documents(scope, ids) == documents
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT part, tenant, number FROM lexical_users ORDER BY tenant, number").fetchall()
        assert [(t, n) for _, t, n in rows] == [(t, n) for t in TENANTS for n in range(1, USERS + 1)]
        assert not any("user" in part for part, _, _ in rows)  # users known by a hash, not a name
    finally:
        migrated.close()


def test_a_users_search_keeps_to_its_scope_and_a_user_without_documents_finds_nothing(
    crowd: tuple[Path, Store],
) -> None:
    _, store = crowd
    terms = dict.fromkeys(WORDS, 1.0)
    for u in range(USERS):
        scope = Scope(tenant="globex", user_id=f"user-{u}")
        hits = store.lexical.search(scope, terms, 1000, None, 0.5)
        assert len(hits) == PER_USER
        assert {i.scope.user_id for i in store.records.get_items(scope, [i for i, _ in hits]).values()} == {f"user-{u}"}
    everyone = store.lexical.search(Scope(tenant="globex", user_id=None), terms, 1000)
    assert len(everyone) == USERS * PER_USER
    assert store.lexical.search(Scope(tenant="globex", user_id="nobody"), terms, 10) == []
    assert store.lexical.search(Scope(tenant="initech", user_id="user-1"), terms, 10) == []


def test_deleted_and_replaced_documents_leave_their_users_range(crowd: tuple[Path, Store]) -> None:
    path, store = crowd
    scope = Scope(tenant="acme", user_id="user-4")
    (gone, _), (changed, _) = store.lexical.search(scope, dict.fromkeys(WORDS, 1.0), 2)
    with sqlite3.connect(path) as db:
        own, ctx = db.execute("SELECT own, ctx FROM lexical_tables WHERE tenant = 'acme'").fetchone()
        rowids = dict(db.execute("SELECT id, rowid FROM items WHERE id IN (?, ?)", (gone, changed)).fetchall())
    store.records.write(WriteBatch(relexical={changed: LexicalDocument("zeppelin")}, tenant="acme"))
    store.records.remove_items(scope, [gone])
    assert [i for i, _ in store.lexical.search(scope, {"zeppelin": 1.0}, 5)] == [changed]
    assert store.lexical.documents(scope, [gone, changed]) == {changed: LexicalDocument("zeppelin")}
    with sqlite3.connect(path) as db:
        mask = (1 << LEXICAL_ITEM_BITS) - 1
        own_keys = [r[0] & mask for r in db.execute(f"SELECT rowid FROM {own}")]
        ctx_keys = [r[0] & mask for r in db.execute(f"SELECT rowid FROM {ctx}")]
    assert own_keys.count(rowids[gone]) == ctx_keys.count(rowids[gone]) == 0
    assert own_keys.count(rowids[changed]) == 1 and ctx_keys.count(rowids[changed]) == 0


def test_keys_stay_within_their_bits() -> None:
    assert lexical_key(3, 5) == 3 << LEXICAL_ITEM_BITS | 5
    with pytest.raises(StoreError):
        lexical_key(1, 1 << LEXICAL_ITEM_BITS)
