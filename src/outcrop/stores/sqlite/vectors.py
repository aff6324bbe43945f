"""Exact cosine search over the vectors in the file, scope by scope.

Every vector row carries its (tenant, user) partition (:func:`~outcrop.stores.sqlite.schema.vector_part`).
A search of a user scope uses that scope's :class:`~outcrop.stores.sqlite.matrix.ScopeMatrix`,
kept in a least-recently-used cache bounded by bytes (``MemoryConfig.sqlite_vector_cache_bytes``),
so a process holds the vectors of the scopes it serves, not of the store. Every write of a
partition's vectors moves its row in ``vector_versions`` and a removal is recorded (partition,
space, item rowid) in ``vector_removals``, in the write's own transaction; a search reads the
partition's version (one indexed row) and, when it moved (a write by this process or another),
applies the removals and loads the vectors added since, for that scope only. A reader whose
removals were pruned (``floor``) or whose space changed (``vectors_epoch``: re-indexing) reloads
the scope. A search over a whole tenant (no user) scans that tenant's vectors from the file,
unkept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from outcrop.core.time.clock import format_time, now
from outcrop.core.types import Scope, Vectors
from outcrop.errors import ConfigError, InvalidInputError, StoreError
from outcrop.stores.base import ScoredId, SearchFilters, VectorSpace
from outcrop.stores.sqlite.approximate import AnnSettings, Approximate
from outcrop.stores.sqlite.cache import ScopeCache
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.matrix import ScopeMatrix, top_k
from outcrop.stores.sqlite.rows import by_ids, by_ids_order, where
from outcrop.stores.sqlite.schema import vector_part

__all__ = ["DEFAULT_CACHE_BYTES", "SQLiteVectors"]

DEFAULT_CACHE_BYTES = 256 << 20
"""Bytes of scope matrices a store keeps in memory by default (a 100k-turn scope of 384-d vectors holds ~160 MB)."""
_KEPT_REMOVALS = 4096  # removal rows kept per partition; a reader further behind reloads the scope
_SCAN = 4096  # rows per step of a tenant-wide scan
_LOAD = 8192  # rows per step of loading a scope


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _moved(db: sqlite3.Connection, parts: Iterable[str]) -> None:
    """Inside a transaction: move the version of each partition."""
    db.executemany(
        "INSERT INTO vector_versions (part, version) VALUES (?, 1)"
        " ON CONFLICT (part) DO UPDATE SET version = version + 1",
        [(p,) for p in set(parts)],
    )


@contextmanager
def _mapped(what: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"{what} failed: {exc}") from None


class SQLiteVectors:
    """See :class:`outcrop.stores.base.VectorIndex` and the module docstring."""

    def __init__(
        self,
        connection: SQLiteConnection,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        ann: AnnSettings | None = None,
        ann_directory: Path | None = None,
    ) -> None:
        self._conn = connection
        self._cache = ScopeCache(cache_bytes)
        self.approximate = Approximate(ann or AnnSettings(), ann_directory)

    @property
    def cache_bytes(self) -> int:
        """Bytes of vectors this store holds in memory now (never above the configured bound)."""
        with self._conn.lock:
            return self._cache.nbytes

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
    def insert(db: sqlite3.Connection, rowid: int, scope: Scope, space: VectorSpace, vector: np.ndarray) -> None:
        """The vector of a new item of ``scope`` (a write scope: its user is set)."""
        part = vector_part(scope.tenant, str(scope.user_id))
        db.execute(
            "INSERT INTO vectors (item_rowid, space, vec, part) VALUES (?, ?, ?, ?)",
            (rowid, space.name, _blob(vector), part),
        )
        _moved(db, [part])

    @staticmethod
    def replace(db: sqlite3.Connection, rowid: int, space: VectorSpace, vector: np.ndarray) -> None:
        """The item's vector in ``space`` replaced (a removal, then a new row)."""
        tenant, user = db.execute("SELECT tenant, user_id FROM items WHERE rowid = ?", (rowid,)).fetchone()
        SQLiteVectors._remove(db, "item_rowid = ? AND space = ?", [rowid, space.name])
        SQLiteVectors.insert(db, rowid, Scope(tenant=tenant, user_id=user), space, vector)

    @staticmethod
    def drop(db: sqlite3.Connection, rowids: Sequence[int]) -> None:
        """The vectors of these items, in every space."""
        for chunk in chunks(list(rowids)):
            SQLiteVectors._remove(db, f"item_rowid IN ({','.join('?' * len(chunk))})", chunk)

    @staticmethod
    def _remove(db: sqlite3.Connection, condition: str, params: Sequence[object]) -> None:
        """Delete the vector rows matching ``condition``, recording each removal in its partition
        (keeping the newest :data:`_KEPT_REMOVALS` of a partition; ``floor`` says up to where
        older ones are gone)."""
        rows = db.execute(f"SELECT part, space, item_rowid FROM vectors WHERE {condition}", params).fetchall()
        if not rows:
            return
        db.execute(f"DELETE FROM vectors WHERE {condition}", params)
        db.executemany("INSERT INTO vector_removals (part, space, item_rowid) VALUES (?, ?, ?)", rows)
        parts = {r[0] for r in rows}
        _moved(db, parts)
        for part in parts:
            cut = db.execute(
                "SELECT seq FROM vector_removals WHERE part = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
                (part, _KEPT_REMOVALS),
            ).fetchone()
            if cut is not None:
                db.execute("DELETE FROM vector_removals WHERE part = ? AND seq <= ?", (part, cut[0]))
                db.execute("UPDATE vector_versions SET floor = ? WHERE part = ?", (cut[0], part))

    # -- the seam ----------------------------------------------------------------------------
    def active_space(self) -> VectorSpace | None:
        rows = self._conn.query("SELECT embedder, dim FROM vector_spaces WHERE active = 1")
        return VectorSpace(rows[0][0], rows[0][1]) if rows else None

    def search(
        self, scope: Scope, space: VectorSpace, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        query = np.asarray(vector, dtype=np.float32)
        if scope.user_id is None:
            return self._scan(scope, space, query, k, filters)
        allowed = None
        if filters is not None and not filters.empty:
            clause, params = where(scope, filters)
            allowed = np.asarray(
                [r[0] for r in self._conn.query(f"SELECT rowid FROM items WHERE {clause}", params)], dtype=np.int64
            )
        with self._conn.lock:
            matrix = self._scope_matrix(space, scope.tenant, scope.user_id)
            selection = matrix.select(scope.agent_id, scope.session_id, allowed)
            if matrix.ann is not None:  # a large scope: its approximate index (under the lock: faiss adds there)
                found = self.approximate.search(matrix, selection, query, k)
                if found is not None:
                    return found
        return selection.search(query, k)

    def search_many(
        self,
        scope: Scope,
        space: VectorSpace,
        vectors: Sequence[np.ndarray],
        k: int,
        filters: SearchFilters | None = None,
    ) -> list[list[ScoredId]]:
        """Each vector searched in turn: the scope's matrix is in memory, a second product costs
        what a pass would."""
        return [self.search(scope, space, vector, k, filters) for vector in vectors]

    def vectors_for(self, scope: Scope, space: VectorSpace, ids: Sequence[str]) -> dict[str, Vectors]:
        clause, params = by_ids(scope, "i")
        found: dict[str, Vectors] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            rows = self._conn.query(
                "SELECT i.id, v.vec FROM items i JOIN vectors v ON v.item_rowid = i.rowid AND v.space = ?"
                f" WHERE i.id IN ({','.join('?' * len(chunk))}) AND {clause}",
                [space.name, *chunk, *params],
            )
            found.update((r[0], np.frombuffer(r[1], dtype=np.float32).copy()) for r in rows)
        return {i: found[i] for i in ids if i in found}

    def put(self, scope: Scope, space: VectorSpace, vectors: Mapping[str, np.ndarray]) -> int:
        clause, params = by_ids(scope)
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
                    f"SELECT rowid, id, tenant, user_id FROM items WHERE id IN ({marks}) AND {clause} {by_ids_order(scope)}",
                    [*chunk, *params],
                ).fetchall()
                for rowid, item_id, tenant, user in rows:
                    vector = np.asarray(vectors[item_id], dtype=np.float32)
                    if vector.shape != (space.dim,):
                        raise InvalidInputError(f"vector of {item_id} has shape {vector.shape}, not ({space.dim},)")
                    SQLiteVectors._remove(db, "item_rowid = ? AND space = ?", [rowid, space.name])
                    SQLiteVectors.insert(db, rowid, Scope(tenant=tenant, user_id=user), space, vector)
                    written += 1
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
            SQLiteConnection.bump_epoch(db)  # every reader reloads what it holds
        with self._conn.lock:
            self._cache.discard_space(space.name)
        return []

    # -- the scope matrices -------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a consistent view of versions, removals and rows), under the lock."""
        db = self._conn.db
        opened = not db.in_transaction
        if opened:
            db.execute("BEGIN")
        try:
            yield db
        finally:
            if opened:
                db.execute("COMMIT")

    def _scope_matrix(self, space: VectorSpace, tenant: str, user_id: str) -> ScopeMatrix:
        """Under the lock: the (tenant, user) scope's matrix in ``space``, brought up to date with
        the file, and kept in the cache when it fits."""
        part = vector_part(tenant, user_id)
        key = (space.name, part)
        try:
            with _mapped("vector search"):
                entry = self._follow(space, tenant, user_id, part)
            self.approximate.refresh(entry, space.name, part)
        except BaseException:
            self._cache.discard(key)  # it may be half brought up to date
            raise
        self._cache.put(key, entry)
        return entry

    def _follow(self, space: VectorSpace, tenant: str, user_id: str, part: str) -> ScopeMatrix:
        key = (space.name, part)
        with self._read() as db:
            epoch = db.execute("SELECT value FROM meta WHERE key = 'vectors_epoch'").fetchone()[0]
            row = db.execute("SELECT version, floor FROM vector_versions WHERE part = ?", (part,)).fetchone()
            version, floor = row if row is not None else (0, 0)
            entry = self._cache.get(key)
            if entry is not None and entry.epoch == epoch and entry.last_removal >= floor:
                if entry.version == version:
                    return entry
                removals = db.execute(
                    "SELECT seq, space, item_rowid FROM vector_removals WHERE part = ? AND seq > ? ORDER BY seq",
                    (part, entry.last_removal),
                ).fetchall()
                entry.remove([r[2] for r in removals if r[1] == space.name])
                if removals:
                    entry.last_removal = removals[-1][0]
            else:
                entry = ScopeMatrix(space.dim, epoch)
                last = db.execute("SELECT MAX(seq) FROM vector_removals WHERE part = ?", (part,)).fetchone()[0]
                entry.last_removal = last or 0
                count = db.execute(
                    "SELECT COUNT(*) FROM vectors WHERE part = ? AND space = ?", (part, space.name)
                ).fetchone()[0]
                entry.reserve(count, spare=True)  # its rows, and room for the next ones (ScopeMatrix.reserve)
            cursor = db.execute(
                "SELECT v.rowid, v.item_rowid, i.id, i.agent_id, i.session_id, v.vec FROM vectors v"
                " JOIN items i ON i.rowid = v.item_rowid WHERE v.part = ? AND v.space = ? AND v.rowid > ?"
                " AND i.tenant = ? AND i.user_id = ? ORDER BY v.rowid",
                (part, space.name, entry.last_rowid, tenant, user_id),
            )
            while rows := cursor.fetchmany(_LOAD):  # in steps: no whole scope of row tuples at once
                entry.append(rows)
            entry.version = version
        return entry

    def _scan(
        self, scope: Scope, space: VectorSpace, query: np.ndarray, k: int, filters: SearchFilters | None
    ) -> list[ScoredId]:
        """A search over a whole tenant: its vectors read from the file in steps, the best ``k``
        kept (ties to the older vector, as in a scope matrix), nothing held afterwards."""
        if k <= 0:
            return []
        clause, params = where(scope, filters, alias="i")
        ids: list[str] = []
        scores = np.zeros(0, dtype=np.float32)
        order = np.zeros(0, dtype=np.int64)
        with self._conn.lock, _mapped("vector search"), self._read() as db:
            cursor = db.execute(
                "SELECT v.rowid, i.id, v.vec FROM items i JOIN vectors v ON v.item_rowid = i.rowid AND v.space = ?"
                f" WHERE {clause}",
                [space.name, *params],
            )
            while rows := cursor.fetchmany(_SCAN):
                block = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), space.dim)
                ids += [r[1] for r in rows]
                scores = np.concatenate([scores, block @ query])
                order = np.concatenate([order, np.asarray([r[0] for r in rows], dtype=np.int64)])
                best = top_k(scores, order, k)
                ids, scores, order = [ids[i] for i in best], scores[best], order[best]
        return [(ids[i], float(scores[i])) for i in range(len(ids))]
