"""The reference BM25 search of the lexical tests: FTS5's own ``bm25()`` over a tenant's tables,
its statistics the whole table's, scores summed per weight group and table, ties at a depth cut
to the older item. It reads both layouts: before migration 0011 a document's rowid is its item's
rowid, after it the item's rowid is the key's low bits (the mask leaves an old rowid as it is)."""

from __future__ import annotations

from typing import Any

from outcrop.core.types import Scope
from outcrop.stores.base import ScoredId
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.lexical import _fts_query
from outcrop.stores.sqlite.rows import where
from outcrop.stores.sqlite.schema import LEXICAL_ITEM_BITS

_MASK = (1 << LEXICAL_ITEM_BITS) - 1


def fts5_search(
    db: sqlite3.Connection, scope: Scope, terms: dict[str, float], k: int, filters: Any, cw: float
) -> list[ScoredId]:
    """The ``k`` best items of ``scope`` for ``terms`` (weight by term), the neighbours' table
    weighted ``cw`` (0: not read)."""
    own, ctx = db.execute("SELECT own, ctx FROM lexical_tables WHERE tenant = ?", (scope.tenant,)).fetchone()
    clause, params = where(scope, filters, alias="i")
    by_weight: dict[float, list[str]] = {}
    for term, weight in terms.items():
        by_weight.setdefault(round(weight, 3), []).append(term)
    tables = [(own, 1.0)] + ([(ctx, cw)] if cw > 0 else [])
    depth = max(k, 1) * (1 if len(by_weight) * len(tables) == 1 else 3)
    scores: dict[str, float] = {}
    for weight, group in by_weight.items():
        for table, table_weight in tables:
            rows = db.execute(
                f"SELECT i.id, -bm25({table}) FROM {table} JOIN items i ON i.rowid = ({table}.rowid & {_MASK})"
                f" WHERE {table} MATCH ? AND {clause} ORDER BY bm25({table}), i.rowid LIMIT ?",
                [_fts_query(group), *params, depth],
            ).fetchall()
            for item_id, score in rows:
                scores[item_id] = scores.get(item_id, 0.0) + weight * table_weight * float(score)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
