"""The vector index on PostgreSQL: pgvector cosine distance, exact over small scopes, HNSW above."""

from __future__ import annotations

import struct
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import adapters
from psycopg.adapt import Dumper
from psycopg.pq import Format

from outcrop.core.time.clock import now
from outcrop.core.types import Scope, Vectors
from outcrop.errors import ConfigError, InvalidInputError, StoreError
from outcrop.stores.base import ScoredId, SearchFilters, VectorSpace
from outcrop.stores.postgres.connection import Connections
from outcrop.stores.postgres.rows import drop_points
from outcrop.stores.postgres.schema import vector_index_ddl
from outcrop.stores.postgres.sqlparts import (
    Conn,
    ScopeSizes,
    ids_in_scope,
    pg,
    sees_every_tenant,
    vec,
    vector_of,
    where,
)
from outcrop.stores.sql import scope_clause

_FLOAT4_OID = 700
_FLOAT4_ARRAY_OID = 1021

__all__ = ["FloatArray", "PostgresVectors"]


class FloatArray:
    """A flat float32 array sent to PostgreSQL as a binary ``real[]`` (see :class:`_FloatArrayDumper`)."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.float32).ravel()


class _FloatArrayDumper(Dumper):
    """``real[]`` in PostgreSQL's binary array format: one dimension, no NULLs, each element its
    length (4) and its big-endian float4; built by numpy, not element by element."""

    format = Format.BINARY
    oid = _FLOAT4_ARRAY_OID

    def dump(self, obj: FloatArray) -> bytes:
        values = obj.values
        cells = np.empty(len(values), dtype=[("size", ">i4"), ("value", ">f4")])
        cells["size"] = 4
        cells["value"] = values
        return struct.pack(">iiiii", 1, 0, _FLOAT4_OID, len(values), 1) + cells.tobytes()


adapters.register_dumper(FloatArray, _FloatArrayDumper)


def _scope_vectors(clause: str) -> str:
    """``FROM`` and ``WHERE`` of the vectors of a scope's items (``clause`` on ``items i``; its
    parameters after the tenant's and the space's), in a shape whose plan does not depend on the
    planner's statistics: the scope's item ids gathered once (an ``InitPlan``: one pass over the
    scope's items), then found in the vectors' primary key (tenant, item_id, space), all three
    its index conditions. Written as a join, the plan was the statistics': on a database never
    analysed (a new store, before autovacuum's first ``ANALYZE``) the planner took both sides
    for one row and chose a nested loop that read the scope's items again for each of the
    tenant's vectors (a linker's search of 489 facts among 919 vectors: 154 ms, 1.5 ms this way).
    An ``ANALYZE`` when the store is created (empty tables) or after a first bulk write would only
    move the question to when the statistics last matched the tables; a scope is never larger
    than its tenant's vectors, so this order is the cheap one analysed or not."""
    return (
        "FROM vectors v WHERE v.tenant = %s AND v.space = %s"
        f" AND v.item_id = ANY(ARRAY(SELECT i.id FROM items i WHERE {clause}))"
    )


def _nearest_sql(dim: int, clause: str, by_user: bool) -> str:
    """The approximate path's statement: the tenant's points nearest first (the HNSW index, its
    iterative scan), each point's rows, their items in scope (``clause`` on ``items i``), ordered by
    (distance, ``seq``); the parameters are the query, the clause's, the user (``by_user``), the
    tenant, the space, the query, k.

    ``by_user`` (a scope of one user): a point's rows are found by (tenant, space, point, user)
    in ``vectors_point`` (migration 0018), the scope's user's rows only. Found by the point alone,
    every row of the tenant holding that vector was read and looked up in ``items`` to be dropped
    there: on bench/scale.py's 1.1M-turn store a vector is held by ~320 rows, ~23 of them the
    100k-turn user's, so a search of k 100 read ~1,600 rows and ~10k pages (35-70 ms warm), a
    cost that followed the tenant's size, not the scope's. The same rows in the
    same order either way (a row's user is its item's).

    A point's rows are a ``LATERAL`` subquery kept whole (``OFFSET 0``): a nested loop under the
    points' index scan, each point's rows found by its index, whatever the statistics say. Written
    as a join, the plan was theirs: after an ``ANALYZE`` that put the 100k-turn user at 16k rows
    the planner read all of the user's items and their vectors once, kept them, and joined each
    point to them (830 ms a search on that store, with the user condition or without)."""
    distance = f"p.embedding::vector({dim}) <=> %s::vector({dim})"
    user = " AND v.user_id = %s" if by_user else ""
    return (
        f"SELECT r.item_id, 1 - ({distance}) FROM vector_points p CROSS JOIN LATERAL (SELECT v.item_id, v.seq"
        " FROM vectors v JOIN items i ON i.tenant = v.tenant AND i.id = v.item_id"
        f" WHERE v.tenant = p.tenant AND v.space = p.space AND v.point = p.point AND {clause}{user} OFFSET 0) r"
        f" WHERE p.tenant = %s AND p.space = %s ORDER BY {distance}, r.seq LIMIT %s"
    )


class PostgresVectors:
    """See :class:`outcrop.stores.base.VectorIndex`."""

    exact_limit: int = 20_000
    """Vector searches over a scope (with its filters) of at most this many items score every
    vector exactly; larger scopes go through the approximate HNSW index."""

    def __init__(self, connections: Connections) -> None:
        self._db = connections
        self._sizes = ScopeSizes()
        self._indexed: set[str] = set()  # spaces whose HNSW index this process knows exists
        self._active: set[str] = set()  # spaces this process made sure were active (or found so)
        self._indexed_lock = threading.Lock()

    # -- reads ------------------------------------------------------------------------------------
    def search(
        self, scope: Scope, space: VectorSpace, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        """Exact cosine search when the scope holds at most :attr:`exact_limit` items (as SQLite
        always searches: the same data ranks the same on both stores), the HNSW index above that."""
        if k <= 0:
            return []
        clause, params = where(scope, filters, alias="i")
        query = vec(vector)
        self.ensure_index(space)  # once a process (a store migrated from the index over every row has none)
        with self._db.tx(scope.tenant) as conn:
            if not self._sizes.reaches(conn, clause, params, self.exact_limit + 1):
                return [(r[0], float(r[1])) for r in self._exact(conn, scope.tenant, space, clause, params, query, k)]
            # the HNSW index holds each distinct vector once (vector_points): walk it nearest first,
            # each point's rows in scope after it, until k rows are found (the iterative scan goes
            # on past ef_search for a scope that holds few of the tenant's vectors); the rows of one
            # point tie, broken by insertion order as the exact scan breaks them
            conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(min(1000, max(100, 2 * k)))])
            by_user = [scope.user_id] if scope.user_id is not None else []
            rows = conn.execute(
                _nearest_sql(int(space.dim), clause, bool(by_user)).encode(),
                [query, *params, *by_user, scope.tenant, space.name, query, k],
            ).fetchall()
            if len(rows) < k:
                # the scan stopped (hnsw.max_scan_tuples) before finding k rows of a scope that
                # holds them: score the scope exactly rather than return fewer
                rows = self._exact(conn, scope.tenant, space, clause, params, query, k)
        return [(row[0], float(row[1])) for row in rows]

    def search_many(
        self,
        scope: Scope,
        space: VectorSpace,
        vectors: Sequence[np.ndarray],
        k: int,
        filters: SearchFilters | None = None,
    ) -> list[list[ScoredId]]:
        """A small scope's vectors scored against every query in one pass (one statement: each
        distance as :meth:`_exact` computes it, each query's rows in its order, ties by insertion);
        a scope past :attr:`exact_limit` searches its index once a query, as :meth:`search`."""
        if k <= 0 or not vectors:
            return [[] for _ in vectors]
        if len(vectors) == 1:
            return [self.search(scope, space, vectors[0], k, filters)]
        clause, params = where(scope, filters, alias="i")
        self.ensure_index(space)
        with self._db.tx(scope.tenant) as conn:
            small = not self._sizes.reaches(conn, clause, params, self.exact_limit + 1)
            if small:
                queries = [vec(v) for v in vectors]
                distances = ", ".join(f"v.embedding <=> %s::vector AS d{n}" for n in range(len(queries)))
                ranked = " UNION ALL ".join(
                    f"(SELECT {n}, item_id, 1 - d{n} FROM d ORDER BY d{n}, seq LIMIT %s)" for n in range(len(queries))
                )
                rows = conn.execute(
                    f"WITH d AS MATERIALIZED (SELECT v.item_id, v.seq, {distances} {_scope_vectors(clause)})"
                    f" {ranked}".encode(),
                    [*queries, scope.tenant, space.name, *params, *([k] * len(queries))],
                ).fetchall()
        if not small:
            return [self.search(scope, space, v, k, filters) for v in vectors]
        out: list[list[ScoredId]] = [[] for _ in vectors]
        for n, item_id, score in rows:
            out[n].append((item_id, float(score)))
        return out

    @staticmethod
    def _exact(
        conn: Conn, tenant: str, space: VectorSpace, clause: str, params: list[Any], query: str, k: int
    ) -> list[Any]:
        """Every vector of the scope scored: not the indexed expression, so no index scan; ties in
        insertion order, as SQLite's exact index breaks them."""
        return conn.execute(
            f"SELECT v.item_id, 1 - (v.embedding <=> %s::vector) {_scope_vectors(clause)}"
            " ORDER BY v.embedding <=> %s::vector, v.seq LIMIT %s".encode(),
            [query, tenant, space.name, *params, query, k],
        ).fetchall()

    def vectors_for(self, scope: Scope, space: VectorSpace, ids: Sequence[str]) -> dict[str, Vectors]:
        clause, params = scope_clause(scope, "i")
        # pgvector's binary form (the float4s as stored): not printed as text by the server and
        # parsed back here (~90 us a vector on both sides together against ~8), the same bits
        with self._db.tx(scope.tenant) as conn:
            rows = (
                conn.cursor(binary=True)
                .execute(
                    f"SELECT v.item_id, v.embedding {_scope_vectors(f'i.id = ANY(%s) AND {pg(clause)}')}".encode(),
                    [scope.tenant, space.name, list(ids), *params],
                )
                .fetchall()
            )
        found = {row[0]: vector_of(row[1]) for row in rows}
        return {i: found[i] for i in ids if i in found}

    def active_space(self) -> VectorSpace | None:
        rows = self._db.shared_query("SELECT embedder, dim FROM vector_spaces WHERE active")
        return VectorSpace(rows[0][0], rows[0][1]) if rows else None

    # -- writes -----------------------------------------------------------------------------------
    def put(self, scope: Scope, space: VectorSpace, vectors: Mapping[str, np.ndarray]) -> int:
        for item_id, value in vectors.items():
            if np.asarray(value).shape != (space.dim,):
                raise InvalidInputError(f"vector of {item_id} has shape {np.asarray(value).shape}, not ({space.dim},)")
        self.ensure_index(space)
        written = 0
        with self._db.tx(scope.tenant) as conn:
            conn.execute(
                "INSERT INTO vector_spaces (name, embedder, dim, active, created_at) VALUES (%s, %s, %s, false, %s)"
                " ON CONFLICT (name) DO NOTHING",
                [space.name, space.embedder, space.dim, now()],
            )
            for item_id in ids_in_scope(conn, scope, list(vectors)):
                self.upsert_row(conn, scope.tenant, item_id, space, vectors[item_id])
                written += 1
        return written

    def activate(self, space: VectorSpace) -> list[str]:
        """Store-wide (every tenant's vectors), so it runs on the owner's connection, which must be a
        superuser or hold ``BYPASSRLS`` to see all tenants."""
        with self._db.admin() as admin:
            try:
                if not sees_every_tenant(admin):  # row-level security would hide other tenants' vectors
                    raise ConfigError(
                        "switching the vector index checks every tenant's vectors: connect as a superuser"
                        " or a role with BYPASSRLS for the reindex"
                    )
                with admin.transaction():
                    admin.execute("LOCK TABLE vector_spaces IN SHARE ROW EXCLUSIVE MODE")
                    if not admin.execute("SELECT 1 FROM vector_spaces WHERE name = %s", [space.name]).fetchone():
                        raise InvalidInputError(f"no vector index {space.name!r} in this store; build it first")
                    missing = [
                        row[0]
                        for row in admin.execute(
                            "SELECT v.item_id FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM vectors w"
                            " WHERE w.tenant = v.tenant AND w.item_id = v.item_id AND w.space = %s)"
                            ' GROUP BY v.item_id ORDER BY v.item_id COLLATE "C"',
                            [space.name],
                        )
                    ]
                    if missing:
                        return missing
                    old = [r[0] for r in admin.execute("SELECT name FROM vector_spaces WHERE name <> %s", [space.name])]
                    admin.execute("UPDATE vector_spaces SET active = (name = %s)", [space.name])
                    admin.execute("DELETE FROM vectors WHERE space <> %s", [space.name])
                    admin.execute("DELETE FROM vector_points WHERE space <> %s", [space.name])
                    admin.execute("DELETE FROM vector_spaces WHERE name <> %s", [space.name])
            except psycopg.Error as exc:
                raise StoreError(f"cannot switch the vector index: {exc}".strip()) from None
        with self._indexed_lock:
            self._indexed.difference_update(old)
            self._active.difference_update(old)
        return []

    # -- rows and indexes for the writers ---------------------------------------------------------
    def ensure_index(self, space: VectorSpace) -> None:
        """The HNSW index of ``space`` (DDL: on the owner's connection, outside any tenant transaction)."""
        if space.name in self._indexed:
            return
        with self._db.admin() as admin:
            try:
                # processes opening one database at once: CREATE INDEX IF NOT EXISTS is not safe
                # against itself (two creators collide on the catalogue), so they take turns
                with admin.transaction():
                    admin.execute("SELECT pg_advisory_xact_lock(hashtext('outcrop.vector_index'))")
                    admin.execute(vector_index_ddl(space))
            except psycopg.Error as exc:
                raise StoreError(f"cannot create the vector index for {space.name!r}: {exc}".strip()) from None
        with self._indexed_lock:
            self._indexed.add(space.name)

    def ensure_active(self, space: VectorSpace) -> None:
        """Make ``space`` the active one if the store has none yet (on the owner's connection,
        before the first write's transaction), so that a write only reads the active space."""
        if space.name in self._active:
            return
        with self._db.admin() as admin:
            try:
                with admin.transaction():
                    admin.execute("LOCK TABLE vector_spaces IN SHARE ROW EXCLUSIVE MODE")
                    if admin.execute("SELECT 1 FROM vector_spaces WHERE active").fetchone() is None:
                        admin.execute(
                            "INSERT INTO vector_spaces (name, embedder, dim, active, created_at)"
                            " VALUES (%s, %s, %s, true, %s) ON CONFLICT (name) DO UPDATE SET active = true",
                            [space.name, space.embedder, space.dim, now()],
                        )
            except psycopg.Error as exc:
                raise StoreError(f"cannot record the vector index {space.name!r}: {exc}".strip()) from None
        with self._indexed_lock:
            self._active.add(space.name)

    @staticmethod
    def ensure_space(conn: Conn, space: VectorSpace) -> None:
        """Refuse vectors of any space but the active one (made active here when there is none).

        A ``SHARE`` lock: writers of every tenant hold it together (it only keeps
        :meth:`activate`'s switch out until they commit); the ``SHARE ROW EXCLUSIVE`` lock taken
        before conflicted with itself and queued every write of the store behind the one before.
        :meth:`ensure_active` has made a space active beforehand, so the insert below (which waits
        for the other writers' locks) is left for a store whose spaces were removed meanwhile."""
        conn.execute("LOCK TABLE vector_spaces IN SHARE MODE")
        active = conn.execute("SELECT name FROM vector_spaces WHERE active").fetchone()
        if active is None:
            conn.execute("LOCK TABLE vector_spaces IN SHARE ROW EXCLUSIVE MODE")
            conn.execute(
                "INSERT INTO vector_spaces (name, embedder, dim, active, created_at) VALUES (%s, %s, %s, true, %s)"
                " ON CONFLICT (name) DO UPDATE SET active = true",
                [space.name, space.embedder, space.dim, now()],
            )
        elif active[0] != space.name:
            raise ConfigError(
                f"this store's vectors were made by {active[0]!r}, not {space.name!r}; open it with that embedder"
                " or re-index it into the new one"
            )

    @staticmethod
    def insert_rows(
        conn: Conn,
        tenant: str,
        space: VectorSpace,
        vectors: Sequence[tuple[str, np.ndarray]],
        users: Sequence[str | None],
    ) -> None:
        """New items' vectors (item id, vector; ``users``: each one's item's user), in one statement and
        in their order (``seq``, which breaks ties of the exact search, follows it). The vectors travel as one binary ``real[]``
        (:class:`FloatArray`), each row's slice cast to ``vector``: no text to format or parse.
        Each distinct vector not yet among the tenant's points joins them, and those already there
        are locked until the write commits (in point order, so two writers adding the same vectors
        take their keys in one order)."""
        if not vectors:
            return
        dim = int(space.dim)
        flat = FloatArray(np.concatenate([np.asarray(v, dtype=np.float32).ravel() for _, v in vectors]))
        conn.execute(
            "WITH h AS (SELECT u.id, u.user_id, u.n, e.v, md5(vector_send(e.v))::uuid AS point"
            " FROM unnest(%(ids)s::text[], %(users)s::text[]) WITH ORDINALITY AS u(id, user_id, n),"
            " LATERAL (SELECT ((%(flat)s::real[])[(u.n - 1) * %(dim)s + 1 : u.n * %(dim)s])::vector AS v) e),"
            f" p AS ({_NEW_POINTS} FROM h ORDER BY point{_ON_POINT})"
            " INSERT INTO vectors (tenant, item_id, space, embedding, point, user_id)"
            " SELECT %(tenant)s, h.id, %(space)s, h.v, h.point, h.user_id FROM h ORDER BY h.n",
            {
                "tenant": tenant,
                "space": space.name,
                "flat": flat,
                "dim": dim,
                "ids": [i for i, _ in vectors],
                "users": list(users),
            },
        )

    @staticmethod
    def insert_row(conn: Conn, tenant: str, item_id: str, space: VectorSpace, vector: np.ndarray) -> None:
        conn.execute(
            f"{_ONE_POINT} INSERT INTO vectors (tenant, item_id, space, embedding, point, user_id)"
            f" SELECT %(tenant)s, %(id)s, %(space)s, h.v, h.point, {_USER_OF.format('%(id)s')} FROM h",
            {"tenant": tenant, "space": space.name, "id": item_id, "v": vec(vector)},
        )

    @staticmethod
    def upsert_row(conn: Conn, tenant: str, item_id: str, space: VectorSpace, vector: np.ndarray) -> None:
        """An item's vector, new or replaced (the replaced one's point goes if no row names it now)."""
        before = conn.execute(
            "SELECT space, point FROM vectors WHERE tenant = %s AND item_id = %s AND space = %s",
            [tenant, item_id, space.name],
        ).fetchall()
        conn.execute(
            f"{_ONE_POINT} INSERT INTO vectors (tenant, item_id, space, embedding, point, user_id)"
            f" SELECT %(tenant)s, %(id)s, %(space)s, h.v, h.point, {_USER_OF.format('%(id)s')} FROM h"
            " ON CONFLICT (tenant, item_id, space)"
            " DO UPDATE SET embedding = excluded.embedding, point = excluded.point",
            {"tenant": tenant, "space": space.name, "id": item_id, "v": vec(vector)},
        )
        drop_points(conn, tenant, [(r[0], r[1]) for r in before])


# a vector's point: the hash of its bytes (identical vectors, one point)
_NEW_POINTS = "INSERT INTO vector_points (tenant, space, point, embedding) SELECT DISTINCT ON (point) %(tenant)s, %(space)s, point, v"
# a point already there is locked, not changed (``WHERE false``: no new row version, nothing for
# the index to add), until the write commits: a transaction dropping the last item holding it
# waits for this one and then sees its row (rows.drop_points)
_ON_POINT = " ON CONFLICT (tenant, space, point) DO UPDATE SET embedding = excluded.embedding WHERE false"
_ONE_POINT = (
    "WITH h AS (SELECT e.v, md5(vector_send(e.v))::uuid AS point FROM (SELECT %(v)s::vector AS v) e),"
    f" p AS ({_NEW_POINTS} FROM h{_ON_POINT})"
)
# a row's user, for a single row: its item's (written before it in the same transaction; an item
# that is not there leaves NULL, which the column refuses)
_USER_OF = "(SELECT i.user_id FROM items i WHERE i.tenant = %(tenant)s AND i.id = {})"
