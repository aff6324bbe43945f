"""BM25 through SQLite's FTS5: two indexes, ``items_fts`` (each item's own text with its speaker
and date) and ``items_context_fts`` (its neighbouring turns), keyed by the item's rowid."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from outcrop.core.documents import LexicalDocument
from outcrop.core.types import Scope
from outcrop.stores.base import ScoredId, SearchFilters
from outcrop.stores.sql import scope_clause
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.rows import where

__all__ = ["SQLiteLexical"]

_TABLES = ("items_fts", "items_context_fts")


def _fts_query(terms: Iterable[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class SQLiteLexical:
    """See :class:`outcrop.stores.base.LexicalIndex`."""

    def __init__(self, connection: SQLiteConnection) -> None:
        self._conn = connection

    # -- inside the records' transactions ---------------------------------------------------
    @staticmethod
    def put(db: sqlite3.Connection, rowid: int, document: LexicalDocument, replace: bool = True) -> None:
        if replace:
            SQLiteLexical.drop(db, [rowid])
        db.execute("INSERT INTO items_fts(rowid, body) VALUES (?, ?)", (rowid, document.own))
        if document.context:
            db.execute("INSERT INTO items_context_fts(rowid, body) VALUES (?, ?)", (rowid, document.context))

    @staticmethod
    def drop(db: sqlite3.Connection, rowids: Sequence[int]) -> None:
        for table in _TABLES:
            db.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(r,) for r in rowids])

    @staticmethod
    def optimize(db: sqlite3.Connection) -> None:
        """Merge the index segments: a deleted document's terms otherwise stay in old segments."""
        for table in _TABLES:
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
        if not terms:
            return []
        clause, params = where(scope, filters, alias="i")
        # BM25 of an OR query is the sum of its terms' contributions, so weighted terms are
        # scored as one MATCH per distinct weight, each group's scores scaled and added.
        by_weight: dict[float, list[str]] = {}
        for term, weight in terms.items():
            by_weight.setdefault(round(weight, 3), []).append(term)
        tables = [("items_fts", 1.0)] + ([("items_context_fts", context_weight)] if context_weight > 0 else [])
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
        clause, params = scope_clause(scope, "i")
        out: dict[str, LexicalDocument] = {}
        for chunk in chunks(ids):
            rows = self._conn.query(
                f"SELECT i.id, f.body, c.body FROM items i JOIN items_fts f ON f.rowid = i.rowid"
                f" LEFT JOIN items_context_fts c ON c.rowid = i.rowid"
                f" WHERE i.id IN ({','.join('?' * len(chunk))}) AND {clause}",
                [*chunk, *params],
            )
            out.update({row[0]: LexicalDocument(row[1], row[2] or "") for row in rows})
        return out
