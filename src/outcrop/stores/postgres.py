"""The PostgreSQL + pgvector store: the same log and projections as SQLite, shared by many agents.

Connecting: ``Memory("postgresql://user:password@host:5432/dbname")``. The URL's user owns the
``outcrop`` schema: on open it applies pending migrations (recorded in
``outcrop.schema_migrations``) and creates the ``outcrop_app`` role (no login, not a
superuser, no ``BYPASSRLS``, not the tables' owner) with data access only. Every statement the
store runs for a tenant runs on a per-thread connection that has done ``SET ROLE outcrop_app``,
inside a transaction that first sets ``outcrop.tenant`` (``set_config(..., true)``: local to the
transaction, so a pooled connection never carries a tenant over). Row-level security policies
(``FORCE``d, so they bind the owner too) compare every row's ``tenant`` with that setting: a query
that forgets its tenant filter, or runs with no tenant set, sees no row of anybody.

Lexical search is BM25 computed in SQL over ``tsvector`` columns with GIN indexes
(:mod:`outcrop.stores.postgres_lexical`); vector search is pgvector cosine distance, exact over
a scope of up to :attr:`PostgresStore.exact_limit` items (as SQLite searches, so both stores rank
the same data alike) and through one HNSW index per vector space above that. Store-wide maintenance (switching the vector space, scrubbing) runs
on the owner's connection. See docs/postgres.md for partitioning and sharding by tenant.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from outcrop.core.time.clock import now
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope, Vectors
from outcrop.errors import ConfigError, InvalidInputError, NotFoundError, OutcropError, StoreError
from outcrop.stores.base import LexicalDocument, Link, ScoredId, SearchFilters, VectorSpace, WriteBatch
from outcrop.stores.postgres_lexical import make_plan, named, normalize, plan_sql, score_sql, token_count
from outcrop.stores.postgres_schema import (
    APP_ROLE,
    SCHEMA,
    TENANT_SETTING,
    TENANT_TABLES,
    TEXT_CONFIG,
    ensure_app_role,
    migrate,
    search_path,
    vector_index_ddl,
)
from outcrop.stores.sql import ITEM_COLUMNS, filter_clause, row_to_item, scope_clause

__all__ = ["PostgresStore"]

Conn = psycopg.Connection[tuple[Any, ...]]
_ITEM_COLS = ITEM_COLUMNS.replace("timestamp", '"timestamp"')
_LOG_COLS = "id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at"


def _pg(clause: str) -> str:
    """``?`` placeholders (stores/sql.py) as psycopg's ``%s``."""
    return clause.replace("timestamp", '"timestamp"').replace("?", "%s")


def _vec(vector: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32).ravel()) + "]"


def _parse_vec(text: str) -> Vectors:
    return np.asarray(json.loads(text), dtype=np.float32)


class PostgresStore:
    """See :class:`outcrop.stores.base.Store` for the contract and the module docstring for tenancy."""

    exact_limit: int = 20_000
    """Vector searches over a scope (with its filters) of at most this many items score every
    vector exactly; larger scopes go through the approximate HNSW index."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._admin: Conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL store: {exc}".strip()) from None
        self._admin_lock = threading.Lock()
        try:
            migrate(self._admin)
            ensure_app_role(self._admin)
            self._search_path = search_path(self._admin)
            self._admin.execute("SELECT set_config('search_path', %s, false)", [self._search_path])
        except psycopg.Error as exc:
            self._admin.close()
            raise StoreError(f"cannot prepare the PostgreSQL schema: {exc}".strip()) from None
        self._local = threading.local()
        self._conns: list[Conn] = []
        self._conns_lock = threading.Lock()
        self._indexed: set[str] = set()
        self._closed = False

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        with self._conns_lock:
            self._closed = True
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        with self._admin_lock:
            self._admin.close()

    def _conn(self) -> Conn:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            return conn
        if self._closed:
            raise StoreError("the store is closed")
        try:
            conn = psycopg.connect(self.url, autocommit=True)
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
            conn.execute("SELECT set_config('search_path', %s, false)", [self._search_path])
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL store: {exc}".strip()) from None
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    @contextmanager
    def _tx(self, tenant: str) -> Iterator[Conn]:
        """One transaction as the app role with ``outcrop.tenant`` set to ``tenant``."""
        conn = self._conn()
        try:
            with conn.transaction():
                conn.execute("SELECT set_config(%s, %s, true)", [TENANT_SETTING, tenant])
                yield conn
        except OutcropError:
            raise
        except psycopg.errors.IntegrityError as exc:
            raise StoreError(f"write rejected by the store: {exc}".strip()) from None
        except psycopg.Error as exc:
            if conn.broken:
                self._local.conn = None
            raise StoreError(f"PostgreSQL statement failed: {exc}".strip()) from None

    def _query(self, tenant: str, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        with self._tx(tenant) as conn:
            return conn.execute(query.encode(), params).fetchall()

    def _where(
        self, scope: Scope, filters: SearchFilters | None, levels: Sequence[Level] = (), alias: str = ""
    ) -> tuple[str, list[Any]]:
        where, params = scope_clause(scope, alias)
        extra, extra_params = filter_clause(filters, alias, json_text="({col} ->> ?)")
        if extra:
            # metadata values compare as the text ``->>`` yields: JSON numbers and booleans as JSON
            where = f"{where} AND {extra}"
            params = [*params, *(p if isinstance(p, str) else json.dumps(p) for p in extra_params)]
        if levels:
            prefix = f"{alias}." if alias else ""
            where += f" AND {prefix}level IN ({','.join('?' * len(levels))})"
            params.extend(level.value for level in levels)
        return _pg(where), params

    # -- writes ---------------------------------------------------------------------------
    @staticmethod
    def _insert_log(conn: Conn, log: LogRecord) -> None:
        s = log.scope
        conn.execute(
            "INSERT INTO log (id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                log.id,
                s.tenant,
                s.user_id,
                s.agent_id,
                s.session_id,
                log.kind,
                Jsonb(log.payload),
                log.content_hash,
                log.recorded_at,
            ],
        )

    def write(self, batch: WriteBatch) -> None:
        tenant = batch.tenant or (
            batch.items[0].scope.tenant if batch.items else batch.logs[0].scope.tenant if batch.logs else ""
        )
        if not tenant:
            return
        if batch.space is not None:
            self._ensure_index(batch.space)
        with self._tx(tenant) as conn:
            if batch.space is not None:
                self._ensure_space(conn, batch.space)
            replaced = set(batch.replaces)
            for item in batch.items:
                if item.id in replaced:
                    self._drop_items(conn, tenant, self._ids_in_scope(conn, item.scope, [item.id]))
            for log in batch.logs:
                self._insert_log(conn, log)
            for item in batch.items:
                self._insert_item(conn, item, batch.positions.get(item.id))
                if item.id in batch.lexical:
                    self._put_lexical(conn, item.scope.tenant, item.id, batch.lexical[item.id], replace=False)
                if item.id in batch.vectors and batch.space is not None:
                    conn.execute(
                        "INSERT INTO vectors (tenant, item_id, space, embedding) VALUES (%s, %s, %s, %s::vector)",
                        [item.scope.tenant, item.id, batch.space.name, _vec(batch.vectors[item.id])],
                    )
            for link in batch.links:
                conn.execute(
                    "INSERT INTO item_links (tenant, src, dst, kind, weight) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET weight = EXCLUDED.weight",
                    [tenant, link.src, link.dst, link.kind, link.weight],
                )
            for version in batch.versions:
                self._insert_version(conn, version, tenant)
            for item_id, document in batch.relexical.items():
                if conn.execute("SELECT 1 FROM items WHERE tenant = %s AND id = %s", [tenant, item_id]).fetchone():
                    self._put_lexical(conn, tenant, item_id, document)

    @staticmethod
    def _insert_item(conn: Conn, item: Item, position: int | None) -> None:
        s = item.scope
        conn.execute(
            'INSERT INTO items (id, level, tenant, user_id, agent_id, session_id, role, speaker, text, "timestamp",'
            ' metadata, producer, version, "position", recorded_at, updated_at)'
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                item.id,
                item.level.value,
                s.tenant,
                s.user_id,
                s.agent_id,
                s.session_id,
                item.role,
                item.speaker,
                item.text,
                item.timestamp,
                Jsonb(item.metadata),
                item.producer,
                item.version,
                position,
                item.recorded_at,
                item.updated_at or item.recorded_at,
            ],
        )
        if item.speaker:
            conn.execute(
                "INSERT INTO scope_speakers VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [s.tenant, s.user_id, item.speaker],
            )
        for source in item.sources:
            conn.execute(
                "INSERT INTO item_sources (tenant, item_id, source_id) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [s.tenant, item.id, source],
            )

    @staticmethod
    def _stats(conn: Conn, tenant: str, own_docs: int, own_tokens: int, ctx_docs: int, ctx_tokens: int) -> None:
        conn.execute(
            "INSERT INTO lexical_stats AS s (tenant, own_docs, own_tokens, ctx_docs, ctx_tokens)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant) DO UPDATE SET"
            " own_docs = s.own_docs + excluded.own_docs, own_tokens = s.own_tokens + excluded.own_tokens,"
            " ctx_docs = s.ctx_docs + excluded.ctx_docs, ctx_tokens = s.ctx_tokens + excluded.ctx_tokens",
            [tenant, own_docs, own_tokens, ctx_docs, ctx_tokens],
        )

    def _unindex(self, conn: Conn, tenant: str, ids: Sequence[str]) -> None:
        """Take the lexical documents of ``ids`` out of the tenant's BM25 statistics."""
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE lex_own IS NOT NULL), coalesce(sum(own_len), 0),"
            " count(*) FILTER (WHERE coalesce(lex_context, '') <> ''), coalesce(sum(ctx_len), 0)"
            " FROM items WHERE tenant = %s AND id = ANY(%s)",
            [tenant, list(ids)],
        ).fetchone()
        if row is not None and (row[0] or row[2]):
            self._stats(conn, tenant, -int(row[0]), -int(row[1]), -int(row[2]), -int(row[3]))

    def _put_lexical(
        self, conn: Conn, tenant: str, item_id: str, document: LexicalDocument, replace: bool = True
    ) -> None:
        if replace:
            self._unindex(conn, tenant, [item_id])
        own, ctx = normalize(document.own), normalize(document.context)
        own_len, ctx_len = token_count(own), token_count(ctx) if document.context else 0
        conn.execute(
            f"UPDATE items SET lex_own = %s, lex_context = %s, own_tsv = to_tsvector('{TEXT_CONFIG}', %s),"
            f" own_len = %s, ctx_tsv = CASE WHEN %s THEN to_tsvector('{TEXT_CONFIG}', %s) END, ctx_len = %s"
            " WHERE tenant = %s AND id = %s",
            [document.own, document.context, own, own_len, bool(document.context), ctx, ctx_len, tenant, item_id],
        )
        self._stats(conn, tenant, 1, own_len, 1 if document.context else 0, ctx_len)

    @staticmethod
    def _insert_version(conn: Conn, v: ItemVersion, tenant: str) -> None:
        conn.execute(
            "INSERT INTO item_versions (item_id, version, event, text, log_id, at, tenant)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [v.item_id, v.version, v.event, v.text, v.log_id, v.at, tenant],
        )

    def _ensure_index(self, space: VectorSpace) -> None:
        """The HNSW index of ``space`` (DDL: on the owner's connection, outside any tenant transaction)."""
        if space.name in self._indexed:
            return
        with self._admin_lock:
            try:
                self._admin.execute(vector_index_ddl(space))
            except psycopg.Error as exc:
                raise StoreError(f"cannot create the vector index for {space.name!r}: {exc}".strip()) from None
        self._indexed.add(space.name)

    @staticmethod
    def _ensure_space(conn: Conn, space: VectorSpace) -> None:
        conn.execute("LOCK TABLE vector_spaces IN SHARE ROW EXCLUSIVE MODE")
        active = conn.execute("SELECT name FROM vector_spaces WHERE active").fetchone()
        if active is None:
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

    def next_position(self, scope: Scope) -> int:
        rows = self._query(
            scope.tenant,
            'SELECT COALESCE(MAX("position"), -1) + 1 FROM items WHERE tenant = %s AND user_id = %s'
            " AND session_id IS NOT DISTINCT FROM %s",
            [scope.tenant, scope.user_id, scope.session_id],
        )
        return int(rows[0][0])

    @staticmethod
    def _require(conn: Conn, scope: Scope, item_id: str) -> None:
        where, params = scope_clause(scope)
        if conn.execute(f"SELECT 1 FROM items WHERE id = %s AND {_pg(where)}".encode(), [item_id, *params]).fetchone():
            return
        raise NotFoundError(f"no memory item {item_id!r} in this scope")

    def update_item(
        self,
        scope: Scope,
        item_id: str,
        text: str,
        log: LogRecord,
        lexical: LexicalDocument,
        vector: np.ndarray | None,
        space: VectorSpace | None,
    ) -> Item:
        if vector is not None and space is not None:
            self._ensure_index(space)
        with self._tx(scope.tenant) as conn:
            self._require(conn, scope, item_id)
            self._insert_log(conn, log)
            # a derived item deleted and derived again restarts at version 1: continue after its history
            row = conn.execute(
                "UPDATE items SET text = %s, updated_at = %s, version = 1 + GREATEST(version,"
                " (SELECT COALESCE(MAX(v.version), 0) FROM item_versions v WHERE v.tenant = items.tenant"
                " AND v.item_id = items.id)) WHERE tenant = %s AND id = %s RETURNING version",
                [text, log.recorded_at, scope.tenant, item_id],
            ).fetchone()
            assert row is not None
            conn.execute(
                "INSERT INTO item_sources (tenant, item_id, source_id) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [scope.tenant, item_id, log.id],
            )
            self._insert_version(
                conn,
                ItemVersion(
                    item_id=item_id, version=row[0], event="update", text=text, log_id=log.id, at=log.recorded_at
                ),
                scope.tenant,
            )
            self._put_lexical(conn, scope.tenant, item_id, lexical)
            if vector is not None and space is not None:
                conn.execute(
                    "INSERT INTO vectors (tenant, item_id, space, embedding) VALUES (%s, %s, %s, %s::vector)"
                    " ON CONFLICT (tenant, item_id, space) DO UPDATE SET embedding = excluded.embedding",
                    [scope.tenant, item_id, space.name, _vec(vector)],
                )
        return self.get_items(scope, [item_id])[item_id]

    def delete_item(self, scope: Scope, item_id: str, log: LogRecord) -> None:
        with self._tx(scope.tenant) as conn:
            self._require(conn, scope, item_id)
            self._insert_log(conn, log)
            row = conn.execute(
                "SELECT version FROM items WHERE tenant = %s AND id = %s", [scope.tenant, item_id]
            ).fetchone()
            assert row is not None
            version = int(row[0])
            if conn.execute(
                "SELECT 1 FROM item_versions WHERE tenant = %s AND item_id = %s AND version = %s AND event = 'delete'",
                [scope.tenant, item_id, version],
            ).fetchone():  # an earlier incarnation of a re-derived item was deleted at this version
                top = conn.execute(
                    "SELECT MAX(version) FROM item_versions WHERE tenant = %s AND item_id = %s", [scope.tenant, item_id]
                ).fetchone()
                version = 1 + int(top[0] if top else 0)
            self._insert_version(
                conn,
                ItemVersion(
                    item_id=item_id, version=version, event="delete", text=None, log_id=log.id, at=log.recorded_at
                ),
                scope.tenant,
            )
            self._drop_items(conn, scope.tenant, [item_id])
            conn.execute("DELETE FROM item_access WHERE tenant = %s AND item_id = %s", [scope.tenant, item_id])

    def _drop_items(self, conn: Conn, tenant: str, ids: Sequence[str]) -> None:
        """Delete the rows of ``ids`` (already checked to be in scope): lexical stats, vectors, sources, items."""
        self._unindex(conn, tenant, ids)
        for table in ("vectors", "item_sources", "items"):
            column = "id" if table == "items" else "item_id"
            conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND {column} = ANY(%s)".encode(), [tenant, list(ids)])
        conn.execute(
            "DELETE FROM item_links WHERE tenant = %s AND (src = ANY(%s) OR dst = ANY(%s))",
            [tenant, list(ids), list(ids)],
        )

    def _ids_in_scope(self, conn: Conn, scope: Scope, ids: Sequence[str]) -> list[str]:
        where, params = scope_clause(scope)
        rows = conn.execute(
            f"SELECT id FROM items WHERE id = ANY(%s) AND {_pg(where)}".encode(), [list(dict.fromkeys(ids)), *params]
        ).fetchall()
        return [r[0] for r in rows]

    def remove_items(self, scope: Scope, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        with self._tx(scope.tenant) as conn:
            found = self._ids_in_scope(conn, scope, ids)
            if found:
                self._drop_items(conn, scope.tenant, found)
        return len(found)

    # -- reads ----------------------------------------------------------------------------
    def items_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        rows = self._query(
            scope.tenant,
            "SELECT l.content_hash, s.item_id FROM log l LEFT JOIN item_sources s"
            " ON s.tenant = l.tenant AND s.source_id = l.id"
            ' WHERE l.tenant = %s AND l.content_hash = ANY(%s) ORDER BY s.item_id COLLATE "C" NULLS FIRST',
            [scope.tenant, list(hashes)],
        )
        found: dict[str, list[str]] = {}
        for content_hash, item_id in rows:
            found.setdefault(content_hash, [])
            if item_id:
                found[content_hash].append(item_id)
        return found

    def get_items(self, scope: Scope, ids: Sequence[str]) -> dict[str, Item]:
        if not ids:
            return {}
        where, params = scope_clause(scope)
        with self._tx(scope.tenant) as conn:
            rows = conn.execute(
                f"SELECT {_ITEM_COLS} FROM items WHERE id = ANY(%s) AND {_pg(where)}".encode(),
                [list(dict.fromkeys(ids)), *params],
            ).fetchall()
            sources = self._sources(conn, scope.tenant, [row[0] for row in rows])
        return {row[0]: row_to_item(row, sources.get(row[0], [])) for row in rows}

    def derived_from(self, scope: Scope, source_ids: Sequence[str]) -> list[str]:
        where, params = scope_clause(scope, "i")
        rows = self._query(
            scope.tenant,
            "SELECT s.item_id FROM item_sources s JOIN items i ON i.tenant = s.tenant AND i.id = s.item_id"
            f' WHERE s.source_id = ANY(%s) AND {_pg(where)} GROUP BY s.item_id ORDER BY s.item_id COLLATE "C"',
            [list(dict.fromkeys(source_ids)), *params],
        )
        return [row[0] for row in rows]

    def links(self, scope: Scope, ids: Sequence[str]) -> list[Link]:
        a_where, a_params = scope_clause(scope, "a")
        b_where, b_params = scope_clause(scope, "b")
        wanted = list(dict.fromkeys(ids))
        rows = self._query(
            scope.tenant,
            "SELECT l.src, l.dst, l.kind, l.weight FROM item_links l"
            " JOIN items a ON a.tenant = l.tenant AND a.id = l.src JOIN items b ON b.tenant = l.tenant AND b.id = l.dst"
            f" WHERE l.tenant = %s AND (l.src = ANY(%s) OR l.dst = ANY(%s)) AND {_pg(a_where)} AND {_pg(b_where)}"
            ' ORDER BY l.src COLLATE "C", l.dst COLLATE "C", l.kind COLLATE "C"',
            [scope.tenant, wanted, wanted, *a_params, *b_params],
        )
        return [Link(src, dst, kind, float(weight)) for src, dst, kind, weight in rows]

    @staticmethod
    def _sources(conn: Conn, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if not ids:
            return out
        rows = conn.execute(
            "SELECT item_id, source_id FROM item_sources WHERE tenant = %s AND item_id = ANY(%s)"
            ' ORDER BY item_id COLLATE "C", source_id COLLATE "C"',
            [tenant, list(ids)],
        ).fetchall()
        for item_id, source in rows:
            out.setdefault(item_id, []).append(source)
        return out

    def list_items(
        self,
        scope: Scope,
        *,
        levels: Sequence[Level] = (),
        limit: int = 100,
        offset: int = 0,
        filters: SearchFilters | None = None,
        newest_first: bool = False,
    ) -> list[Item]:
        where, params = self._where(scope, filters, levels)
        order = "DESC NULLS LAST" if newest_first else "ASC NULLS FIRST"
        seq_order = "DESC" if newest_first else "ASC"
        with self._tx(scope.tenant) as conn:
            rows = conn.execute(
                f'SELECT {_ITEM_COLS} FROM items WHERE {where} ORDER BY "timestamp" {order}, seq {seq_order}'
                " LIMIT %s OFFSET %s".encode(),
                [*params, limit, offset],
            ).fetchall()
            sources = self._sources(conn, scope.tenant, [row[0] for row in rows])
        return [row_to_item(row, sources.get(row[0], [])) for row in rows]

    def session_turns(self, scope: Scope, session_id: str, start: int, end: int) -> list[tuple[int, Item]]:
        where, params = scope_clause(scope.model_copy(update={"session_id": session_id}))
        rows = self._query(
            scope.tenant,
            f"SELECT \"position\", {_ITEM_COLS} FROM items WHERE {_pg(where)} AND level = 'turn'"
            ' AND "position" BETWEEN %s AND %s ORDER BY "position"',
            [*params, start, end],
        )
        return [(row[0], row_to_item(row[1:], [])) for row in rows]

    def positions(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        where, params = scope_clause(scope)
        rows = self._query(
            scope.tenant,
            f'SELECT id, "position" FROM items WHERE id = ANY(%s) AND {_pg(where)} AND "position" IS NOT NULL',
            [list(ids), *params],
        )
        return {row[0]: row[1] for row in rows}

    def speakers(self, scope: Scope) -> list[str]:
        where, params = scope_clause(Scope(tenant=scope.tenant, user_id=scope.user_id))
        rows = self._query(
            scope.tenant, f'SELECT speaker FROM scope_speakers WHERE {_pg(where)} ORDER BY speaker COLLATE "C"', params
        )
        return [row[0] for row in rows]

    def history(self, scope: Scope, item_id: str) -> list[ItemVersion]:
        rows = self._query(
            scope.tenant,
            "SELECT v.item_id, v.version, v.event, v.text, v.log_id, v.at FROM item_versions v"
            " JOIN log l ON l.tenant = v.tenant AND l.id = v.log_id WHERE v.item_id = %s AND v.tenant = %s"
            + ("" if scope.user_id is None else " AND l.user_id = %s")
            + " ORDER BY v.at, v.version, CASE v.event WHEN 'add' THEN 0 WHEN 'update' THEN 1 ELSE 2 END",
            [item_id, scope.tenant] + ([] if scope.user_id is None else [scope.user_id]),
        )
        if not rows:
            raise NotFoundError(f"no history for memory item {item_id!r} in this scope")
        return [ItemVersion(item_id=r[0], version=r[1], event=r[2], text=r[3], log_id=r[4], at=r[5]) for r in rows]

    def count(self, scope: Scope) -> dict[str, int]:
        where, params = scope_clause(scope)
        counts = {level.value: 0 for level in Level}
        with self._tx(scope.tenant) as conn:
            for level, n in conn.execute(
                f"SELECT level, COUNT(*) FROM items WHERE {_pg(where)} GROUP BY level".encode(), params
            ):
                counts[level] = int(n)
            row = conn.execute(f"SELECT COUNT(*) FROM log WHERE {_pg(where)}".encode(), params).fetchone()
        counts["log"] = int(row[0]) if row else 0
        return counts

    # -- channels ---------------------------------------------------------------------------
    def lexical_search(
        self,
        scope: Scope,
        terms: dict[str, float],
        k: int,
        filters: SearchFilters | None = None,
        context_weight: float = 0.0,
    ) -> list[ScoredId]:
        if not terms or k <= 0:
            return []
        weights: list[float] = []
        groups: list[int] = []
        texts: list[str] = []
        for term, weight in terms.items():
            w = round(weight, 3)
            if w not in weights:
                weights.append(w)
            groups.append(weights.index(w))
            texts.append(normalize(term))
        with_context = context_weight > 0
        where, params = self._where(scope, filters, alias="i")
        where_named, where_params = named(where.replace("%s", "?"), params)
        with self._tx(scope.tenant) as conn:
            plan_rows = conn.execute(
                plan_sql(with_context).encode(), {"terms": texts, "tenant": scope.tenant}
            ).fetchall()
            plan = make_plan(plan_rows, groups)
            if not plan.terms:
                return []
            used = sorted({t.group for t in plan.terms})
            fields = [(0, 1.0)] + ([(1, context_weight)] if with_context else [])
            w_rows = [(f, g, weights[g] * fw) for f, fw in fields for g in used]
            depth = max(k, 1) * (1 if len(weights) * len(fields) == 1 else 3)
            rows = conn.execute(
                score_sql(where_named, with_context).encode(),
                {
                    "grp": [t.group for t in plan.terms],
                    "tsq": [t.tsquery for t in plan.terms],
                    "lex": [" ".join(t.lexemes) for t in plan.terms],
                    "idf_own": [t.idf_own for t in plan.terms],
                    "idf_ctx": [t.idf_ctx for t in plan.terms],
                    "any": plan.any_query,
                    "avg_own": plan.avg_own,
                    "avg_ctx": plan.avg_ctx,
                    "w_field": [r[0] for r in w_rows],
                    "w_grp": [r[1] for r in w_rows],
                    "w_weight": [r[2] for r in w_rows],
                    "depth": depth,
                    "k": k,
                    **where_params,
                },
            ).fetchall()
        return [(row[0], float(row[1])) for row in rows]

    def lexical_documents(self, scope: Scope, ids: Sequence[str]) -> dict[str, LexicalDocument]:
        where, params = scope_clause(scope)
        rows = self._query(
            scope.tenant,
            f"SELECT id, lex_own, lex_context FROM items WHERE id = ANY(%s) AND lex_own IS NOT NULL AND {_pg(where)}",
            [list(ids), *params],
        )
        return {row[0]: LexicalDocument(row[1], row[2] or "") for row in rows}

    def active_space(self) -> VectorSpace | None:
        rows = self._query("", "SELECT embedder, dim FROM vector_spaces WHERE active")
        return VectorSpace(rows[0][0], rows[0][1]) if rows else None

    def vector_search(
        self, scope: Scope, space: VectorSpace, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        """Exact cosine search when the scope holds at most :attr:`exact_limit` items (as SQLite
        always searches: the same data ranks the same on both stores), the HNSW index above that."""
        if k <= 0:
            return []
        where, params = self._where(scope, filters, alias="i")
        query = _vec(vector)
        with self._tx(scope.tenant) as conn:
            row = conn.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM items i WHERE {where} LIMIT %s) s".encode(),
                [*params, self.exact_limit + 1],
            ).fetchone()
            if row is not None and int(row[0]) <= self.exact_limit:
                # not the indexed expression, so no index scan: every vector of the scope is scored;
                # ties in insertion order, as SQLite's exact index breaks them
                rows = conn.execute(
                    "SELECT v.item_id, 1 - (v.embedding <=> %s::vector) FROM vectors v JOIN items i"
                    f" ON i.tenant = v.tenant AND i.id = v.item_id WHERE v.space = %s AND {where}"
                    " ORDER BY v.embedding <=> %s::vector, v.seq LIMIT %s".encode(),
                    [query, space.name, *params, query, k],
                ).fetchall()
                return [(r[0], float(r[1])) for r in rows]
            distance = f"v.embedding::vector({int(space.dim)}) <=> %s::vector({int(space.dim)})"
            # the HNSW index is filtered after the fact: scan on until k rows in scope are found
            conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(min(1000, max(100, 2 * k)))])
            rows = conn.execute(
                f"SELECT v.item_id, 1 - ({distance}) FROM vectors v JOIN items i ON i.tenant = v.tenant"
                f" AND i.id = v.item_id WHERE v.space = %s AND {where} ORDER BY {distance} LIMIT %s".encode(),
                [query, space.name, *params, query, k],
            ).fetchall()
        return [(row[0], float(row[1])) for row in rows]

    def vectors_for(self, scope: Scope, space: VectorSpace, ids: Sequence[str]) -> dict[str, Vectors]:
        where, params = scope_clause(scope, "i")
        rows = self._query(
            scope.tenant,
            "SELECT v.item_id, v.embedding::text FROM vectors v JOIN items i ON i.tenant = v.tenant"
            f" AND i.id = v.item_id WHERE v.space = %s AND v.item_id = ANY(%s) AND {_pg(where)}",
            [space.name, list(ids), *params],
        )
        found = {row[0]: _parse_vec(row[1]) for row in rows}
        return {i: found[i] for i in ids if i in found}

    def recent(self, scope: Scope, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        where, params = self._where(scope, filters)
        rows = self._query(
            scope.tenant,
            f'SELECT id FROM items WHERE {where} AND "timestamp" IS NOT NULL ORDER BY "timestamp" DESC, seq DESC'
            " LIMIT %s",
            [*params, k],
        )
        return [(row[0], 1.0 / (rank + 1)) for rank, row in enumerate(rows)]

    # -- lifecycle ----------------------------------------------------------------------------
    def record_access(self, tenant: str, counts: Mapping[str, int], at: datetime) -> None:
        ids = list(counts)
        with self._tx(tenant) as conn:
            conn.execute(
                "INSERT INTO item_access (tenant, item_id, count, last_at)"
                " SELECT %s, u.id, u.n, %s FROM unnest(%s::text[], %s::bigint[]) AS u(id, n)"
                " WHERE EXISTS (SELECT 1 FROM items i WHERE i.tenant = %s AND i.id = u.id)"
                " ON CONFLICT (tenant, item_id) DO UPDATE"
                " SET count = item_access.count + excluded.count, last_at = excluded.last_at",
                [tenant, at, ids, [int(counts[i]) for i in ids], tenant],
            )

    def access_counts(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        where, params = scope_clause(scope, alias="i")
        rows = self._query(
            scope.tenant,
            "SELECT a.item_id, a.count FROM item_access a JOIN items i ON i.tenant = a.tenant AND i.id = a.item_id"
            f" WHERE a.item_id = ANY(%s) AND {_pg(where)}",
            [list(dict.fromkeys(ids)), *params],
        )
        return {r[0]: int(r[1]) for r in rows}

    def deleted_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        where, params = scope_clause(scope)
        rows = self._query(
            scope.tenant,
            f"SELECT DISTINCT payload->>'item_id' FROM log WHERE kind = 'delete' AND {_pg(where)}"
            " AND payload->>'item_id' = ANY(%s)",
            [*params, list(dict.fromkeys(ids))],
        )
        absorbed = self._query(  # a merged fact's delete also tombstones the facts it absorbed
            scope.tenant,
            "SELECT DISTINCT a.id FROM log, jsonb_array_elements_text(log.payload->'absorbed') AS a(id)"
            f" WHERE log.kind = 'delete' AND log.payload ? 'absorbed' AND {_pg(where)} AND a.id = ANY(%s)",
            [*params, list(dict.fromkeys(ids))],
        )
        return {r[0] for r in rows} | {r[0] for r in absorbed}

    def log_records(
        self, scope: Scope, *, ids: Sequence[str] | None = None, offset: int = 0, limit: int = 1000
    ) -> list[LogRecord]:
        where, params = scope_clause(scope)
        if ids is None:
            rows = self._query(
                scope.tenant,
                f"SELECT {_LOG_COLS} FROM log WHERE {_pg(where)} ORDER BY seq LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
        else:
            rows = self._query(
                scope.tenant,
                f"SELECT {_LOG_COLS} FROM log WHERE id = ANY(%s) AND {_pg(where)} ORDER BY seq LIMIT %s OFFSET %s",
                [list(dict.fromkeys(ids)), *params, limit, offset],
            )
        return [
            LogRecord(
                id=r[0],
                scope=Scope(tenant=r[1], user_id=r[2], agent_id=r[3], session_id=r[4]),
                kind=r[5],
                payload=r[6],
                content_hash=r[7],
                recorded_at=r[8],
            )
            for r in rows
        ]

    def erase(self, scope: Scope, log_ids: Sequence[str], item_ids: Sequence[str]) -> int:
        where, params = scope_clause(scope)
        pwhere = _pg(where)
        tenant = scope.tenant
        erased = 0
        with self._tx(tenant) as conn:
            users = {
                r[0]
                for r in conn.execute(
                    f"SELECT user_id FROM items WHERE id = ANY(%s) AND {pwhere}".encode(), [list(item_ids), *params]
                )
            }
            found = self._ids_in_scope(conn, scope, item_ids) if item_ids else []
            if found:
                self._drop_items(conn, tenant, found)
                erased += len(found)
            if item_ids:
                conn.execute(
                    "DELETE FROM item_access WHERE tenant = %s AND item_id = ANY(%s)", [tenant, list(item_ids)]
                )
            if item_ids:
                # versions of these ids, live or deleted earlier, as long as the log records they cite are in scope
                conn.execute(
                    "DELETE FROM item_versions WHERE tenant = %s AND item_id = ANY(%s)"
                    f" AND log_id IN (SELECT id FROM log WHERE {pwhere})".encode(),
                    [tenant, list(dict.fromkeys(item_ids)), *params],
                )
            if log_ids:
                rows = conn.execute(
                    f"SELECT id, user_id FROM log WHERE id = ANY(%s) AND {pwhere}".encode(),
                    [list(dict.fromkeys(log_ids)), *params],
                ).fetchall()
                logs = [r[0] for r in rows]
                users.update(r[1] for r in rows)
                conn.execute("DELETE FROM item_versions WHERE tenant = %s AND log_id = ANY(%s)", [tenant, logs])
                conn.execute("DELETE FROM log WHERE tenant = %s AND id = ANY(%s)", [tenant, logs])
                erased += len(logs)
            for user in users:
                conn.execute(
                    "DELETE FROM scope_speakers WHERE tenant = %s AND user_id = %s AND speaker NOT IN"
                    " (SELECT speaker FROM items WHERE tenant = %s AND user_id = %s AND speaker IS NOT NULL)",
                    [tenant, user, tenant, user],
                )
        return erased

    def scrub(self) -> dict[str, Any]:
        """``VACUUM FULL`` every table: each is rewritten, so deleted rows' bytes (and dead index
        entries, GIN pending lists included) leave the data files (the old files are truncated at
        commit). Then a ``CHECKPOINT`` when the owner may run one (a superuser, or a member of
        ``pg_checkpoint``): it unlinks the old files at once. WAL segments and backups keep old
        pages until they are recycled; that is the operator's retention policy."""
        tables = list(TENANT_TABLES)
        with self._admin_lock:
            try:
                for table in tables:
                    self._admin.execute(
                        sql.SQL("VACUUM FULL {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table))
                    )
                row = self._admin.execute(
                    "SELECT rolsuper OR (to_regrole('pg_checkpoint') IS NOT NULL"
                    " AND pg_has_role(current_user, 'pg_checkpoint', 'USAGE')) FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
                checkpoint = bool(row and row[0])
                if checkpoint:
                    self._admin.execute("CHECKPOINT")
            except psycopg.Error as exc:
                raise StoreError(f"scrub failed: {exc}".strip()) from None
        return {"vacuumed_full": tables, "checkpoint": checkpoint}

    def put_vectors(self, scope: Scope, space: VectorSpace, vectors: Mapping[str, np.ndarray]) -> int:
        for item_id, value in vectors.items():
            if np.asarray(value).shape != (space.dim,):
                raise InvalidInputError(f"vector of {item_id} has shape {np.asarray(value).shape}, not ({space.dim},)")
        self._ensure_index(space)
        written = 0
        with self._tx(scope.tenant) as conn:
            conn.execute(
                "INSERT INTO vector_spaces (name, embedder, dim, active, created_at) VALUES (%s, %s, %s, false, %s)"
                " ON CONFLICT (name) DO NOTHING",
                [space.name, space.embedder, space.dim, now()],
            )
            for item_id in self._ids_in_scope(conn, scope, list(vectors)):
                conn.execute(
                    "INSERT INTO vectors (tenant, item_id, space, embedding) VALUES (%s, %s, %s, %s::vector)"
                    " ON CONFLICT (tenant, item_id, space) DO UPDATE SET embedding = excluded.embedding",
                    [scope.tenant, item_id, space.name, _vec(vectors[item_id])],
                )
                written += 1
        return written

    def activate_space(self, space: VectorSpace) -> list[str]:
        """Store-wide (every tenant's vectors), so it runs on the owner's connection, which must be a
        superuser or hold ``BYPASSRLS`` to see all tenants."""
        with self._admin_lock:
            try:
                sees_all = self._admin.execute(
                    "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
                if not (sees_all and sees_all[0]):  # row-level security would hide other tenants' vectors
                    raise ConfigError(
                        "switching the vector index checks every tenant's vectors: connect as a superuser"
                        " or a role with BYPASSRLS for the reindex"
                    )
                with self._admin.transaction():
                    self._admin.execute("LOCK TABLE vector_spaces IN SHARE ROW EXCLUSIVE MODE")
                    if not self._admin.execute("SELECT 1 FROM vector_spaces WHERE name = %s", [space.name]).fetchone():
                        raise InvalidInputError(f"no vector index {space.name!r} in this store; build it first")
                    missing = [
                        row[0]
                        for row in self._admin.execute(
                            "SELECT v.item_id FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM vectors w"
                            " WHERE w.tenant = v.tenant AND w.item_id = v.item_id AND w.space = %s)"
                            ' GROUP BY v.item_id ORDER BY v.item_id COLLATE "C"',
                            [space.name],
                        )
                    ]
                    if missing:
                        return missing
                    old = [
                        r[0]
                        for r in self._admin.execute("SELECT name FROM vector_spaces WHERE name <> %s", [space.name])
                    ]
                    self._admin.execute("UPDATE vector_spaces SET active = (name = %s)", [space.name])
                    self._admin.execute("DELETE FROM vectors WHERE space <> %s", [space.name])
                    self._admin.execute("DELETE FROM vector_spaces WHERE name <> %s", [space.name])
            except psycopg.Error as exc:
                raise StoreError(f"cannot switch the vector index: {exc}".strip()) from None
        self._indexed.difference_update(old)
        return []
