"""SQLite keeps each tenant's BM25 statistics on write (``lexical_terms``, ``lexical_stats``,
migration 0015) and scores a user's range from them, so no query walks other users' postings.

Checked here: the kept statistics equal a recount from FTS5's own index (``fts5vocab``) after
adds, replacements, re-derivations, deletes and forgets interleaved across users and tenants;
one tenant's writes never move another tenant's scores; a user's scores are FTS5's ``bm25()``'s,
to the bit, on a tenant holding that user only (phrases and tokenless terms included); a file
written before 0015 gets its statistics when opened. A user's search scores from the postings
when the user is a small share of its tenant; here every user's does (``postings_share = 0``)."""

from __future__ import annotations

import random
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.documents import LexicalDocument
from outcrop.core.ids import new_id
from outcrop.core.time import now
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import Embedder
from outcrop.stores.base import ScoredId, SearchFilters, Store, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.stores.sqlite import lexical as lexical_module
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.packs import BLOCK_BITS, decode
from outcrop.stores.sqlite.schema import LEXICAL_ITEM_BITS, count_lexical_terms
from outcrop.stores.sqlite.tokens import FTS5Tokens
from tests.helpers import STORY, ingest_sessions
from tests.stores.sqlite.fts5_reference import fts5_search

WORDS = (
    "parrot shelter camping mountain sister lisbon pottery class marathon garden cello vienna bakery"
    " cardamom lighthouse storm tomato fence kayak river museum violin chess winter running runs ran"
    " Café cafe naïve sister's o'clock"
).split()
START = datetime(2023, 1, 2)
Stats = tuple[list[tuple[Any, ...]], ...]


pytestmark = pytest.mark.usefixtures("fold")  # every test each way (conftest.py)


def _postings(db: sqlite3.Connection) -> list[tuple[int, int, int, int]]:
    """Every tenant's postings (term, key, own, ctx) as kept: the tail's rows and the packs'."""
    out: list[tuple[int, int, int, int]] = []
    for (own,) in db.execute("SELECT own FROM lexical_tables ORDER BY tenant").fetchall():
        stem = own.removesuffix("_own")
        out += db.execute(f"SELECT term, key, own, ctx FROM {stem}_terms").fetchall()
        for term, number, block, keys, own_counts, ctx_counts in db.execute(f"SELECT * FROM {stem}_packs"):
            offsets, own_freq = decode(keys, own_counts)
            _, ctx_freq = decode(keys, ctx_counts)
            base = (number << LEXICAL_ITEM_BITS) | (block << BLOCK_BITS)
            out += [(term, base + int(o), int(f), int(c)) for o, f, c in zip(offsets, own_freq, ctx_freq, strict=True)]
    return sorted(out)


def _tokenised(db: sqlite3.Connection) -> list[tuple[int, int, int, int]]:
    """The postings every tenant's documents make, tokenised afresh from its FTS5 tables."""
    tokens = FTS5Tokens()
    out: list[tuple[int, int, int, int]] = []
    try:
        for own, ctx in db.execute("SELECT own, ctx FROM lexical_tables").fetchall():
            rows = db.execute(f"SELECT o.rowid, o.body, c.body FROM {own} o LEFT JOIN {ctx} c ON c.rowid = o.rowid")
            for key, own_body, ctx_body in rows.fetchall():
                o, c = tokens.counts([own_body, ctx_body or ""])
                out += [(term, key, o.get(term, 0), c.get(term, 0)) for term in o.keys() | c.keys()]
    finally:
        tokens.close()
    return sorted(out)


def _kept_and_recounted(path: Path) -> tuple[Stats, Stats]:
    """The statistics and postings the writes kept, and the same counted afresh from the FTS5
    tables (in a transaction rolled back: the file is left as it was)."""

    def read(db: sqlite3.Connection) -> Stats:
        return (
            db.execute("SELECT * FROM lexical_terms ORDER BY tenant, term").fetchall(),
            db.execute(
                "SELECT tenant, own_docs, own_tokens, ctx_docs, ctx_tokens FROM lexical_stats ORDER BY tenant"
            ).fetchall(),
        )

    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("BEGIN")
        kept = (*read(db), _postings(db))
        for (tenant,) in db.execute("SELECT tenant FROM lexical_tables").fetchall():
            count_lexical_terms(db, tenant)
        recounted = (*read(db), _tokenised(db))
        db.execute("ROLLBACK")
    return kept, recounted


def _document(rng: random.Random, n: int) -> LexicalDocument:
    words = rng.sample(WORDS[:6], 3) if n % 5 == 0 else rng.choices(WORDS, k=rng.randint(4, 12))
    context = " ".join(rng.choices(WORDS, k=rng.randint(0, 10)))
    return LexicalDocument(("Caroline: ", "Melanie: ")[n % 2] + " ".join(words), context)


def _open(url: str) -> Store:
    store = open_store(url)
    lexical: Any = store.lexical
    lexical.postings_share = 0  # every user's search scored from the kept statistics and postings
    return store


def _write(store: Store, tenant: str, users: int, per_user: int, seed: int) -> list[tuple[Scope, str]]:
    rng = random.Random(seed)
    written: list[tuple[Scope, str]] = []
    for n in range(per_user):
        batch = WriteBatch()
        for u in range(users):
            scope = Scope(tenant=tenant, user_id=f"user-{u}", session_id=f"s{n % 3}")
            document = _document(rng, n)
            item = Item(
                id=new_id("t"),
                level=Level.TURN,
                scope=scope,
                text=document.own,
                timestamp=START + timedelta(days=9 * n),
                recorded_at=now(),
            )
            batch.items.append(item)
            batch.lexical[item.id] = document
            written.append((scope, item.id))
        store.records.write(batch)
    return written


def _fts5(path: Path, scope: Scope, terms: dict[str, float], k: int, filters: Any, cw: float) -> list[ScoredId]:
    """The search with FTS5's own ``bm25()`` (its statistics: the whole tenant's table)."""
    with closing(sqlite3.connect(path)) as db:
        return fts5_search(db, scope, terms, k, filters, cw)


QUERIES: list[tuple[dict[str, float], int, SearchFilters | None, float]] = [
    (terms, k, f, w)
    for terms in (
        {"parrot": 1.0, "shelter": 1.0},
        {"pottery": 1.0, "camping": 0.5, "storm": 0.25},
        {"running": 1.0, "café": 1.0, "naive": 0.5},  # stems and diacritics: one token each, as FTS5 makes them
        {"sister's": 1.0, "lisbon museum": 1.0, "--": 1.0, "cello": 0.3},  # phrases, a term without tokens
    )
    for k in (3, 25)
    for f in (None, SearchFilters(since=START + timedelta(days=60), until=START + timedelta(days=250)))
    for w in (0.0, 0.85)
]


def test_a_single_users_scores_are_fts5s_bm25_to_the_bit(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with closing(_open(f"sqlite:///{path}")) as store:
        _write(store, "acme", 1, 120, seed=3)
        scope = Scope(tenant="acme", user_id="user-0")
        for terms, k, filters, cw in QUERIES:
            found = store.lexical.search(scope, terms, k, filters, cw)
            assert found  # every query matches
            assert found == _fts5(path, scope, terms, k, filters, cw)
            assert (
                store.lexical.search(Scope(tenant="acme", user_id=None), terms, k, filters, cw) == found
            )  # the tenant: FTS5's path


def test_one_tenants_writes_never_move_another_tenants_scores(tmp_path: Path) -> None:
    with closing(_open(f"sqlite:///{tmp_path / 'memory.db'}")) as store:
        _write(store, "acme", 3, 30, seed=1)
        scopes = [Scope(tenant="acme", user_id=f"user-{u}") for u in range(3)] + [Scope(tenant="acme", user_id=None)]
        before = [store.lexical.search(s, t, k, f, w) for s in scopes for t, k, f, w in QUERIES]
        written = _write(store, "globex", 4, 40, seed=2)  # the same words, many more documents
        store.records.write(WriteBatch(relexical={written[0][1]: LexicalDocument("parrot parrot")}, tenant="globex"))
        store.records.remove_items(written[5][0], [written[5][1]])
        assert [store.lexical.search(s, t, k, f, w) for s in scopes for t, k, f, w in QUERIES] == before


def test_kept_statistics_equal_a_recount_through_every_write(tmp_path: Path, embedder: Embedder) -> None:
    """Adds, updates (replace), strata re-derivations, deletes and forgets of two tenants'
    users through ``Memory``, interleaved; after each step the statistics are a recount's."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    strata = {"topic_similarity": 0.4, "refresh_growth": 0.0}
    config = {"store": url, "strata": strata}
    with (
        Memory(config=MemoryConfig(**config), embedder=embedder) as mem,
        Memory(config=MemoryConfig(**config, tenant="acme"), embedder=embedder) as acme,
    ):
        first = ingest_sessions(mem, STORY, "u1")["s1"]
        other = ingest_sessions(acme, STORY, "u1")["s1"]
        ingest_sessions(mem, STORY, "u2")
        ingest_sessions(acme, STORY[:1], "u3")
        kept, recounted = _kept_and_recounted(tmp_path / "memory.db")
        assert kept == recounted and len(kept[1]) == 2 and kept[0]
        mem.update(first[0], "Caroline: I adopted a cockatoo named Zorblax.", user_id="u1")
        acme.delete(other[1], user_id="u1")
        kept, recounted = _kept_and_recounted(tmp_path / "memory.db")
        assert kept == recounted
        mem.forget(first[2:3], user_id="u1", scrub=False)
        acme.forget(user_id="u3", scrub=False)
        mem.forget(user_id="u2", scrub=False)
        kept, recounted = _kept_and_recounted(tmp_path / "memory.db")
        assert kept == recounted
        assert all(row[2] > 0 or row[3] > 0 for row in kept[0])  # a word nobody holds has no row


def test_a_file_written_before_the_statistics_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with closing(_open(f"sqlite:///{path}")) as store:
        for n, tenant in enumerate(("acme", "globex")):
            written = _write(store, tenant, 3, 25, seed=n)
            store.records.remove_items(written[4][0], [written[4][1]])
        scopes = [Scope(tenant=t, user_id=f"user-{u}") for t in ("acme", "globex") for u in range(3)]
        before = [store.lexical.search(s, t, k, f, w) for s in scopes for t, k, f, w in QUERIES]
    kept, _ = _kept_and_recounted(path)
    with closing(sqlite3.connect(path)) as db:  # the file as 0014 left it
        documents = db.execute("SELECT * FROM lexical_docs ORDER BY key").fetchall()
        stems = [own.removesuffix("_own") for (own,) in db.execute("SELECT own FROM lexical_tables ORDER BY tenant")]
        postings = _postings(db)
        assert postings
        for stem in stems:
            db.execute(f"DROP TABLE {stem}_terms")
            db.execute(f"DROP TABLE {stem}_packs")
        db.execute("DROP TABLE lexical_docs")
        db.execute("DROP TABLE lexical_terms")
        db.execute("DROP TABLE lexical_stats")
        db.execute("ALTER TABLE lexical_users DROP COLUMN version")
        db.execute(
            "DELETE FROM schema_migrations WHERE name IN"
            " ('0015_lexical_term_stats', '0016_lexical_versions', '0019_lexical_packs')"
        )
        db.commit()
    with closing(_open(f"sqlite:///{path}")) as store:
        assert [store.lexical.search(s, t, k, f, w) for s in scopes for t, k, f, w in QUERIES] == before
    migrated, recounted = _kept_and_recounted(path)
    assert migrated == kept == recounted
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT * FROM lexical_docs ORDER BY key").fetchall() == documents
        assert _postings(db) == postings
        assert not any(db.execute(f"SELECT 1 FROM {stem}_terms").fetchall() for stem in stems)  # 0019 packed them all


def test_a_file_written_before_the_packs_is_packed_and_ranks_as_before(tmp_path: Path, fold: str) -> None:
    """A file as 0018 left it (every posting a row of ``<stem>_terms``, no packs) opens with
    its postings folded into packs (0019), the same postings and the same ids and scores as
    before; adds, a replacement, deletes and a forget's erase after it keep the postings a
    recount's and the scores FTS5's, through whatever folds the writes make."""
    path = tmp_path / "memory.db"
    with closing(_open(f"sqlite:///{path}")) as store:
        written = _dated(store, "acme", 3, 60, seed=21)
        store.records.remove_items(written[4][0], [written[4][1]])
    with closing(sqlite3.connect(path)) as db:  # back to 0018's layout: the packs' rows unfolded
        stems = [own.removesuffix("_own") for (own,) in db.execute("SELECT own FROM lexical_tables")]
        postings = _postings(db)
        for stem in stems:
            db.execute(f"DELETE FROM {stem}_terms")
            db.executemany(f"INSERT INTO {stem}_terms (term, key, own, ctx) VALUES (?, ?, ?, ?)", postings)
            db.execute(f"DROP TABLE {stem}_packs")
        db.execute("ALTER TABLE lexical_stats DROP COLUMN tail")
        db.execute("DELETE FROM schema_migrations WHERE name = '0019_lexical_packs'")
        db.commit()
    with closing(open_store(f"sqlite:///{path}")) as store:  # the old code's searches: FTS5 scores
        store.lexical.postings_share = store.lexical.large_user = 1 << 40  # type: ignore[attr-defined]
        scopes = [Scope(tenant="acme", user_id=f"user-{u}") for u in range(3)]
        queries = [(t, k, f, w) for t, k, f, w in QUERIES if k == 25]
        before = [store.lexical.search(s, t, k, f, w) for s in scopes for t, k, f, w in queries]
    with closing(_open(f"sqlite:///{path}")) as store:
        lexical: Any = store.lexical
        lexical.large_user = 50
        with closing(sqlite3.connect(path)) as db:
            assert _postings(db) == postings
            assert not any(db.execute(f"SELECT 1 FROM {stem}_terms").fetchall() for stem in stems)
            assert all(db.execute(f"SELECT 1 FROM {stem}_packs").fetchall() for stem in stems)
        assert [store.lexical.search(s, t, k, f, w) for s in scopes for t, k, f, w in queries] == before
        mine = [item_id for scope, item_id in written if scope.user_id == "user-0"]
        _dated(store, "acme", 2, 5, seed=22)
        store.records.write(WriteBatch(relexical={mine[2]: LexicalDocument("parrot parrot 2023 may")}, tenant="acme"))
        store.records.remove_items(scopes[0], mine[5:9])
        store.maintenance.erase(scopes[0], [], mine[10:13])
        for scope in scopes:
            for terms, k, f, w in queries:
                assert store.lexical.search(scope, terms, k, f, w) == _fts5(path, scope, terms, k, f, w)
    kept, recounted = _kept_and_recounted(path)
    assert kept == recounted


def test_a_small_share_of_its_tenant_is_scored_from_the_postings_a_large_one_by_fts5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small share of its tenant is scored from its postings in memory, its whole scope and
    with an agent, session or filter (the postings' packs are not SQL's to read); a large share
    by FTS5's ``bm25()``."""
    path = tmp_path / "memory.db"
    with closing(open_store(f"sqlite:///{path}")) as store:  # the default share: 1/64
        _write(store, "acme", 1, 130, seed=4)  # user-0: 130 documents
        _write(store, "acme", 2, 1, seed=5)  # one more each: user-1 holds 1 of the tenant's 132
        lexical: Any = store.lexical
        paths: list[str] = []
        for name in ("_in_memory",):

            def spy(*args: Any, inner: Any = getattr(lexical, name), name: str = name) -> Any:
                paths.append(name)
                return inner(*args)

            monkeypatch.setattr(lexical, name, spy)
        terms = {"parrot": 1.0, "shelter": 1.0, "cello": 0.5}
        session = Scope(tenant="acme", user_id="user-1", session_id="s0")
        for scope, path_taken in (
            (Scope(tenant="acme", user_id="user-1"), {"_in_memory"}),
            (session, {"_in_memory"}),
            (Scope(tenant="acme", user_id="user-0"), set()),
        ):
            paths.clear()
            found = store.lexical.search(scope, terms, 10, None, 0.85)
            assert found == _fts5(path, scope, terms, 10, None, 0.85)
            assert set(paths) == path_taken


def _dated(store: Store, tenant: str, users: int, per_user: int, seed: int) -> list[tuple[Scope, str]]:
    """Documents of which nine in ten end with a date of one year, as LoCoMo's turns do: the
    year is held by most of the tenant's documents, so its IDF is FTS5's floor (1e-6)."""
    rng = random.Random(seed)
    written: list[tuple[Scope, str]] = []
    for n in range(per_user):
        batch = WriteBatch()
        for u in range(users):
            scope = Scope(tenant=tenant, user_id=f"user-{u}", agent_id=f"agent-{n % 2}", session_id=f"s{n % 3}")
            document = _document(rng, n)
            if n % 10:
                document = LexicalDocument(f"{document.own} ({1 + n % 28} May 2023)", document.context)
            item = Item(
                id=new_id("t"),
                level=Level.TURN,
                scope=scope,
                text=document.own,
                timestamp=START + timedelta(days=n),
                recorded_at=now(),
            )
            batch.items.append(item)
            batch.lexical[item.id] = document
            written.append((scope, item.id))
        store.records.write(batch)
    return written


def test_a_large_users_top_k_from_its_postings_in_memory_is_fts5s_to_the_bit_through_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user of ``large_user`` documents or more is scored from its query terms' postings held in
    memory (``_in_memory``, phrases included), read again after each write of its documents
    (its lexical version moves) and not after another user's: the same ids, ranks and scores as
    FTS5's ``bm25()`` over every term, after deletes, replacements and a forget's erase too."""
    path = tmp_path / "memory.db"
    with closing(open_store(f"sqlite:///{path}")) as store:
        written = _dated(store, "acme", 3, 150, seed=6)
        lexical: Any = store.lexical
        lexical.large_user = 100
        loaded: list[str] = []
        postings = lexical._postings

        def spy(*args: Any) -> Any:
            before = lexical.postings.nbytes, len(lexical.postings._entries)
            out = postings(*args)
            if (lexical.postings.nbytes, len(lexical.postings._entries)) != before:
                loaded.append(args[1])
            return out

        monkeypatch.setattr(lexical, "_postings", spy)
        queries = [
            ({"parrot": 1.0, "2023": 1.0, "may": 1.0}, 10, 0.85),
            ({"pottery": 0.5, "2023": 0.5, "cello": 0.5, "3": 0.5}, 25, 0.0),
            ({"sister": 1.0, "2023": 1.0, "running": 0.3, "storm": 1.0}, 3, 0.85),
            ({"2023": 1.0, "garden": 1.0, "sister's": 1.0, "lisbon museum": 1.0, "--": 1.0}, 10, 0.85),  # phrases
        ]

        def check(reads: bool | None) -> None:
            loaded.clear()
            for user in ("user-0", "user-2"):
                scope = Scope(tenant="acme", user_id=user)
                for terms, k, cw in queries:
                    found = store.lexical.search(scope, terms, k, None, cw)
                    assert found and found == _fts5(path, scope, terms, k, None, cw)
            if reads is not None:
                assert bool(loaded) is reads

        check(True)
        check(False)  # every term's postings held: nothing read again
        removed = [item_id for scope, item_id in written[::7] if scope.user_id == "user-0"]
        store.records.remove_items(Scope(tenant="acme", user_id="user-0"), removed)
        store.records.write(
            WriteBatch(relexical={written[1][1]: LexicalDocument("parrot parrot 2023 may")}, tenant="acme")
        )
        check(True)
        forgotten = [item_id for scope, item_id in written[1::5] if scope.user_id == "user-2"]
        store.maintenance.erase(Scope(tenant="acme", user_id="user-2"), [], forgotten)  # what forget does physically
        check(None)
        store.records.remove_items(Scope(tenant="acme", user_id="user-1"), [written[2][1]])
        loaded.clear()
        check(False)  # another user's write: user-0's and user-2's postings still hold (the IDFs move)


@pytest.mark.parametrize("walk", [4096, 8])
def test_a_large_users_search_with_an_agent_session_or_filter_is_fts5s_to_the_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, walk: int
) -> None:
    """A large user searched with an agent, a session or a filter (the temporal channel's date
    window) is scored from its postings in memory too, FTS5's ``bm25()`` no more: its ranking is
    walked from the head, the items read with the scope's clause, and where few of many scored
    documents pass (``walk`` small: the narrow window) the clause's items are read at once. The
    same ids, ranks and scores as FTS5's ``bm25()`` every way, and the FTS5 path never taken."""
    path = tmp_path / "memory.db"
    monkeypatch.setattr(lexical_module, "_WALK", walk)
    with closing(open_store(f"sqlite:///{path}")) as store:
        _dated(store, "acme", 3, 150, seed=11)
        lexical: Any = store.lexical
        lexical.large_user = 100
        fts5: list[str] = []
        query = lexical._conn.query

        def spy(sql: str, params: Any = ()) -> Any:
            if "bm25(" in sql:
                fts5.append(sql)
            return query(sql, params)

        monkeypatch.setattr(lexical._conn, "query", spy)
        narrow = SearchFilters(since=START + timedelta(days=40), until=START + timedelta(days=47))
        broad = SearchFilters(since=START + timedelta(days=10), until=START + timedelta(days=140))
        queries = [
            ({"parrot": 1.0, "2023": 1.0, "may": 1.0}, 10, 0.85),
            ({"pottery": 0.5, "2023": 0.5, "cello": 0.5}, 3, 0.0),
            ({"sister": 1.0, "2023": 1.0, "sister's": 0.3, "lisbon museum": 1.0}, 25, 0.85),  # phrases
        ]
        for user in ("user-0", "user-2"):
            for scope, filters in [
                (Scope(tenant="acme", user_id=user), narrow),
                (Scope(tenant="acme", user_id=user), broad),
                (Scope(tenant="acme", user_id=user, agent_id="agent-1"), None),
                (Scope(tenant="acme", user_id=user, session_id="s2"), narrow),
                (Scope(tenant="acme", user_id=user), SearchFilters(session_id="s0")),
            ]:
                for terms, k, cw in queries:
                    found = store.lexical.search(scope, terms, k, filters, cw)
                    assert found == _fts5(path, scope, terms, k, filters, cw)
        assert any(
            len(store.lexical.search(Scope(tenant="acme", user_id="user-0"), t, k, narrow, cw)) for t, k, cw in queries
        )
        assert fts5 == []


def test_a_phrase_is_counted_in_its_tenant_once_per_version_and_not_when_the_user_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small share of its tenant with a phrase in its query is scored from its postings and
    the phrase's occurrences in its range (``_in_memory``), not by FTS5's ``bm25()``: the phrase's
    documents in the tenant (its IDF) are counted once per tenant version, and not at all when the
    user's range holds none (its part is then 0 whatever its IDF). Scores are FTS5's to the bit,
    with filters too (the items read before the cut)."""
    path = tmp_path / "memory.db"
    with closing(_open(f"sqlite:///{path}")) as store:
        _write(store, "acme", 4, 40, seed=8)
        lexical: Any = store.lexical
        counted: list[str] = []
        hits = lexical._phrase_hits

        def spy(*args: Any) -> Any:
            before = dict(lexical._phrase_docs)
            out = hits(*args)
            if lexical._phrase_docs != before:  # counted now, not remembered
                counted.append(args[1])
            return out

        monkeypatch.setattr(lexical, "_phrase_hits", spy)
        scope = Scope(tenant="acme", user_id="user-1")
        terms = {"sister's": 1.0, "parrot": 1.0, "museum": 0.5}
        dated = SearchFilters(since=START + timedelta(days=60), until=START + timedelta(days=250))
        for filters in (None, dated):
            assert store.lexical.search(scope, terms, 10, filters, 0.85) == _fts5(path, scope, terms, 10, filters, 0.85)
        assert counted == ["sister's", "sister's"]  # own text and context, each once
        counted.clear()
        assert store.lexical.search(scope, terms, 5, None, 0.0) == _fts5(path, scope, terms, 5, None, 0.0)
        assert counted == []  # the tenant unchanged: its counts held
        nowhere = {"parrot": 1.0, "zorblax quux": 1.0}
        assert store.lexical.search(scope, nowhere, 10, None, 0.85) == _fts5(path, scope, nowhere, 10, None, 0.85)
        assert counted == []  # the user holds no such phrase: not counted
        _write(store, "acme", 1, 1, seed=9)  # the tenant moves on
        assert store.lexical.search(scope, terms, 5, None, 0.0) == _fts5(path, scope, terms, 5, None, 0.0)
        assert counted == ["sister's"]


_OTHER_PROCESS = """
import sys
from outcrop.core.documents import LexicalDocument
from outcrop.core.types import Scope
from outcrop.stores.base import WriteBatch
from outcrop.stores.registry import open_store

store = open_store(sys.argv[1])
try:
    store.records.remove_items(Scope(tenant="acme", user_id="user-0"), [sys.argv[2]])
    store.records.write(WriteBatch(relexical={sys.argv[3]: LexicalDocument("2023 sister cello cello")}, tenant="acme"))
finally:
    store.close()
"""


def test_a_large_users_postings_are_patched_for_the_documents_each_write_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each write of a user's documents journals them under the lexical version it moves to
    (``lexical_changes``): a process holding the user's postings reads those documents' rows
    only, not every query term again, after adds, deletes, a replacement, a forget's erase and a
    second process's writes, and the scores stay FTS5's to the bit. Where the journal no longer
    reaches back (more writes than it keeps since the entry was read) the terms are read whole."""
    path = tmp_path / "memory.db"
    monkeypatch.setattr(lexical_module, "_JOURNALED", 12)
    with closing(open_store(f"sqlite:///{path}")) as store:
        written = _dated(store, "acme", 3, 150, seed=12)
        lexical: Any = store.lexical
        lexical.large_user = 100
        whole: list[str] = []
        patched: list[str] = []
        read = lexical._read

        def spy(found: Any, field: int, term: str, phrase: Any, keys: Any) -> Any:
            (whole if keys is None else patched).append(term)
            return read(found, field, term, phrase, keys)

        monkeypatch.setattr(lexical, "_read", spy)
        user = Scope(tenant="acme", user_id="user-0")
        queries = [
            ({"parrot": 1.0, "2023": 1.0, "may": 1.0}, 10, 0.85),
            ({"sister": 1.0, "2023": 0.5, "cello": 1.0, "sister's": 0.3, "lisbon museum": 1.0}, 25, 0.85),
        ]

        def check() -> tuple[list[str], list[str]]:
            whole.clear()
            patched.clear()
            for terms, k, cw in queries:
                found = store.lexical.search(user, terms, k, None, cw)
                assert found and found == _fts5(path, user, terms, k, None, cw)
            return list(whole), list(patched)

        assert check()[0]  # read whole once
        assert check() == ([], [])  # held
        mine = [item_id for scope, item_id in written if scope.user_id == "user-0"]
        _dated(store, "acme", 1, 3, seed=13)  # adds of user-0
        store.records.remove_items(user, mine[3:9])
        store.records.write(WriteBatch(relexical={mine[1]: LexicalDocument("parrot parrot 2023 may")}, tenant="acme"))
        store.maintenance.erase(user, [], mine[20:22])  # what forget does physically
        reread, patches = check()
        assert reread == [] and patches  # the touched documents only
        assert check() == ([], [])
        done = subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS, f"sqlite:///{path}", mine[30], mine[31]],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        reread, patches = check()  # a second process's writes: journaled in its transactions
        assert reread == [] and patches
        for n in range(13):  # more writes than the journal keeps
            store.records.remove_items(user, [mine[40 + n]])
        reread, _ = check()
        assert reread  # read whole again
        store.records.remove_items(Scope(tenant="acme", user_id="user-1"), [written[1][1]])
        assert check() == ([], [])  # another user's write moves the IDFs only
