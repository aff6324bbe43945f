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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from outcrop.core.documents import LexicalDocument
from outcrop.core.types import Scope
from outcrop.stores.base import ScoredId, SearchFilters
from outcrop.stores.sql import scope_clause
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.rows import where
from outcrop.stores.sqlite.schema import (
    LEXICAL_ITEM_BITS,
    create_lexical_tables,
    lexical_key,
    lexical_number,
    vector_part,
)

__all__ = ["SQLiteLexical"]

_ITEM_MASK = (1 << LEXICAL_ITEM_BITS) - 1  # a lexical rowid's item rowid
_REMEMBERED = 65_536  # users' numbers a process keeps (then starts again: one indexed read each)


def _fts_query(terms: Iterable[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class SQLiteLexical:
    """See :class:`outcrop.stores.base.LexicalIndex`."""

    def __init__(self, connection: SQLiteConnection) -> None:
        self._conn = connection
        self._names: dict[str, tuple[str, str]] = {}  # tenant -> (own, ctx): tables are never renamed
        self._numbers: dict[tuple[str, str], int] = {}  # (tenant, user) -> number, once committed: never changes

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
        # made in the writing transaction (not cached until seen committed: a rollback undoes them)
        own, ctx = self._tables(tenant, db) or create_lexical_tables(db, tenant)
        (user_id,) = db.execute("SELECT user_id FROM items WHERE rowid = ?", (rowid,)).fetchone()
        key = lexical_key(self._number(tenant, user_id, db, create=True) or 0, rowid)
        if replace:
            self._delete(db, (own, ctx), [key])
        db.execute(f"INSERT INTO {own}(rowid, body) VALUES (?, ?)", (key, document.own))
        if document.context:
            db.execute(f"INSERT INTO {ctx}(rowid, body) VALUES (?, ?)", (key, document.context))

    def drop(self, db: sqlite3.Connection, tenant: str, rowids: Sequence[int]) -> None:
        """Remove the documents of items ``rowids`` (call before their rows go)."""
        tables = self._tables(tenant, db)
        if tables is not None and rowids:
            self._delete(db, tables, self._keys(db, tenant, rowids))

    @staticmethod
    def _delete(db: sqlite3.Connection, tables: tuple[str, str], keys: Sequence[int]) -> None:
        for table in tables:
            db.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(k,) for k in keys])

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
        # BM25 of an OR query is the sum of its terms' contributions, so weighted terms are
        # scored as one MATCH per distinct weight, each group's scores scaled and added.
        by_weight: dict[float, list[str]] = {}
        for term, weight in terms.items():
            by_weight.setdefault(round(weight, 3), []).append(term)
        tables = [(own, 1.0)] + ([(ctx, context_weight)] if context_weight > 0 else [])
        depth = max(k, 1) * (1 if len(by_weight) * len(tables) == 1 else 3)
        scores: dict[str, float] = {}
        for weight, group in by_weight.items():
            for table, table_weight in tables:
                rows = self._conn.query(
                    f"SELECT i.id, -bm25({table}) FROM {table} JOIN items i ON i.rowid = ({table}.rowid & {_ITEM_MASK})"
                    f" WHERE {table} MATCH ?{within.format(table=table)} AND {clause}"
                    f" ORDER BY bm25({table}), i.rowid LIMIT ?",
                    [_fts_query(group), *within_params, *params, depth],
                )
                for item_id, score in rows:
                    scores[item_id] = scores.get(item_id, 0.0) + weight * table_weight * float(score)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:k]

    def documents(self, scope: Scope, ids: Sequence[str]) -> dict[str, LexicalDocument]:
        names = self._tables(scope.tenant)
        if names is None:
            return {}
        own, ctx = names
        clause, params = scope_clause(scope)
        out: dict[str, LexicalDocument] = {}
        for chunk in chunks(ids):
            rows = self._conn.query(
                f"SELECT id, rowid, user_id FROM items WHERE id IN ({','.join('?' * len(chunk))}) AND {clause}",
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
