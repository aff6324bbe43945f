"""BM25 through SQLite's FTS5, one index per tenant: each tenant's documents live in two FTS5
tables of its own (``<stem>_own``: an item's own text with its speaker and date;
``<stem>_ctx``: its neighbouring turns), named in ``lexical_tables``. BM25's document frequencies
and average lengths are therefore the tenant's own, so another tenant's writes never move a score,
and a search reads one tenant's index only.

Inside a tenant's index, a document's rowid is its item's rowid under its user's number
(:func:`~outcrop.stores.sqlite.schema.lexical_key`; users are numbered per tenant in
``lexical_users``, known by a hash as vectors' partitions are). A user's documents are thus one
rowid range, and a user's search gives FTS5 that range: it scores and joins that user's matching
documents only, where a filter on ``items`` after the match would score every user's. The scores
are the same to the last bit: FTS5's BM25 takes its statistics from the whole table whatever the
range (its document counts, lengths and each term's document frequency), so they stay the
tenant's. Ties at a depth cut go to the older item (``ORDER BY bm25, i.rowid``). Before, they
went where SQLite's plan happened to read rows: in rowid order mostly, in time order when a date
filter made SQLite 3.50 read ``items`` first.

But FTS5's ``bm25()`` counts each query term's documents over the whole table at every query
(``xQueryPhrase`` walks the term's every posting): a user's search would cost its tenant's size.
So the writes keep each tenant's statistics (``lexical_terms``: documents per term and field;
``lexical_stats``: documents and tokens per field), counted from FTS5's own tokens
(:mod:`~outcrop.stores.sqlite.tokens`) in the write's transaction, and a user's search scores its
range from them (:mod:`~outcrop.stores.sqlite.bm25`, FTS5's arithmetic): the postings kept on
write (a term's occurrences per document: packed per term, user and block of keys in
``<stem>_packs``, the latest writes' rows in ``<stem>_terms`` until a write folds them in,
:mod:`~outcrop.stores.sqlite.packs`) with each document's length (``lexical_docs``) give what
BM25 needs: costs of that user's matching rows only. This path is taken for a user holding under 1/64 of its tenant's
documents; above that FTS5's ``bm25()`` costs less (its tenant-wide count is then small beside
the user's rows) and gives the same scores. A whole tenant's search (no user) scores every match
anyway and keeps FTS5's ``bm25()``: the same statistics, the same scores.

A large user (``large_user`` documents or more) would have FTS5 score every match of its
query's names, months and years (8-80k of a 100k-turn user's documents each): its query terms'
postings are read once into memory and scored there (``SQLiteLexical._in_memory``,
:mod:`~outcrop.stores.sqlite.postings`), with an agent, session or filter too (the ranking walked
from its head, the items read with the scope's clause); a write of that user's documents moves
its lexical version and journals the documents it touched (``lexical_changes``), and the held
postings are patched for those documents at the next search (read again whole only where the
journal does not reach back); a small share's search is scored there
too, with or without an agent, session or filter (a fraction of a millisecond a call once its
terms are held). A term of several tokens (a
phrase: the postings hold no positions) is scored the same way: its occurrences from FTS5's matches in the user's range, its documents in the
tenant counted by FTS5 once per tenant version (each write of the tenant's documents moves it) and
not at all when the user's range holds none. Every path gives ``bm25()``'s scores to the bit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from outcrop.core.documents import LexicalDocument
from outcrop.core.types import Scope
from outcrop.stores.base import ScoredId, SearchFilters
from outcrop.stores.sql import filter_clause
from outcrop.stores.sqlite.bm25 import idf
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.folding import Folder
from outcrop.stores.sqlite.packs import BLOCK_BITS, FOLD_ROWS, packs_table, unpack, unput
from outcrop.stores.sqlite.postings import FieldPostings, Lengths, PostingsCache, cut, numbers, patched, sums
from outcrop.stores.sqlite.rows import by_ids, by_ids_order, where
from outcrop.stores.sqlite.schema import (
    LEXICAL_ITEM_BITS,
    create_lexical_tables,
    lexical_key,
    lexical_number,
    postings_table,
    put_postings,
    vector_part,
)
from outcrop.stores.sqlite.tokens import FTS5Tokens, term_key

__all__ = ["SQLiteLexical"]

_ITEM_MASK = (1 << LEXICAL_ITEM_BITS) - 1  # a lexical rowid's item rowid
_REMEMBERED = 65_536  # users' numbers a process keeps (then starts again: one indexed read each)
_SHARE = 64  # a user whose tenant holds more than this many times its documents is scored from the postings
_LARGE = 10_000  # a user of at least this many documents: see SQLiteLexical._in_memory
_JOURNALED = 64  # a user's last lexical versions whose documents are journaled (see _moved)
_PATCHED = 4096  # documents changed since an entry was read up to which it is patched, not read again
_WALK = 4096  # ranked documents whose items a filtered search reads by rowid before it reads the clause's items
FOLD_IN_BACKGROUND = True  # a full tail folded in a thread after the write (else in the writer's, after it)
_CACHE_BYTES = 48 << 20  # postings of large users' query terms kept in memory (see _in_memory)


def _fts_query(terms: Iterable[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


@dataclass(frozen=True)
class _Statistics:
    """A tenant's BM25 statistics for one query: (own, context) documents and tokens, and the
    (own, context) documents of each one-token term."""

    docs: tuple[int, int]
    tokens: tuple[int, int]
    frequencies: dict[int, tuple[int, int]]  # by term_key
    version: int  # the tenant's lexical version (moved by each write of its documents)


@dataclass(frozen=True)
class _Found:
    """Where a user's rows are found: the tenant, its FTS5 tables and postings table, the user's
    key range, the scope's clause on ``items i`` and its parameters."""

    tenant: str
    tables: tuple[str, str]  # (own, ctx)
    postings: str
    bounds: tuple[int, int]
    params: list[Any]
    clause: str
    by_rowid: tuple[str, list[Any]] = ("", [])  # the clause and its parameters for items read by rowid


class SQLiteLexical:
    """See :class:`outcrop.stores.base.LexicalIndex`."""

    def __init__(self, connection: SQLiteConnection, postings_cache_bytes: int | None = None) -> None:
        self._conn = connection
        self._names: dict[str, tuple[str, str]] = {}  # tenant -> (own, ctx): tables are never renamed
        self._numbers: dict[tuple[str, str], int] = {}  # (tenant, user) -> number, once committed: never changes
        self._tokens = FTS5Tokens()
        self._sizes: dict[tuple[str, str], tuple[int, int]] = {}  # (tenant, user) -> its documents, the tenant's then
        self.postings_share = _SHARE  # see _small (0: every user's search scores from the postings)
        self.large_user = _LARGE  # see _in_memory
        self.fold_rows = FOLD_ROWS  # a tenant's tail of postings rows folded into its packs from this size
        self.folder = Folder(connection.path, connection.timeout, background=FOLD_IN_BACKGROUND)
        self.postings = PostingsCache(_CACHE_BYTES if postings_cache_bytes is None else postings_cache_bytes)
        self._journal: dict[tuple[str, int, int, int], npt.NDArray[np.int64]] = {}  # see _changed
        self._phrase_docs: dict[
            tuple[str, str, tuple[str, ...]], tuple[int, int]
        ] = {}  # -> (tenant version, documents)

    def _tables(self, tenant: str, db: sqlite3.Connection | None = None) -> tuple[str, str] | None:
        """The tenant's two tables, or None before its first document."""
        names = self._names.get(tenant)
        if names is not None:
            return names
        query = "SELECT own, ctx FROM lexical_tables WHERE tenant = ?"
        if db is not None:  # inside a transaction that may yet roll back: read, do not remember
            row = db.execute(query, (tenant,)).fetchone()
            return (row[0], row[1]) if row else None
        rows = self._conn.query(query, (tenant,))
        if rows:
            names = self._names[tenant] = (rows[0][0], rows[0][1])
        return names

    def _number(
        self, tenant: str, user_id: str, db: sqlite3.Connection | None = None, create: bool = False
    ) -> int | None:
        """The user's number in its tenant's index, None before its first document. Inside a
        transaction (``db``) read, or with ``create`` given, there: not remembered until seen
        committed (the transaction may roll back)."""
        number = self._numbers.get((tenant, user_id))
        if number is not None:
            return number
        if db is not None:
            return lexical_number(db, tenant, user_id, create)
        rows = self._conn.query("SELECT number FROM lexical_users WHERE part = ?", (vector_part(tenant, user_id),))
        if rows:
            if len(self._numbers) >= _REMEMBERED:
                self._numbers.clear()
            number = self._numbers[(tenant, user_id)] = int(rows[0][0])
        return number

    def _keys(self, db: sqlite3.Connection, tenant: str, rowids: Sequence[int]) -> list[int]:
        """Inside a transaction: the lexical rowids of items ``rowids`` (their rows still there)."""
        keys: list[int] = []
        for chunk in chunks(rowids):
            rows = db.execute(
                f"SELECT rowid, user_id FROM items WHERE rowid IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            for rowid, user_id in rows:
                number = self._number(tenant, user_id, db)
                if number is not None:
                    keys.append(lexical_key(number, rowid))
        return keys

    # -- inside the records' transactions ---------------------------------------------------
    def put(
        self, db: sqlite3.Connection, tenant: str, rowid: int, document: LexicalDocument, replace: bool = True
    ) -> None:
        """Index item ``rowid`` (its row written) under its user's number."""
        self.put_many(db, tenant, [(rowid, document)], replace)

    def put_many(
        self,
        db: sqlite3.Connection,
        tenant: str,
        documents: Sequence[tuple[int, LexicalDocument]],
        replace: bool = True,
    ) -> None:
        """Index items (``rowid``, document) of one tenant, their rows written, under their users'
        numbers; their tokens, postings and the tenant's statistics in one pass (a write's batch)."""
        if not documents:
            return
        # made in the writing transaction (not cached until seen committed: a rollback undoes them)
        own, ctx = self._tables(tenant, db) or create_lexical_tables(db, tenant)
        keys: list[int] = []
        for rowid, _ in documents:
            (user_id,) = db.execute("SELECT user_id FROM items WHERE rowid = ?", (rowid,)).fetchone()
            keys.append(lexical_key(self._number(tenant, user_id, db, create=True) or 0, rowid))
        if replace:
            self._delete(db, tenant, (own, ctx), keys)
        pairs = list(zip(keys, (d for _, d in documents), strict=True))
        db.executemany(f"INSERT INTO {own}(rowid, body) VALUES (?, ?)", [(k, d.own) for k, d in pairs])
        db.executemany(f"INSERT INTO {ctx}(rowid, body) VALUES (?, ?)", [(k, d.context) for k, d in pairs if d.context])
        tokens = self._tokens.counts([d.own for _, d in pairs] + [d.context for _, d in pairs])
        own_tokens = tokens[: len(pairs)]
        contexts = [t if d.context else None for (_, d), t in zip(pairs, tokens[len(pairs) :], strict=True)]
        put_postings(db, postings_table(own), keys, own_tokens, contexts)
        self._count(db, tenant, own_tokens, [c for c in contexts if c is not None], 1)
        self._moved(db, tenant, keys)
        self._tail(db, tenant, sum(len(o.keys() | (c or {}).keys()) for o, c in zip(own_tokens, contexts, strict=True)))

    def _tail(self, db: sqlite3.Connection, tenant: str, rows: int) -> None:
        """Count ``rows`` postings rows put into the tenant's tail (``lexical_stats.tail``); from
        :attr:`fold_rows` on, the tail is folded into the tenant's packs once the write has
        committed, outside its transaction (:mod:`~outcrop.stores.sqlite.folding`)."""
        db.execute("UPDATE lexical_stats SET tail = tail + ? WHERE tenant = ?", (rows, tenant))
        (tail,) = db.execute("SELECT tail FROM lexical_stats WHERE tenant = ?", (tenant,)).fetchone()
        if tail >= self.fold_rows:
            limit = self.fold_rows
            self._conn.after_commit(("fold", tenant), lambda: self.folder.soon(tenant, limit))

    def close(self) -> None:
        """Finish the folds queued (before the store's connection closes)."""
        self.folder.close()

    def drop(self, db: sqlite3.Connection, tenant: str, rowids: Sequence[int]) -> None:
        """Remove the documents of items ``rowids`` (call before their rows go)."""
        tables = self._tables(tenant, db)
        if tables is not None and rowids:
            self._delete(db, tenant, tables, self._keys(db, tenant, rowids))

    def _delete(self, db: sqlite3.Connection, tenant: str, tables: tuple[str, str], keys: Sequence[int]) -> None:
        """Delete documents ``keys``: out of the tenant's statistics and postings (their tokens
        made again from their text), then out of its tables."""
        own, ctx = tables
        found: list[tuple[int, str, str | None]] = []
        for chunk in chunks(keys):
            found += db.execute(
                f"SELECT o.rowid, o.body, c.body FROM {own} o LEFT JOIN {ctx} c ON c.rowid = o.rowid"
                f" WHERE o.rowid IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        own_tokens = self._tokens.counts([r[1] for r in found])
        ctx_tokens = self._tokens.counts([r[2] or "" for r in found])
        contexts = [t for r, t in zip(found, ctx_tokens, strict=True) if r[2] is not None]
        self._count(db, tenant, own_tokens, contexts, -1)
        postings = sorted({(t, r[0]) for r, o, c in zip(found, own_tokens, ctx_tokens, strict=True) for t in (*o, *c)})
        db.executemany(f"DELETE FROM {postings_table(own)} WHERE term = ? AND key = ?", postings)
        unput(db, packs_table(own), postings)
        db.executemany("DELETE FROM lexical_docs WHERE key = ?", [(k,) for k in keys])
        for table in tables:
            db.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(k,) for k in keys])
        self._moved(db, tenant, [r[0] for r in found])

    @staticmethod
    def _moved(db: sqlite3.Connection, tenant: str, keys: Sequence[int]) -> None:
        """The lexical version of each user with a document among ``keys`` moves on, and the
        documents it moved for are journaled under the new version (``lexical_changes``, the last
        :data:`_JOURNALED` versions of the user kept): postings of theirs held in memory
        (:class:`~outcrop.stores.sqlite.postings.PostingsCache`) are patched for those documents at
        their next search, or read again when the journal does not reach back to them."""
        users: dict[int, list[int]] = {}
        for key in keys:
            users.setdefault(key >> LEXICAL_ITEM_BITS, []).append(key)
        for number, touched in sorted(users.items()):
            db.execute(
                "UPDATE lexical_users SET version = version + 1 WHERE tenant = ? AND number = ?", (tenant, number)
            )
            row = db.execute(
                "SELECT version FROM lexical_users WHERE tenant = ? AND number = ?", (tenant, number)
            ).fetchone()
            if row is None:
                continue
            version = int(row[0])
            db.execute(
                "INSERT OR REPLACE INTO lexical_changes (tenant, number, version, keys) VALUES (?, ?, ?, ?)",
                (tenant, number, version, np.unique(np.array(touched, dtype="<i8")).tobytes()),
            )
            db.execute(
                "DELETE FROM lexical_changes WHERE tenant = ? AND number = ? AND version <= ?",
                (tenant, number, version - _JOURNALED),
            )

    @staticmethod
    def _count(
        db: sqlite3.Connection,
        tenant: str,
        own: Sequence[Mapping[int, int]],
        ctx: Sequence[Mapping[int, int]],
        sign: int,
    ) -> None:
        """Add (``sign`` 1) or take out (-1) documents of the tenant's two tables (own text,
        context; each its tokens' counts) to or from its statistics: documents per term,
        documents and tokens per field. A term no document holds any more loses its row (a
        forgotten word leaves none)."""
        if not own and not ctx:
            return
        frequencies: dict[int, list[int]] = {}
        for field, documents in enumerate((own, ctx)):
            for counts in documents:
                for term in counts:
                    frequencies.setdefault(term, [0, 0])[field] += sign
        db.execute(
            "INSERT INTO lexical_stats AS s (tenant, own_docs, own_tokens, ctx_docs, ctx_tokens)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET"
            " own_docs = s.own_docs + excluded.own_docs, own_tokens = s.own_tokens + excluded.own_tokens,"
            " ctx_docs = s.ctx_docs + excluded.ctx_docs, ctx_tokens = s.ctx_tokens + excluded.ctx_tokens,"
            " version = s.version + 1",
            (
                tenant,
                sign * len(own),
                sign * sum(sum(c.values()) for c in own),
                sign * len(ctx),
                sign * sum(sum(c.values()) for c in ctx),
            ),
        )
        rows = [(tenant, term, o, c) for term, (o, c) in sorted(frequencies.items())]
        db.executemany(
            "INSERT INTO lexical_terms AS t (tenant, term, own_df, ctx_df) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (tenant, term) DO UPDATE SET own_df = t.own_df + excluded.own_df,"
            " ctx_df = t.ctx_df + excluded.ctx_df",
            rows,
        )
        if sign < 0:
            db.executemany(
                "DELETE FROM lexical_terms WHERE tenant = ? AND term = ? AND own_df <= 0 AND ctx_df <= 0",
                [(tenant, r[1]) for r in rows],
            )

    @staticmethod
    def optimize(db: sqlite3.Connection) -> None:
        """Merge every index's segments: a deleted document's terms otherwise stay in old segments."""
        for own, ctx in db.execute("SELECT own, ctx FROM lexical_tables").fetchall():
            for table in (own, ctx):
                db.execute(f"INSERT INTO {table}({table}) VALUES('optimize')")

    # -- the seam ----------------------------------------------------------------------------
    def _range(self, scope: Scope) -> tuple[str, list[Any]] | None:
        """The FTS5 rowid condition of a user's scope ("" for a whole tenant), or None when the user
        has no documents."""
        if scope.user_id is None:
            return "", []
        number = self._number(scope.tenant, scope.user_id)
        if number is None:
            return None
        first = number << LEXICAL_ITEM_BITS
        return " AND {table}.rowid BETWEEN ? AND ?", [first, first | _ITEM_MASK]

    def search(
        self,
        scope: Scope,
        terms: dict[str, float],
        k: int,
        filters: SearchFilters | None = None,
        context_weight: float = 0.0,
    ) -> list[ScoredId]:
        names = self._tables(scope.tenant)
        bounds = self._range(scope) if terms and names is not None else None
        if names is None or bounds is None:
            return []
        own, ctx = names
        within, within_params = bounds
        clause, params = where(scope, filters, alias="i")
        by_rowid = self._by_rowid(scope, filters)
        # BM25 of an OR query is the sum of its terms' contributions, so weighted terms are
        # scored as one MATCH per distinct weight, each group's scores scaled and added.
        by_weight: dict[float, list[str]] = {}
        for term, weight in terms.items():
            by_weight.setdefault(round(weight, 3), []).append(term)
        tables = [(own, 1.0)] + ([(ctx, context_weight)] if context_weight > 0 else [])
        depth = max(k, 1) * (1 if len(by_weight) * len(tables) == 1 else 3)
        scores: dict[str, float] = {}
        with self._conn.snapshot():
            stats = self._statistics(scope.tenant, terms) if within else None
            large = small = False
            version = 0
            # the user's range is the whole scope (no agent, session or filter on items)
            whole = scope.agent_id is None and scope.session_id is None and (filters is None or filters.empty)
            if stats is not None:
                size = self._size(scope, own, stats.docs[0], within_params)
                small = stats.docs[0] > self.postings_share * size
                large = size >= self.large_user
                if large or small:
                    version = self._version(scope)
            for weight, group in by_weight.items():
                for field, (table, table_weight) in enumerate(tables):
                    rows = None
                    if stats is not None and (large or small):
                        user_keys = (within_params[0], within_params[1])
                        found = _Found(
                            scope.tenant, (own, ctx), postings_table(own), user_keys, params, clause, by_rowid
                        )
                        rows = self._in_memory(table, found, field, group, stats, depth, version, not whole)
                    if rows is None:  # FTS5 scores: a whole tenant (every match), or a phrase in the group
                        rows = self._conn.query(
                            f"SELECT i.id, -bm25({table}) FROM {table} JOIN items i ON i.rowid = ({table}.rowid & {_ITEM_MASK})"
                            f" WHERE {table} MATCH ?{within.format(table=table)} AND {clause}"
                            f" ORDER BY bm25({table}), i.rowid LIMIT ?",
                            [_fts_query(group), *within_params, *params, depth],
                        )
                    for item_id, score in rows:
                        scores[item_id] = scores.get(item_id, 0.0) + weight * table_weight * float(score)
        return heapq.nsmallest(k, scores.items(), key=lambda kv: (-kv[1], kv[0]))  # sorted(...)[:k]

    @staticmethod
    def _by_rowid(scope: Scope, filters: SearchFilters | None) -> tuple[str, list[Any]]:
        """The scope's and filters' conditions on ``items i`` for rows read by rowid: the scope's
        columns under a unary ``+`` (:func:`~outcrop.stores.sqlite.rows.by_ids`), else SQLite's
        planner walks the scope's index (every item of a 100k-item user: ~0.2 s) instead of
        seeking each rowid."""
        clause, params = by_ids(scope, alias="i")
        extra, extra_params = filter_clause(filters, alias="i")
        return (f"{clause} AND {extra}", [*params, *extra_params]) if extra else (clause, params)

    def _size(self, scope: Scope, own: str, tenant_docs: int, bounds: Sequence[int]) -> int:
        """The user's documents, remembered until its tenant's size moves by an eighth. A user
        under 1/``postings_share`` of its tenant is scored from its postings (:meth:`_in_memory`):
        FTS5's ``bm25()``, whose IDF walks each term's postings over the whole tenant, costs more
        there; scoring the postings costs ~3x FTS5's per matching row, so above that share
        ``bm25()`` costs less. A user of ``large_user`` documents or more takes :meth:`_in_memory`.
        Every path gives the same scores."""
        key = (scope.tenant, scope.user_id or "")
        known = self._sizes.get(key)
        if known is None or abs(tenant_docs - known[1]) * 8 > known[1]:
            (count,) = self._conn.query(f"SELECT count(*) FROM {own} WHERE rowid BETWEEN ? AND ?", list(bounds))[0]
            if len(self._sizes) >= _REMEMBERED:
                self._sizes.clear()
            known = self._sizes[key] = (int(count), tenant_docs)
        return known[0]

    def _version(self, scope: Scope) -> int:
        """The user's lexical version (``lexical_users.version``): every write of its documents moves it."""
        rows = self._conn.query(
            "SELECT version FROM lexical_users WHERE part = ?", (vector_part(scope.tenant, scope.user_id or ""),)
        )
        return int(rows[0][0]) if rows else 0

    def _statistics(self, tenant: str, terms: Iterable[str]) -> _Statistics:
        """The tenant's documents and tokens per field, and its documents per field of each
        one-token term among ``terms``."""
        row = self._conn.query(
            "SELECT own_docs, own_tokens, ctx_docs, ctx_tokens, version FROM lexical_stats WHERE tenant = ?", (tenant,)
        )
        docs, tokens = ((int(row[0][0]), int(row[0][2])), (int(row[0][1]), int(row[0][3]))) if row else ((0, 0), (0, 0))
        version = int(row[0][4]) if row else 0
        single = sorted({term_key(p[0]) for p in map(self._tokens.phrase, terms) if len(p) == 1})
        frequencies: dict[int, tuple[int, int]] = {}
        for chunk in chunks(single):
            for term, own_df, ctx_df in self._conn.query(
                f"SELECT term, own_df, ctx_df FROM lexical_terms WHERE tenant = ? AND term IN ({','.join('?' * len(chunk))})",
                [tenant, *chunk],
            ):
                frequencies[int(term)] = (int(own_df), int(ctx_df))
        return _Statistics(docs, tokens, frequencies, version)

    def _in_memory(
        self,
        table: str,
        found: _Found,
        field: int,
        group: Sequence[str],
        stats: _Statistics,
        depth: int,
        version: int,
        filtered: bool,
    ) -> list[ScoredId] | None:
        """The top ``depth`` of a user's documents in ``table`` (field ``field``) for the terms of
        ``group``, with ``bm25()``'s scores to the bit, from the user's postings of those terms held
        in memory (:mod:`~outcrop.stores.sqlite.postings`: read once per user version, scored in
        numpy) instead of FTS5 scoring every match (~1.2 µs a row: a large user's names and months
        are in 8-15k of its documents each). Taken by a user of ``large_user`` documents or more
        and by a small share of its tenant, with or without an agent, session or filter (no positions in
        the postings: a phrase's occurrences are FTS5's matches in the user's range, its IDF its
        documents in the tenant, counted once per tenant version; not counted at all when the
        user's range holds none, since its part is then 0 whatever its IDF). With ``filtered`` (an agent,
        session or filter on the items) the documents whose items the clause allows are found from
        the ranking's head (:meth:`_allowed`); without, the top ``depth`` are joined after the cut. None if an item is missing (the caller's join then drops it, as before)."""
        docs, tokens = stats.docs[field], stats.tokens[field]
        if not docs:
            return []
        terms: list[tuple[FieldPostings, float]] = []
        for term in group:
            phrase = self._tokens.phrase(term)
            if not phrase:  # a term without tokens occurs nowhere
                continue
            postings = self._postings(found, field, term, phrase, version)
            if postings is None:
                return None
            if not len(postings.keys):  # no part in any document: its IDF does not matter
                continue
            if len(phrase) == 1:
                hits = stats.frequencies.get(term_key(phrase[0]), (0, 0))[field]
            else:
                hits = self._phrase_hits(table, term, phrase, stats.version)
            terms.append((postings, idf(docs, hits)))
        keys, scores = sums(terms, tokens / docs)
        if not filtered:
            return self._ranked(table, found, group, depth, cut(keys, scores, depth))
        return self._allowed(found, keys, scores, depth)

    def _allowed(
        self, found: _Found, keys: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], depth: int
    ) -> list[ScoredId]:
        """The top ``depth`` of documents ``keys`` (with ``scores``) whose items the scope's clause
        (an agent, session or filter) allows, in rank order (score, then the older item): the
        ranking is walked from its head, its items read by rowid with the clause (twice ``depth``
        first, then eight times more, while that stays within :data:`_WALK`), and where few of many
        scored documents pass (a narrow window over a large user) the items the clause allows are
        read once instead (the scope's index) and the scores masked by them."""
        reach = 2 * depth
        while True:
            ranked = cut(keys, scores, reach)
            allowed: dict[int, str] = {}
            for chunk in chunks([key & _ITEM_MASK for key, _ in ranked]):
                allowed.update(
                    self._conn.query(
                        f"SELECT i.rowid, i.id FROM items i WHERE i.rowid IN ({','.join('?' * len(chunk))})"
                        f" AND {found.by_rowid[0]}",
                        [*chunk, *found.by_rowid[1]],
                    )
                )
            kept = [(str(allowed[key & _ITEM_MASK]), score) for key, score in ranked if key & _ITEM_MASK in allowed]
            if len(kept) >= depth or reach >= len(keys):
                return kept[:depth]
            if reach * 8 > _WALK:
                break
            reach *= 8
        ids = dict(self._conn.query(f"SELECT i.rowid, i.id FROM items i WHERE {found.clause}", found.params))
        rowids = np.fromiter(ids, dtype=np.int64, count=len(ids))
        mask = np.isin(keys & _ITEM_MASK, rowids)
        return [(str(ids[key & _ITEM_MASK]), score) for key, score in cut(keys[mask], scores[mask], depth)]

    def _postings(
        self, found: _Found, field: int, term: str, phrase: tuple[str, ...], version: int
    ) -> FieldPostings | None:
        """A term's (or a phrase's) postings of field ``field`` in the user's range
        ``found.bounds``, from the cache while the user's lexical version is ``version``, patched
        for the documents written since it was read (:meth:`_changed`), else read now and kept.
        None if a document has no length kept (the caller asks FTS5)."""
        number = found.bounds[0] >> LEXICAL_ITEM_BITS
        name = ("own", "ctx")[field]
        what = (" ".join(phrase) if len(phrase) > 1 else str(term_key(phrase[0]))) + ":" + name
        entry = self.postings.entry((found.tenant, number, what))
        if entry is not None and isinstance(entry[1], FieldPostings) and entry[0] == version:
            return entry[1]
        lengths = self._lengths(found, version)
        changed = None
        if entry is not None and isinstance(entry[1], FieldPostings):
            changed = self._changed(found, entry[0], version)
        if changed is not None:
            assert entry is not None and isinstance(entry[1], FieldPostings)
            held = entry[1]
            rows = self._read(found, field, term, phrase, changed)
            fresh = lengths.postings(field, rows[:, 0].copy(), rows[:, 1])
            if fresh is not None:
                keys, (freq, length) = patched(
                    held.keys, (held.freq, held.length), changed, fresh.keys, (fresh.freq, fresh.length)
                )
                now = FieldPostings(keys, freq, length)
                self.postings.put((found.tenant, number, what), version, now)
                return now
        rows = self._read(found, field, term, phrase, None)
        postings = lengths.postings(field, rows[:, 0].copy(), rows[:, 1])
        if postings is not None:
            self.postings.put((found.tenant, number, what), version, postings)
        return postings

    def _read(
        self, found: _Found, field: int, term: str, phrase: tuple[str, ...], keys: npt.NDArray[np.int64] | None
    ) -> npt.NDArray[np.int64]:
        """(key, occurrences) rows, by key, of a term's (or a phrase's) postings of field ``field``
        in the user's range, or in its documents ``keys`` only: for a term from the postings kept on
        write (its packs of the user, then its rows in the tail), for a phrase from FTS5's matches (or the documents' text) tokenised again."""
        name = ("own", "ctx")[field]
        number = found.bounds[0] >> LEXICAL_ITEM_BITS
        if len(phrase) == 1 and keys is None:  # the packs (most), then the tail (since the last fold)
            packed = unpack(
                self._conn.query(
                    f"SELECT number, block, keys, {name} FROM {packs_table(found.tables[0])}"
                    " WHERE term = ? AND number = ? ORDER BY block",
                    [term_key(phrase[0]), number],
                )
            )
            ((text,),) = self._conn.query(
                f"SELECT group_concat(key || ',' || {name}, ',') FROM {found.postings}"
                f" WHERE term = ? AND key BETWEEN ? AND ? AND {name} > 0",
                [term_key(phrase[0]), *found.bounds],
            )
            if not text:  # packs in block order, each in key order
                return packed
            rows = np.concatenate((packed, numbers(text, 2)))
        elif len(phrase) == 1:
            assert keys is not None
            found_rows: list[tuple[Any, ...]] = []
            for chunk in chunks([int(k) for k in keys]):
                found_rows += self._conn.query(
                    f"SELECT key, {name} FROM {found.postings}"
                    f" WHERE term = ? AND key IN ({','.join('?' * len(chunk))}) AND {name} > 0",
                    [term_key(phrase[0]), *chunk],
                )
            blocks = sorted({(int(k) & _ITEM_MASK) >> BLOCK_BITS for k in keys})
            packs: list[tuple[Any, ...]] = []
            for chunk in chunks(blocks):
                packs += self._conn.query(
                    f"SELECT number, block, keys, {name} FROM {packs_table(found.tables[0])}"
                    f" WHERE term = ? AND number = ? AND block IN ({','.join('?' * len(chunk))}) ORDER BY block",
                    [term_key(phrase[0]), number, *chunk],
                )
            packed = unpack(packs)
            packed = packed[np.isin(packed[:, 0], keys)]
            rows = np.concatenate((packed, np.array(found_rows, dtype=np.int64).reshape(-1, 2)))
        else:
            table = found.tables[field]
            if keys is None:
                matched = self._conn.query(
                    f"SELECT rowid, body FROM {table} WHERE {table} MATCH ? AND rowid BETWEEN ? AND ?",
                    [_fts_query([term]), *found.bounds],
                )
            else:
                matched = []
                for chunk in chunks([int(k) for k in keys]):
                    matched += self._conn.query(
                        f"SELECT rowid, body FROM {table} WHERE rowid IN ({','.join('?' * len(chunk))})", chunk
                    )
            counts = self._tokens.occurrences([str(r[1]) for r in matched], phrase)
            rows = np.array([(r[0], n) for r, n in zip(matched, counts, strict=True) if n > 0], dtype=np.int64)
            rows = rows.reshape(-1, 2)
        return rows[np.argsort(rows[:, 0], kind="stable")]

    def _changed(self, found: _Found, since: int, version: int) -> npt.NDArray[np.int64] | None:
        """The user's documents (keys, ascending) that the writes from its lexical version
        ``since`` to ``version`` touched, from the journal (``lexical_changes``); None where it does
        not reach back that far (a version not journaled) or they are more than :data:`_PATCHED`
        (reading the whole entry again then costs less)."""
        if not since < version <= since + _JOURNALED:
            return None
        number = found.bounds[0] >> LEXICAL_ITEM_BITS
        memo = (found.tenant, number, since, version)
        known = self._journal.get(memo)
        if known is not None:
            return known
        rows = self._conn.query(
            "SELECT keys FROM lexical_changes WHERE tenant = ? AND number = ? AND version > ? AND version <= ?",
            [found.tenant, number, since, version],
        )
        if len(rows) != version - since:
            return None
        keys = np.unique(np.concatenate([np.frombuffer(r[0], dtype="<i8") for r in rows]).astype(np.int64))
        if len(keys) > _PATCHED:
            return None
        if len(self._journal) >= _REMEMBERED:
            self._journal.clear()
        self._journal[memo] = keys
        return keys

    def _lengths(self, found: _Found, version: int) -> Lengths:
        """The user's documents' lengths per field, from the cache while its lexical version is
        ``version``, patched for the documents written since it was read (:meth:`_changed`), else
        read now (one statement) and kept."""
        key = (found.tenant, found.bounds[0] >> LEXICAL_ITEM_BITS, "lengths")
        entry = self.postings.entry(key)
        if entry is not None and isinstance(entry[1], Lengths):
            if entry[0] == version:
                return entry[1]
            changed = self._changed(found, entry[0], version)
            if changed is not None:
                fresh: list[tuple[Any, ...]] = []
                for chunk in chunks([int(k) for k in changed]):
                    fresh += self._conn.query(
                        f"SELECT key, own_len, coalesce(ctx_len, 0) FROM lexical_docs"
                        f" WHERE key IN ({','.join('?' * len(chunk))})",
                        chunk,
                    )
                held = entry[1]
                rows = np.array(fresh, dtype=np.int64).reshape(-1, 3)
                rows = rows[np.argsort(rows[:, 0], kind="stable")]
                keys, (own, ctx) = patched(
                    held.keys, (held.own, held.ctx), changed, rows[:, 0].copy(), (rows[:, 1], rows[:, 2])
                )
                lengths = Lengths(keys, own, ctx)
                self.postings.put(key, version, lengths)
                return lengths
        ((text,),) = self._conn.query(
            "SELECT group_concat(key || ',' || own_len || ',' || coalesce(ctx_len, 0), ',') FROM lexical_docs"
            " WHERE key BETWEEN ? AND ?",
            list(found.bounds),
        )
        rows = numbers(text, 3)
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        lengths = Lengths(rows[:, 0].copy(), rows[:, 1].astype(np.int32), rows[:, 2].astype(np.int32))
        self.postings.put(key, version, lengths)
        return lengths

    def _phrase_hits(self, table: str, term: str, phrase: tuple[str, ...], version: int) -> int:
        """The documents of ``table`` (a whole tenant's) holding the phrase: FTS5's own count for
        its IDF (``xQueryPhrase``: every row matching it), made once per tenant version."""
        key = (table, term, phrase)
        known = self._phrase_docs.get(key)
        if known is not None and known[0] == version:
            return known[1]
        ((hits,),) = self._conn.query(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", [_fts_query([term])])
        if len(self._phrase_docs) >= _REMEMBERED:
            self._phrase_docs.clear()
        self._phrase_docs[key] = (version, int(hits))
        return int(hits)

    def _ranked(
        self, table: str, found: _Found, group: Sequence[str], depth: int, top: list[tuple[int, float]] | None
    ) -> list[ScoredId] | None:
        """Documents' (key, score) in rank order as (item id, score), the items read by rowid after
        the cut; with ``top`` None, FTS5's top ``depth`` of ``group`` in the user's range. None if
        an item is missing (the caller's join then drops it, as before)."""
        if top is None:
            top = [
                (int(key), float(score))
                for key, score in self._conn.query(
                    f"SELECT rowid, -bm25({table}) FROM {table} WHERE {table} MATCH ? AND rowid BETWEEN ? AND ?"
                    f" ORDER BY bm25({table}), rowid LIMIT ?",
                    [_fts_query(group), *found.bounds, depth],
                )
            ]
        ids: dict[int, str] = {}
        for chunk in chunks([key & _ITEM_MASK for key, _ in top]):
            ids.update(
                self._conn.query(f"SELECT rowid, id FROM items WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)
            )
        if len(ids) < len(top):
            return None
        return [(str(ids[key & _ITEM_MASK]), score) for key, score in top]

    def documents(self, scope: Scope, ids: Sequence[str]) -> dict[str, LexicalDocument]:
        names = self._tables(scope.tenant)
        if names is None:
            return {}
        own, ctx = names
        clause, params = by_ids(scope)
        out: dict[str, LexicalDocument] = {}
        for chunk in chunks(ids):
            rows = self._conn.query(
                f"SELECT id, rowid, user_id FROM items WHERE id IN ({','.join('?' * len(chunk))}) AND {clause}"
                f" {by_ids_order(scope)}",
                [*chunk, *params],
            )
            keys: dict[int, str] = {}
            for item_id, rowid, user_id in rows:
                number = self._number(scope.tenant, user_id)
                if number is not None:
                    keys[lexical_key(number, rowid)] = item_id
            if not keys:
                continue
            marks = ",".join("?" * len(keys))
            bodies = [
                dict(self._conn.query(f"SELECT rowid, body FROM {table} WHERE rowid IN ({marks})", list(keys)))
                for table in (own, ctx)
            ]
            own_bodies, context_bodies = bodies
            out.update(
                {
                    i: LexicalDocument(own_bodies[key], context_bodies.get(key) or "")
                    for key, i in keys.items()
                    if key in own_bodies
                }
            )
        return out
