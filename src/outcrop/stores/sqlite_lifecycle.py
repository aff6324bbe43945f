"""Lifecycle operations of the SQLite store: read the log, erase records physically, scrub the
file, and build a second vector index beside the active one and switch to it.

Erasure is physical: rows are deleted, and :meth:`SQLiteLifecycle.scrub` then merges the FTS5
index segments (``optimize``: a deleted document's terms otherwise stay in old segments until a
merge), rewrites the file with ``VACUUM`` (no freed page or cell keeps old bytes) and truncates
the write-ahead log (``wal_checkpoint(TRUNCATE)``: old frames would still hold old pages).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import numpy as np

from outcrop.core.time.clock import format_time, now
from outcrop.core.types import LogRecord, Scope
from outcrop.errors import InvalidInputError, StoreError
from outcrop.stores.base import VectorSpace
from outcrop.stores.sql import scope_clause
from outcrop.stores.vector_index import VectorIndex

__all__ = ["SQLiteLifecycle", "drop_links"]


def drop_links(db: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> None:
    """Remove every link with an end among ``ids`` (their items are going)."""
    for chunk in _chunks(list(ids), 400):
        marks = ",".join("?" * len(chunk))
        db.execute(
            f"DELETE FROM item_links WHERE tenant = ? AND (src IN ({marks}) OR dst IN ({marks}))",
            [tenant, *chunk, *chunk],
        )


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SQLiteLifecycle:
    """Mixed into :class:`~outcrop.stores.sqlite.SQLiteStore`."""

    _db: sqlite3.Connection
    _lock: threading.RLock
    _indexes: dict[str, VectorIndex]

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _bump_epoch(self, db: sqlite3.Connection) -> None:
        raise NotImplementedError

    def deleted_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        where, params = scope_clause(scope)
        found: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT json_extract(payload, '$.item_id') FROM log WHERE kind = 'delete' AND {where}"
                f" AND json_extract(payload, '$.item_id') IN ({marks})",
                [*params, *chunk],
            )
            found.update(r[0] for r in rows)
            # a merged fact's delete also tombstones the facts it absorbed
            rows = self._query(
                f"SELECT j.value FROM log, json_each(log.payload, '$.absorbed') AS j WHERE log.kind = 'delete'"
                f" AND {scope_clause(scope, 'log')[0]} AND j.value IN ({marks})",
                [*params, *chunk],
            )
            found.update(r[0] for r in rows)
        return found

    def record_access(self, tenant: str, counts: Mapping[str, int], at: datetime) -> None:
        stamp = format_time(at)
        with self._transaction() as db:
            for chunk in _chunks(list(counts)):
                marks = ",".join("?" * len(chunk))
                live = [
                    r[0]
                    for r in db.execute(f"SELECT id FROM items WHERE tenant = ? AND id IN ({marks})", [tenant, *chunk])
                ]
                db.executemany(
                    "INSERT INTO item_access (tenant, item_id, count, last_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (tenant, item_id) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at",
                    [(tenant, item_id, int(counts[item_id]), stamp) for item_id in live],
                )

    def access_counts(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        where, params = scope_clause(scope, alias="i")
        found: dict[str, int] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                "SELECT a.item_id, a.count FROM item_access a JOIN items i ON i.tenant = a.tenant AND i.id = a.item_id"
                f" WHERE a.item_id IN ({marks}) AND {where}",
                [*chunk, *params],
            )
            found.update((r[0], int(r[1])) for r in rows)
        return found

    def log_records(
        self, scope: Scope, *, ids: Sequence[str] | None = None, offset: int = 0, limit: int = 1000
    ) -> list[LogRecord]:
        where, params = scope_clause(scope)
        columns = "id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at"
        if ids is None:
            rows = self._query(
                f"SELECT {columns} FROM log WHERE {where} ORDER BY seq LIMIT ? OFFSET ?", [*params, limit, offset]
            )
        else:
            rows = []
            for chunk in _chunks(list(dict.fromkeys(ids))):
                marks = ",".join("?" * len(chunk))
                rows.extend(
                    self._query(f"SELECT seq, {columns} FROM log WHERE id IN ({marks}) AND {where}", [*chunk, *params])
                )
            rows = [row[1:] for row in sorted(rows)][offset : offset + limit]
        return [
            LogRecord(
                id=r[0],
                scope=Scope(tenant=r[1], user_id=r[2], agent_id=r[3], session_id=r[4]),
                kind=r[5],
                payload=json.loads(r[6]),
                content_hash=r[7],
                recorded_at=datetime.fromisoformat(r[8]),
            )
            for r in rows
        ]

    def erase(self, scope: Scope, log_ids: Sequence[str], item_ids: Sequence[str]) -> int:
        where, params = scope_clause(scope)
        erased = 0
        users: set[tuple[str, str]] = set()
        with self._transaction() as db:
            for chunk in _chunks(list(dict.fromkeys(item_ids))):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT rowid, id, tenant, user_id FROM items WHERE id IN ({marks}) AND {where}",
                    [*chunk, *params],
                ).fetchall()
                rowids = [(r[0],) for r in rows]
                db.executemany("DELETE FROM items_fts WHERE rowid = ?", rowids)
                db.executemany("DELETE FROM items_context_fts WHERE rowid = ?", rowids)
                db.executemany("DELETE FROM vectors WHERE item_rowid = ?", rowids)
                db.executemany("DELETE FROM items WHERE rowid = ?", rowids)
                db.executemany("DELETE FROM item_sources WHERE item_id = ?", [(r[1],) for r in rows])
                drop_links(db, scope.tenant, [r[1] for r in rows])
                users.update((r[2], r[3]) for r in rows)
                erased += len(rows)
                # Versions of these ids, live or deleted earlier (a deleted item has no row left),
                # as long as the log records they cite are in scope.
                db.execute(
                    f"DELETE FROM item_versions WHERE tenant = ? AND item_id IN ({marks})"
                    f" AND log_id IN (SELECT id FROM log WHERE {where})",
                    [scope.tenant, *chunk, *params],
                )
                db.execute(f"DELETE FROM item_access WHERE tenant = ? AND item_id IN ({marks})", [scope.tenant, *chunk])
            for chunk in _chunks(list(dict.fromkeys(log_ids))):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT id, tenant, user_id FROM log WHERE id IN ({marks}) AND {where}", [*chunk, *params]
                ).fetchall()
                found = [(r[0],) for r in rows]
                db.executemany("DELETE FROM item_versions WHERE log_id = ?", found)
                db.executemany("DELETE FROM log WHERE id = ?", found)
                users.update((r[1], r[2]) for r in rows)
                erased += len(rows)
            for tenant, user in users:
                db.execute(
                    "DELETE FROM scope_speakers WHERE tenant = ? AND user_id = ? AND speaker NOT IN"
                    " (SELECT speaker FROM items WHERE tenant = ? AND user_id = ? AND speaker IS NOT NULL)",
                    (tenant, user, tenant, user),
                )
            if erased:
                self._bump_epoch(db)
        return erased

    def scrub(self) -> dict[str, Any]:
        with self._lock:
            try:
                for table in ("items_fts", "items_context_fts"):
                    self._db.execute(f"INSERT INTO {table}({table}) VALUES('optimize')")
                self._db.execute("VACUUM")
                busy, frames, _done = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"scrub failed: {exc}") from None
        return {"fts_optimized": True, "vacuumed": True, "wal_truncated": busy == 0, "wal_frames": frames}

    def put_vectors(self, scope: Scope, space: VectorSpace, vectors: Mapping[str, np.ndarray]) -> int:
        where, params = scope_clause(scope)
        written = 0
        with self._transaction() as db:
            row = db.execute("SELECT dim FROM vector_spaces WHERE name = ?", (space.name,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO vector_spaces (name, embedder, dim, active, created_at) VALUES (?, ?, ?, 0, ?)",
                    (space.name, space.embedder, space.dim, format_time(now())),
                )
            for chunk in _chunks(list(vectors)):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT rowid, id FROM items WHERE id IN ({marks}) AND {where}", [*chunk, *params]
                ).fetchall()
                for rowid, item_id in rows:
                    vector = np.asarray(vectors[item_id], dtype=np.float32)
                    if vector.shape != (space.dim,):
                        raise InvalidInputError(f"vector of {item_id} has shape {vector.shape}, not ({space.dim},)")
                    db.execute(
                        "INSERT OR REPLACE INTO vectors (item_rowid, space, vec) VALUES (?, ?, ?)",
                        (rowid, space.name, vector.tobytes()),
                    )
                    written += 1
            self._bump_epoch(db)
        return written

    def activate_space(self, space: VectorSpace) -> list[str]:
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM vector_spaces WHERE name = ?", (space.name,)).fetchone() is None:
                raise InvalidInputError(f"no vector index {space.name!r} in this store; build it first")
            missing = [
                row[0]
                for row in db.execute(
                    "SELECT i.id FROM items i WHERE EXISTS (SELECT 1 FROM vectors v WHERE v.item_rowid = i.rowid)"
                    " AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.item_rowid = i.rowid AND v.space = ?)"
                    " ORDER BY i.id",
                    (space.name,),
                )
            ]
            if missing:
                return missing
            db.execute("UPDATE vector_spaces SET active = (name = ?)", (space.name,))
            db.execute("DELETE FROM vectors WHERE space != ?", (space.name,))
            db.execute("DELETE FROM vector_spaces WHERE name != ?", (space.name,))
            self._bump_epoch(db)
        with self._lock:
            for name in [n for n in self._indexes if n != space.name]:
                del self._indexes[name]
        return []
