"""SQL pieces every part of the PostgreSQL store shares: placeholders, columns, vectors, scope."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg

from outcrop.core.types import Level, Scope, Vectors
from outcrop.stores.base import SearchFilters
from outcrop.stores.sql import ITEM_COLUMNS, LOG_COLUMNS, filter_clause, scope_clause

__all__ = [
    "ITEM_COLS",
    "ITEM_SOURCES",
    "LOG_COLS",
    "Conn",
    "ScopeSizes",
    "ids_in_scope",
    "pg",
    "sees_every_tenant",
    "vec",
    "vector_of",
    "where",
]

Conn = psycopg.Connection[tuple[Any, ...]]
ITEM_COLS = ITEM_COLUMNS.replace("timestamp", '"timestamp"')
# An item row's sources in sorted order, read in the statement that reads the item (one round trip
# for every read that builds items, not a second statement for their sources)
ITEM_SOURCES = (
    "ARRAY(SELECT s.source_id FROM item_sources s WHERE s.tenant = items.tenant AND s.item_id = items.id"
    ' ORDER BY s.source_id COLLATE "C")'
)
LOG_COLS = LOG_COLUMNS  # no reserved word to quote


def pg(clause: str) -> str:
    """``?`` placeholders (stores/sql.py) as psycopg's ``%s``."""
    return clause.replace("timestamp", '"timestamp"').replace("?", "%s")


def vec(vector: np.ndarray) -> str:
    """A vector as pgvector's text input."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32).ravel()) + "]"


def vector_of(data: bytes) -> Vectors:
    """A ``vector`` in pgvector's binary output (``int16`` dimensions, ``int16`` unused, then the
    big-endian float4s) as a float32 array: the stored bits, no text in between."""
    (dim,) = struct.unpack_from(">h", data)
    return np.frombuffer(data, dtype=">f4", count=dim, offset=4).astype(np.float32)


def where(
    scope: Scope, filters: SearchFilters | None, levels: Sequence[Level] = (), alias: str = ""
) -> tuple[str, list[Any]]:
    """The scope, filters and levels as one ``%s`` clause and its parameters."""
    clause, params = scope_clause(scope, alias)
    extra, extra_params = filter_clause(filters, alias, json_text="({col} ->> ?)")
    if extra:
        # metadata values compare as the text ``->>`` yields: JSON numbers and booleans as JSON
        clause = f"{clause} AND {extra}"
        params = [*params, *(p if isinstance(p, str) else json.dumps(p) for p in extra_params)]
    if levels:
        prefix = f"{alias}." if alias else ""
        clause += f" AND {prefix}level IN ({','.join('?' * len(levels))})"
        params.extend(level.value for level in levels)
    return pg(clause), params


def ids_in_scope(conn: Conn, scope: Scope, ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` that are items in ``scope`` (inside the caller's transaction)."""
    clause, params = scope_clause(scope)
    rows = conn.execute(
        f"SELECT id FROM items WHERE id = ANY(%s) AND {pg(clause)}".encode(), [list(dict.fromkeys(ids)), *params]
    ).fetchall()
    return [r[0] for r in rows]


def sees_every_tenant(conn: Conn) -> bool:
    """Whether ``conn``'s role reads past row-level security (a superuser, or ``BYPASSRLS``): what
    store-wide work over every tenant's rows needs."""
    row = conn.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


class ScopeSizes:
    """A scope's items counted up to a limit (which path a search takes: exact or approximate
    vectors, every BM25 term or a large scope's), with the scopes found at the limit remembered
    for :attr:`ttl` seconds in this process: counting a large scope's first 20,000 index entries
    cost ~30 ms a search at 1.1M turns, and a scope that large does not shrink under a limit in
    seconds. Smaller counts are taken again each time (they are cheap, and a test or a new user
    crosses its limits). Either path returns a right answer, so a stale count only picks the path."""

    ttl: float = 30.0

    def __init__(self) -> None:
        self._large: dict[tuple[str, tuple[Any, ...], int], float] = {}
        self._lock = threading.Lock()

    def reaches(self, conn: Conn, clause: str, params: Sequence[Any], limit: int) -> bool:
        """Whether the items matching ``clause`` (alias ``i``) number at least ``limit``."""
        key = (clause, tuple(params), limit)
        seen = self._large.get(key)
        if seen is not None and time.monotonic() - seen < self.ttl:
            return True
        row = conn.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM items i WHERE {clause} LIMIT %s) s".encode(), [*params, limit]
        ).fetchone()
        large = row is not None and int(row[0]) >= limit
        if large:
            with self._lock:
                if len(self._large) > 10_000:
                    self._large.clear()
                self._large[key] = time.monotonic()
        return large
