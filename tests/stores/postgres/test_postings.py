"""A PostgreSQL user's BM25 scored from its postings in memory (stores/postgres/postings.py): the
score statement's ids and scores to the bit, and never a result from postings a write has made
stale (this process's writes, another process's, deletes, updates, forgets)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level, Scope
from outcrop.providers import Embedder
from outcrop.stores.base import SearchFilters
from outcrop.stores.postgres import postings
from outcrop.stores.postgres.bm25 import normalize as normalize_term
from outcrop.stores.postgres.bm25 import plan_sql
from outcrop.stores.postgres.lexical import PostgresLexical
from outcrop.stores.postgres.postings import LAID_DOCUMENTS, Held, LaidOver, PostingsCache, UserPostings, load_user
from outcrop.stores.postgres.schema import SCHEMA, TENANT_SETTING

SESSIONS = [
    [
        {"name": "Ana", "content": "I moved to Lisbon last month, the piano came with me."},
        {"name": "Ben", "content": "Nice! I adopted a puppy named Biscuit. Biscuit chewed the piano bench."},
        {"name": "Ana", "content": "I play the piano every evening now; piano piano piano."},
        {"name": "Ben", "content": "The piano bench is new, the old piano bench went to Lisbon."},
    ],
    [
        {"name": "Ana", "content": "My cousin visits Lisbon in June 2023, we go to the beach."},
        {"name": "Ben", "content": "Biscuit loves the beach and the bench by the beach."},
        {"name": "Ana", "content": "In June I paint sunrises; painting calms me."},
    ],
    [
        {"name": "Ben", "content": "Running club on Sunday, then painting at the studio."},
        {"name": "Ana", "content": "Sunday is piano day. Running is Ben's thing, not mine."},
        {"name": "Ben", "content": "Ana's piano, Ana's bench, Ben's dog: Ana's piano bench is Ben's now."},
        {"name": "Ana", "content": "The old piano bench, the old piano bench, the old piano."},
    ],
]

QUERIES: list[dict[str, float]] = [
    {"piano": 1.0},
    {"piano": 1.0, "bench": 1.0, "lisbon": 1.0},
    {"piano bench": 1.0, "biscuit": 1.0},  # a phrase beside a word
    {"beach": 1.0, "june": 0.5, "2023": 0.5},  # weighted groups
    {"painting": 1.0, "paint": 0.25, "sunrise": 0.25},  # one lexeme in two groups
    {"ana": 1.0, "ben": 1.0},  # a name in most documents
    {"running club": 1.0, "sunday": 0.3},
    {"quetzal": 1.0},  # no document
    {"ben's": 1.0, "thing": 0.5},  # a possessive: the phrase "ben s"
    {"ana's piano": 1.0, "ben's dog": 1.0, "piano": 0.25},  # possessive phrases of three lexemes
    {"the old piano bench": 1.0, "old piano": 0.5},  # four lexemes, overlapping occurrences
    {"piano piano piano": 1.0, "piano piano": 1.0},  # one lexeme repeated: occurrences overlap
    {"bench piano": 1.0, "piano the bench": 1.0, "biscuit": 1.0},  # pairs in no document: df 0
]


def _memory(url: str, embedder: Embedder, cache: int = 1 << 26) -> Memory:
    config = MemoryConfig(store=url, postgres_postings_cache_bytes=cache, strata={"on_add": False})
    return Memory(config=config, embedder=embedder)


def _lexical(memory: Memory) -> PostgresLexical:
    lexical = memory.store.lexical
    assert isinstance(lexical, PostgresLexical)
    return lexical


def _fill(memory: Memory, user: str) -> list[str]:
    ids: list[str] = []
    for n, turns in enumerate(SESSIONS):
        ids += memory.add(turns, user_id=user, session_id=f"s{n}", timestamp=f"2023-0{n + 4}-10T10:00:00")
    return ids


def _both(lexical: PostgresLexical, *a: Any, **kw: Any) -> tuple[list[Any], list[Any]]:
    """The call scored by the statement (the cache off), then from memory (held first)."""
    bound = lexical.postings.max_bytes
    lexical.postings.max_bytes = 0
    statement = lexical.search(*a, **kw)
    lexical.postings.max_bytes = bound
    lexical.search(*a, **kw)  # reads the user's postings if this version was seen once already
    held = lexical.search(*a, **kw)
    return statement, held


def _held(lexical: PostgresLexical, tenant: str, user: str) -> Held | None:
    entries = lexical.postings._entries
    return entries.get((tenant, user))


def _hold(lexical: PostgresLexical, scope: Scope) -> Held | None:
    """Search the user twice (its postings are read at the second search that finds the same
    version); the entry then held."""
    for _ in range(2):
        lexical.search(scope, {"piano": 1.0}, 10)
    return _held(lexical, "default", str(scope.user_id))


def test_postings_rank_as_the_statement_does_to_the_bit(postgres_url: str, embedder: Embedder) -> None:
    """Every query (words, phrases, weighted groups, one lexeme in two groups, a name in most
    documents, no match), with and without the context field, at several k, with filters, an
    agent-less session scope and a date range: the same ids, order and scores (``==``) as the
    score statement, and from memory (the user's entry is held)."""
    with _memory(postgres_url, embedder) as m:
        _fill(m, "u1")
        _fill(m, "u2")  # another user of the tenant: its documents are not u1's candidates
        m.add("Biscuit and the piano bench, a third user.", user_id="u3")
        lexical = _lexical(m)
        scopes = [Scope(user_id="u1"), Scope(user_id="u1", session_id="s0"), Scope(user_id="u2")]
        filters = [
            None,
            SearchFilters(since=datetime(2023, 5, 1)),
            SearchFilters(levels=(Level.TURN,)),
            SearchFilters(speakers=("Ana",)),
        ]
        compared = 0
        for scope in scopes:
            for terms in QUERIES:
                for k in (1, 3, 10):
                    for context in (0.0, 0.5):
                        for f in filters:
                            statement, held = _both(lexical, scope, terms, k, f, context)
                            assert held == statement, (scope, terms, k, context, f)
                            compared += bool(statement)
        assert compared > 200
        entry = _held(lexical, "default", "u1")
        assert entry is not None and len(entry.ids) > len(SESSIONS[0])
        assert {"'ben' <-> 's'", "'ana' <-> 's' <-> 'piano'", "'piano' <-> 'piano'"} <= {q for _, q in entry.phrases}


def test_a_write_between_searches_is_never_missed(postgres_url: str, embedder: Embedder) -> None:
    """With the user's postings held, an add, an update, a delete and a forget of the user each
    change the next search's result (the version moved in the write's transaction); another user's
    write leaves the entry held."""
    with _memory(postgres_url, embedder) as m:
        ids = _fill(m, "u1")
        lexical = _lexical(m)
        scope = Scope(user_id="u1")

        def search(word: str) -> list[str]:
            return [i for i, _ in lexical.search(scope, {word: 1.0}, 10)]

        search("piano")
        search("piano")
        held = _held(lexical, "default", "u1")
        assert held is not None and search("zebracorn") == []
        [added] = m.add("A zebracorn visited the piano.", user_id="u1")
        assert search("zebracorn") == [added]
        search("zebracorn")
        m.update(added, "A unicorn visited the piano.", user_id="u1")
        assert search("zebracorn") == [] and search("unicorn") == [added]
        search("unicorn")
        m.delete(added, user_id="u1")
        assert search("unicorn") == []
        search("biscuit")
        before = search("biscuit")
        assert ids[1] in before
        m.forget([ids[1]], user_id="u1")
        left = {i for i in before if i != ids[1]}
        assert set(search("biscuit")) == left
        search("biscuit")
        entry = _held(lexical, "default", "u1")
        m.add("Biscuit again, for another user.", user_id="u2")
        assert set(search("biscuit")) == left
        assert _held(lexical, "default", "u1") is entry  # u2's write did not move u1's version


_OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from outcrop import Memory, MemoryConfig
    url, user, text = sys.argv[1:4]
    with Memory(config=MemoryConfig(store=url, strata={"on_add": False})) as m:
        print(m.add(text, user_id=user)[0])
    """
)


def test_another_process_writing_makes_the_held_postings_stale(postgres_url: str, embedder: Embedder) -> None:
    """A server process holds the user's postings; another process adds to the same user over the
    same PostgreSQL: this process's next search finds the new document (and scores every document
    as the statement does, with the tenant's new statistics)."""
    with _memory(postgres_url, embedder) as m:
        _fill(m, "u1")
        lexical = _lexical(m)
        scope = Scope(user_id="u1")
        assert _hold(lexical, scope) is not None
        done = subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS, postgres_url, "u1", "The piano tuner, a zebracorn, came by."],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        added = done.stdout.strip().splitlines()[-1]
        statement, held = _both(lexical, scope, {"piano": 1.0, "zebracorn": 1.0}, 10)
        assert held == statement and held[0][0] == added


def test_the_version_moves_in_the_writes_transaction(postgres_url: str, embedder: Embedder) -> None:
    """``lexical_users`` holds one row per user written, keyed by the hash of its id (no name), its
    version moved by each write of the user's lexical documents and by nothing else."""
    with _memory(postgres_url, embedder) as m:
        ids = m.add(SESSIONS[0], user_id="u1", session_id="s0")

        def versions() -> dict[str, int]:
            with psycopg.connect(postgres_url) as conn:
                conn.execute("SELECT set_config(%s, 'default', false)", [TENANT_SETTING])
                rows = conn.execute(f"SELECT user_key::text, version FROM {SCHEMA}.lexical_users").fetchall()
            return {str(r[0]): int(str(r[1])) for r in rows}

        first = versions()
        assert len(first) == 1 and "u1" not in next(iter(first))
        m.store.records.set_metadata(Scope(user_id="u1"), {ids[0]: {"k": 1}})
        assert versions() == first  # no lexical document changed
        m.delete(ids[0], user_id="u1")
        [(key, version)] = versions().items()
        assert version > first[key]


def test_the_cache_reads_a_user_at_the_second_search_of_a_version_and_keeps_its_bound() -> None:
    cache = PostingsCache(max_bytes=10_000)
    key = ("t", "u")
    assert not cache.wanted(key, 3)  # first search at version 3: the statement
    assert cache.wanted(key, 3)  # second: read it
    assert not cache.wanted(key, 4)  # a write between: the statement again

    def entry(version: int, docs: int) -> UserPostings:
        from outcrop.stores.postgres.postings import FieldPostings

        empty = FieldPostings(
            {},
            np.zeros(1, np.int64),
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.zeros(1, np.int64),
            np.empty(0, np.int16),
        )
        return UserPostings(
            version,
            [f"id{n}" for n in range(docs)],
            np.arange(docs, dtype=np.int64),
            np.ones(docs),
            np.ones(docs),
            (empty, empty),
        )

    small = entry(4, 10)
    assert cache.put(key, small) and cache.get(key, 4) is small and cache.get(key, 5) is None
    assert not cache.put(("t", "big"), entry(1, 1_000)) and cache.get(("t", "big"), 1) is None
    cache.put(("t", "v"), entry(1, 60))
    cache.put(("t", "w"), entry(1, 60))
    assert cache.nbytes <= cache.max_bytes
    assert cache.get(key, 4) is None  # the least recently used went first
    assert not cache.wanted(key, 4) and cache.wanted(key, 4)  # read again at the second search after
    disabled = PostingsCache(max_bytes=0)
    assert not disabled.wanted(key, 1) and not disabled.wanted(key, 1)


def _pairs(url: str) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """``lexical_pairs`` as kept, and as counted now from the items (documents whose tsvector
    matches the phrase query ``a <-> b``, per field)."""
    with psycopg.connect(url) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        kept = {
            str(r[0]): (int(r[1]), int(r[2])) for r in conn.execute("SELECT pair, own_df, ctx_df FROM lexical_pairs")
        }
        counted = conn.execute(
            "SELECT x.pair, count(*) FILTER (WHERE d.own_tsv @@ x.q), count(*) FILTER (WHERE d.ctx_tsv @@ x.q)"
            " FROM (SELECT DISTINCT p.pair, (quote_literal(split_part(p.pair, ' ', 1)) || ' <-> '"
            " || quote_literal(split_part(p.pair, ' ', 2)))::tsquery AS q"
            " FROM items i, LATERAL (SELECT tsvector_pairs(i.own_tsv) UNION SELECT tsvector_pairs(i.ctx_tsv)) p(pair)) x"
            " JOIN items d ON d.tenant = 'default' GROUP BY x.pair"
        ).fetchall()
    found = {str(r[0]): (int(r[1]), int(r[2])) for r in counted}
    return kept, {p: n for p, n in found.items() if n != (0, 0)}


PHRASES = [
    "ben s",
    "ana s piano",
    "the old piano bench",
    "piano piano",
    "piano piano piano",
    "bench piano",
    "piano bench",
]


def _plan_frequencies(url: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The plan statement's (own, context) document frequency of each of :data:`PHRASES`, and the
    documents matching each phrase query counted over the tenant's items."""
    with psycopg.connect(url) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        rows = conn.execute(plan_sql(True).encode(), {"terms": PHRASES, "tenant": "default", "user": None}).fetchall()
        planned = [(int(r[3]), int(r[4])) for r in sorted(rows, key=lambda r: int(r[0])) if int(r[0]) > 0]
        counted = [
            (int(r[0]), int(r[1]))
            for r in (
                conn.execute(
                    "SELECT count(*) FILTER (WHERE own_tsv @@ q), count(*) FILTER (WHERE ctx_tsv @@ q)"
                    " FROM items, phraseto_tsquery('porter', %s) q WHERE tenant = 'default'",
                    [p],
                ).fetchone()
                or (0, 0)
                for p in PHRASES
            )
        ]
    return planned, counted


def test_pair_frequencies_follow_every_write(postgres_url: str, embedder: Embedder) -> None:
    """``lexical_pairs`` holds, for every adjacent lexeme pair of the tenant, the documents whose
    field matches the phrase ``a <-> b`` (counted with ``@@``), after adds, an update, a delete and
    a forget; a pair no document holds any more has no row."""
    with _memory(postgres_url, embedder) as m:
        ids = _fill(m, "u1")
        _fill(m, "u2")
        kept, counted = _pairs(postgres_url)
        assert kept == counted and kept["ben s"][0] >= 4 and "piano piano" in kept
        planned, matched = _plan_frequencies(postgres_url)
        assert planned == matched and all(n[0] for n in planned[:5]) and planned[5] == (0, 0)
        [added] = m.add("The zebracorn's hoof, a zebracorn hoof.", user_id="u1")
        assert _pairs(postgres_url)[0]["zebracorn s"] == (1, 0)
        m.update(added, "The unicorn's hoof.", user_id="u1")
        kept, counted = _pairs(postgres_url)
        assert kept == counted and "zebracorn s" not in kept and kept["unicorn s"][0] == 1
        m.delete(added, user_id="u1")
        m.forget([ids[7]], user_id="u1")
        kept, counted = _pairs(postgres_url)
        assert kept == counted and "unicorn s" not in kept
        planned, matched = _plan_frequencies(postgres_url)
        assert planned == matched


def test_a_store_from_before_the_pair_frequencies_ranks_as_before(postgres_url: str, embedder: Embedder) -> None:
    """A store written before ``0015_lexical_pairs`` (no table, no function, no record) opens with
    its pairs counted from the items already stored and ranks its phrases as before."""
    asked = [q for q in QUERIES if any(" " in normalize_term(t) for t in q)]
    with _memory(postgres_url, embedder) as m:
        _fill(m, "u1")
        lexical = _lexical(m)
        lexical.postings.max_bytes = 0
        before = [lexical.search(Scope(user_id="u1"), q, 10, None, 0.5) for q in asked]
        expected = _pairs(postgres_url)[0]
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        conn.execute("DROP TABLE lexical_pairs")
        conn.execute("DROP FUNCTION tsvector_pairs(tsvector)")
        conn.execute("DELETE FROM schema_migrations WHERE name = '0015_lexical_pairs'")
    with _memory(postgres_url, embedder) as m:
        assert _pairs(postgres_url)[0] == expected
        lexical = _lexical(m)
        for q, was in zip(asked, before, strict=True):
            statement, held = _both(lexical, Scope(user_id="u1"), q, 10, None, 0.5)
            assert statement == held == was, q


def _canonical(held: Held) -> tuple[Any, ...]:
    """An entry as comparable values: documents in seq order, and each field's postings per lexeme
    as (document id, occurrences, positions), sorted (a lexeme's postings are in no order); an
    entry laid over another as it is once merged."""
    entry = held.merged()
    fields = []
    for f in entry.fields:
        lexemes = {}
        for lexeme, s in f.slot.items():
            a, b = int(f.starts[s]), int(f.starts[s + 1])
            spots = f.positions[int(f.pos_starts[s]) : int(f.pos_starts[s + 1])].tolist()
            postings, at = [], 0
            for doc, freq in zip(f.docs[a:b].tolist(), f.freq[a:b].tolist(), strict=True):
                postings.append((entry.ids[doc], freq, tuple(spots[at : at + freq])))
                at += freq
            if postings:
                lexemes[lexeme] = sorted(postings)
        fields.append(lexemes)
    return (entry.version, entry.ids, entry.seqs.tolist(), entry.own_len.tolist(), entry.ctx_len.tolist(), fields)


def _version(url: str, user: str) -> int:
    with psycopg.connect(url) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        row = conn.execute(
            "SELECT version FROM lexical_users WHERE tenant = 'default' AND user_key = md5(%s)::uuid", [user]
        ).fetchone()
    return int(str(row[0])) if row else 0


@pytest.mark.parametrize("laid", [LAID_DOCUMENTS, 1])
def test_a_held_entry_is_patched_after_a_write(
    postgres_url: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, laid: int
) -> None:
    """After each write of the user (an add, an update, a delete, a forget, a batch), the next
    search patches the held entry with the journaled documents instead of taking the statement:
    the entry then equals one read whole at that version, and ranks as the statement does. The
    documents are laid over the entry first read, whose postings stay as they are (rewriting them
    cost a 100k-turn user 0.3 s at the first search after each write), except after a forget,
    merged in (what it erased leaves memory); with ``laid`` 1 they are merged in once more than
    one is touched (as past :data:`LAID_DOCUMENTS`), and laid over the merged entry after."""
    monkeypatch.setattr(postings, "LAID_DOCUMENTS", laid)
    with _memory(postgres_url, embedder) as m:
        ids = _fill(m, "u1")
        _fill(m, "u2")
        lexical = _lexical(m)
        scope = Scope(user_id="u1")
        first = _hold(lexical, scope)
        assert isinstance(first, UserPostings)
        [added] = m.add("The zebracorn's piano: Ana's zebracorn plays the piano bench.", user_id="u1")
        writes = [
            lambda: m.update(added, "The unicorn's piano, Ben's unicorn.", user_id="u1"),
            lambda: m.delete(ids[2], user_id="u1"),
            lambda: m.forget([ids[5]], user_id="u1"),
            lambda: m.add(SESSIONS[2], user_id="u1", session_id="s9"),
            lambda: None,
        ]
        kinds: set[type] = set()
        for n, write in enumerate(writes):
            before = _held(lexical, "default", "u1")
            version = _version(postgres_url, "u1")
            assert before is not None and before.version <= version  # == : forget's own search patched it
            lexical.search(scope, {"piano": 1.0}, 10)  # the first search after the write
            entry = _held(lexical, "default", "u1")
            assert entry is not None and entry.version == version  # patched, not the statement
            assert entry is not before or before.version == version, n
            if laid == LAID_DOCUMENTS and n == 3:  # after the forget: merged, what it erased gone from memory
                assert isinstance(entry, UserPostings) and entry is not first
                first = entry
            elif laid == LAID_DOCUMENTS:  # the entry's postings, never rewritten
                assert isinstance(entry, LaidOver) and entry.base is first, n
            kinds.add(type(entry))
            with lexical._db.tx("default") as conn:
                whole = load_user(conn, "default", "u1", version)
            assert _canonical(entry) == _canonical(whole)
            for terms in QUERIES:
                statement, held = _both(lexical, scope, terms, 10, None, 0.5)
                assert held == statement, terms
            assert _held(lexical, "default", "u1") is entry
            write()
        assert kinds == {LaidOver, UserPostings}


def test_a_forget_by_another_process_leaves_this_ones_memory(postgres_url: str, embedder: Embedder) -> None:
    """A forget made by another process (here another Memory over the same database, with its own
    held entries) is merged into this process's held entry at its next search, not laid over it:
    the entry's base would keep the erased document's id and postings until 512 more documents
    were written. Journaled ids that ``forgotten_ids`` names are merged in."""
    with _memory(postgres_url, embedder) as m, _memory(postgres_url, embedder) as other:
        ids = _fill(m, "u1")
        lexical = _lexical(m)
        scope = Scope(user_id="u1")
        first = _hold(lexical, scope)
        assert isinstance(first, UserPostings) and ids[2] in first.ids
        other.forget([ids[2]], user_id="u1")
        entry = _hold(lexical, scope)
        assert entry is not None and entry.version == _version(postgres_url, "u1")
        assert isinstance(entry, UserPostings) and entry is not first  # merged: the erased document left memory
        assert ids[2] not in entry.ids
        for terms in QUERIES:
            statement, held = _both(lexical, scope, terms, 10)
            assert held == statement, terms
        m.delete(ids[3], user_id="u1")  # a delete is laid over as before
        assert isinstance(_hold(lexical, scope), LaidOver)


def test_without_the_journal_a_held_entry_is_read_whole(postgres_url: str, embedder: Embedder) -> None:
    """A version missing from the journal (a writer from before it, or its oldest rows gone): the
    first search after the write takes the statement and the second reads the entry whole."""
    with _memory(postgres_url, embedder) as m:
        _fill(m, "u1")
        lexical = _lexical(m)
        scope = Scope(user_id="u1")
        _hold(lexical, scope)
        m.add("A zebracorn at the piano.", user_id="u1")
        with psycopg.connect(postgres_url) as conn:
            conn.execute(f"SET search_path TO {SCHEMA}")
            conn.execute("DELETE FROM lexical_journal")
        version = _version(postgres_url, "u1")
        lexical.search(scope, {"zebracorn": 1.0}, 10)
        assert lexical.postings.get(("default", "u1"), version) is None
        found = lexical.search(scope, {"zebracorn": 1.0}, 10)
        entry = lexical.postings.get(("default", "u1"), version)
        assert entry is not None and [i for i, _ in found] == [entry.ids[-1]]


def test_the_phrases_kept_with_held_postings_count_against_the_bound(postgres_url: str, embedder: Embedder) -> None:
    """The phrases' postings that searches compute and keep with a user's held entry are memory
    of the cache too: with hundreds of phrases asked, the entries and their phrases together stay
    within ``max_bytes`` (the least recently used other user dropped first, then the entry's own
    phrases, computed again when asked), and the rankings are the statement's."""
    with _memory(postgres_url, embedder) as m:
        _fill(m, "u1")
        _fill(m, "u2")
        lexical = _lexical(m)
        one, two = _hold(lexical, Scope(user_id="u1")), _hold(lexical, Scope(user_id="u2"))
        assert one is not None and two is not None and not one.phrases and not two.phrases
        arrays = {("default", "u1"): one.nbytes, ("default", "u2"): two.nbytes}  # before any phrase
        words = ["piano", "bench", "lisbon", "beach", "ana", "ben", "biscuit", "june", "sunday", "old", "the", "dog"]
        phrases = [f"{a} {b}" for a in words for b in words] + [f"{a} {b} {a}" for a in words for b in words]

        def held() -> int:
            """The bytes the held entries hold: their arrays and ids, and the phrases kept with them."""
            total = 0
            for key, entry in lexical.postings._entries.items():
                assert entry is (one if key[1] == "u1" else two)  # no write: the entries as read
                kept = entry.phrases.values()
                total += arrays[key] + sum(sys.getsizeof(a) + sys.getsizeof(b) for a, b in kept)
            return total

        lexical.postings.max_bytes = 1 << 26
        for phrase in phrases[:40]:
            lexical.search(Scope(user_id="u1"), {phrase: 1.0}, 10)
        assert len(one.phrases) >= 40 and lexical.postings.nbytes >= held() > sum(arrays.values())
        lexical.postings.max_bytes = sum(arrays.values()) + 8192  # both users fit, and a few phrases
        for phrase in phrases:
            lexical.search(Scope(user_id="u1"), {phrase: 1.0}, 10)
            assert held() <= lexical.postings.max_bytes and lexical.postings.nbytes <= lexical.postings.max_bytes
        assert _held(lexical, "default", "u1") is one  # the searched user is still held
        for phrase in ("piano bench", "the old piano", "ben s"):
            statement, kept = _both(lexical, Scope(user_id="u1"), {phrase: 1.0, "piano": 0.5}, 10)
            assert kept == statement and statement
