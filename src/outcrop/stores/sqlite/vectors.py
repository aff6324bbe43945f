"""Exact cosine search over the vectors in the file, through an in-memory matrix per vector space
(:mod:`outcrop.stores.sqlite.matrix`) that follows the file: extended with new rows, reloaded
whole when the file's ``vectors_epoch`` moved (a delete or replace, in any process)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

import numpy as np

from outcrop.core.time.clock import format_time, now
from outcrop.core.types import Scope, Vectors
from outcrop.errors import ConfigError, InvalidInputError
from outcrop.stores.base import ScoredId, SearchFilters, VectorSpace
from outcrop.stores.sql import scope_clause
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.matrix import VectorMatrix
from outcrop.stores.sqlite.rows import where

__all__ = ["SQLiteVectors"]


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


class SQLiteVectors:
    """See :class:`outcrop.stores.base.VectorIndex`."""

    def __init__(self, connection: SQLiteConnection) -> None:
        self._conn = connection
        self._matrices: dict[str, VectorMatrix] = {}

    # -- inside the records' transactions ---------------------------------------------------
    @staticmethod
    def ensure_space(db: sqlite3.Connection, space: VectorSpace) -> None:
        """Make ``space`` the active one of an empty store, or check it is the active one."""
        active = db.execute("SELECT name FROM vector_spaces WHERE active = 1").fetchone()
        if active is None:
            db.execute(
                "INSERT OR IGNORE INTO vector_spaces (name, embedder, dim, active, created_at) VALUES (?, ?, ?, 1, ?)",
                (space.name, space.embedder, space.dim, format_time(now())),
            )
            db.execute("UPDATE vector_spaces SET active = 1 WHERE name = ?", (space.name,))
        elif active[0] != space.name:
            raise ConfigError(
                f"this store's vectors were made by {active[0]!r}, not {space.name!r}; open it with that embedder"
                " or re-index it into the new one"
            )

    @staticmethod
    def insert(db: sqlite3.Connection, rowid: int, space: VectorSpace, vector: np.ndarray) -> None:
        db.execute("INSERT INTO vectors (item_rowid, space, vec) VALUES (?, ?, ?)", (rowid, space.name, _blob(vector)))

    @staticmethod
    def replace(db: sqlite3.Connection, rowid: int, space: VectorSpace, vector: np.ndarray) -> None:
        """The item's vector in ``space`` replaced (readers reload: the epoch moves)."""
        db.execute("DELETE FROM vectors WHERE item_rowid = ? AND space = ?", (rowid, space.name))
        SQLiteVectors.insert(db, rowid, space, vector)
        SQLiteConnection.bump_epoch(db)

    @staticmethod
    def drop(db: sqlite3.Connection, rowids: Sequence[int]) -> None:
        """The vectors of these items, in every space (the caller moves the epoch)."""
        db.executemany("DELETE FROM vectors WHERE item_rowid = ?", [(r,) for r in rowids])

    # -- the seam ----------------------------------------------------------------------------
    def active_space(self) -> VectorSpace | None:
        rows = self._conn.query("SELECT embedder, dim FROM vector_spaces WHERE active = 1")
        return VectorSpace(rows[0][0], rows[0][1]) if rows else None

    def search(
        self, scope: Scope, space: VectorSpace, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        matrix = self._matrix(space)
        allowed = None
        if filters is not None and not filters.empty:
            clause, params = where(scope, filters)
            allowed = np.asarray(
                [r[0] for r in self._conn.query(f"SELECT rowid FROM items WHERE {clause}", params)], dtype=np.int64
            )
        keep = matrix.mask((scope.tenant, scope.user_id, scope.agent_id, scope.session_id), allowed)
        return matrix.search(np.asarray(vector, dtype=np.float32), k, keep)

    def vectors_for(self, scope: Scope, space: VectorSpace, ids: Sequence[str]) -> dict[str, Vectors]:
        clause, params = scope_clause(scope)
        allowed: set[str] = set()
        for chunk in chunks(list(dict.fromkeys(ids))):
            rows = self._conn.query(
                f"SELECT id FROM items WHERE id IN ({','.join('?' * len(chunk))}) AND {clause}", [*chunk, *params]
            )
            allowed.update(row[0] for row in rows)
        return self._matrix(space).vectors(i for i in ids if i in allowed)

    def put(self, scope: Scope, space: VectorSpace, vectors: Mapping[str, np.ndarray]) -> int:
        clause, params = scope_clause(scope)
        written = 0
        with self._conn.transaction() as db:
            row = db.execute("SELECT dim FROM vector_spaces WHERE name = ?", (space.name,)).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO vector_spaces (name, embedder, dim, active, created_at) VALUES (?, ?, ?, 0, ?)",
                    (space.name, space.embedder, space.dim, format_time(now())),
                )
            for chunk in chunks(list(vectors)):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT rowid, id FROM items WHERE id IN ({marks}) AND {clause}", [*chunk, *params]
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
            SQLiteConnection.bump_epoch(db)
        return written

    def activate(self, space: VectorSpace) -> list[str]:
        with self._conn.transaction() as db:
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
            SQLiteConnection.bump_epoch(db)
        with self._conn.lock:
            for name in [n for n in self._matrices if n != space.name]:
                del self._matrices[name]
        return []

    def _matrix(self, space: VectorSpace) -> VectorMatrix:
        """The in-memory matrix of ``space``, brought up to date with the file."""
        with self._conn.lock:
            epoch = self._conn.query("SELECT value FROM meta WHERE key = 'vectors_epoch'")[0][0]
            matrix = self._matrices.get(space.name)
            if matrix is None or matrix.epoch != epoch:
                matrix = VectorMatrix(space.dim, epoch)
                self._matrices[space.name] = matrix
            rows = self._conn.query(
                "SELECT v.rowid, v.item_rowid, i.id, i.tenant, i.user_id, i.agent_id, i.session_id, v.vec"
                " FROM vectors v JOIN items i ON i.rowid = v.item_rowid WHERE v.space = ? AND v.rowid > ?"
                " ORDER BY v.rowid",
                (space.name, matrix.last_rowid),
            )
            matrix.extend((r[0], r[1], r[2], (r[3], r[4], r[5], r[6]), r[7]) for r in rows)
            return matrix
