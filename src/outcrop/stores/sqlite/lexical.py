"""BM25 through SQLite's FTS5, one index per tenant: each tenant's documents live in two FTS5
tables of its own (``<stem>_own``: an item's own text with its speaker and date;
``<stem>_ctx``: its neighbouring turns), keyed by the item's rowid and named in
``lexical_tables``. BM25's document frequencies and average lengths are therefore the tenant's
own, so another tenant's writes never move a score, and a search reads one tenant's index only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from outcrop.core.documents import LexicalDocument
from outcrop.core.types import Scope
from outcrop.stores.base import ScoredId, SearchFilters
from outcrop.stores.sql import scope_clause
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.rows import where
from outcrop.stores.sqlite.schema import create_lexical_tables

__all__ = ["SQLiteLexical"]


def _fts_query(terms: Iterable[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class SQLiteLexical:
    """See :class:`outcrop.stores.base.LexicalIndex`."""

    def __init__(self, connection: SQLiteConnection) -> None:
        self._conn = connection
        self._names: dict[str, tuple[str, str]] = {}  # tenant -> (own, ctx): tables are never renamed

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

    # -- inside the records' transactions ---------------------------------------------------
    def put(
        self, db: sqlite3.Connection, tenant: str, rowid: int, document: LexicalDocument, replace: bool = True
    ) -> None:
        # made in the writing transaction (not cached until seen committed: a rollback undoes them)
        own, ctx = self._tables(tenant, db) or create_lexical_tables(db, tenant)
        if replace:
            self.drop(db, tenant, [rowid])
        db.execute(f"INSERT INTO {own}(rowid, body) VALUES (?, ?)", (rowid, document.own))
        if document.context:
            db.execute(f"INSERT INTO {ctx}(rowid, body) VALUES (?, ?)", (rowid, document.context))

    def drop(self, db: sqlite3.Connection, tenant: str, rowids: Sequence[int]) -> None:
        for table in self._tables(tenant, db) or ():
            db.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(r,) for r in rowids])

    @staticmethod
    def optimize(db: sqlite3.Connection) -> None:
        """Merge every index's segments: a deleted document's terms otherwise stay in old segments."""
        for own, ctx in db.execute("SELECT own, ctx FROM lexical_tables").fetchall():
            for table in (own, ctx):
                db.execute(f"INSERT INTO {table}({table}) VALUES('optimize')")

    # -- the seam ----------------------------------------------------------------------------
    def search(
        self,
        scope: Scope,
        terms: dict[str, float],
        k: int,
        filters: SearchFilters | None = None,
        context_weight: float = 0.0,
    ) -> list[ScoredId]:
        names = self._tables(scope.tenant)
        if not terms or names is None:
            return []
        own, ctx = names
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
                    f"SELECT i.id, -bm25({table}) FROM {table} JOIN items i ON i.rowid = {table}.rowid"
                    f" WHERE {table} MATCH ? AND {clause} ORDER BY bm25({table}) LIMIT ?",
                    [_fts_query(group), *params, depth],
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
        clause, params = scope_clause(scope, "i")
        out: dict[str, LexicalDocument] = {}
        for chunk in chunks(ids):
            rows = self._conn.query(
                f"SELECT i.id, f.body, c.body FROM items i JOIN {own} f ON f.rowid = i.rowid"
                f" LEFT JOIN {ctx} c ON c.rowid = i.rowid"
                f" WHERE i.id IN ({','.join('?' * len(chunk))}) AND {clause}",
                [*chunk, *params],
            )
            out.update({row[0]: LexicalDocument(row[1], row[2] or "") for row in rows})
        return out
