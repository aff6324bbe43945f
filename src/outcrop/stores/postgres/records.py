"""The records on PostgreSQL: the log, items, versions, sources, links, positions and access counts.

A write (:meth:`PostgresRecords.write`, edits included) is one transaction over
the items and the lexical and vector rows: it hands its connection to the lexical and vector parts."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope
from outcrop.errors import ConfigError, StoreError
from outcrop.stores.base import (
    HeldEdit,
    Link,
    ScoredId,
    SearchFilters,
    StrataDue,
    VectorSpace,
    WriteBatch,
)
from outcrop.stores.postgres.connection import Connections
from outcrop.stores.postgres.lexical import LexicalRow, PostgresLexical, TakenOut
from outcrop.stores.postgres.rows import (
    drop_items,
    insert_items,
    insert_log,
    insert_logs,
    insert_version,
    insert_versions,
    require,
)
from outcrop.stores.postgres.sqlparts import (
    ITEM_COLS,
    ITEM_SOURCES,
    LOG_COLS,
    Conn,
    ids_in_scope,
    pg,
    sees_every_tenant,
    where,
)
from outcrop.stores.postgres.vectors import PostgresVectors
from outcrop.stores.sql import (
    USERS_SQL,
    add_hash_rows,
    logged_version,
    read_history,
    row_to_item,
    row_to_log,
    scope_clause,
    slot_fact_ids,
)

__all__ = ["PostgresRecords"]

_ORDER_ASC = '"timestamp" ASC NULLS FIRST, seq ASC'  # list_items' time order, which iter_items keeps
_PAGE = 500  # items iter_items reads per transaction


class PostgresRecords:
    """See :class:`outcrop.stores.base.Records`."""

    def __init__(self, connections: Connections, lexical: PostgresLexical, vectors: PostgresVectors) -> None:
        self._db = connections
        self._lexical = lexical
        self._vectors = vectors

    # -- writes -----------------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        tenant = batch.tenant or (
            batch.items[0].scope.tenant
            if batch.items
            else batch.logs[0].scope.tenant
            if batch.logs
            else next(iter(batch.removes)).tenant
            if batch.removes
            else batch.edits[0].scope.tenant
            if batch.edits
            else ""
        )
        if not tenant:
            return
        if batch.space is not None:
            self._vectors.ensure_index(batch.space)
            self._vectors.ensure_active(batch.space)
        # A few statements whatever the batch's size (each kind of row in one INSERT ... SELECT FROM
        # unnest); the tenant's lexical statistics last, since writers of one tenant queue on them.
        with self._db.tx(tenant) as conn:
            if batch.space is not None:
                self._vectors.ensure_space(conn, batch.space)
            for scope, ids in batch.removes.items():
                found = ids_in_scope(conn, scope, ids)
                if found:
                    drop_items(conn, self._lexical, scope.tenant, found)
            replaced = set(batch.replaces)
            by_scope: dict[Scope, list[str]] = {}
            for item in batch.items:
                if item.id in replaced:
                    by_scope.setdefault(item.scope, []).append(item.id)
            taken: list[TakenOut] = []  # the replaced items' documents, netted with their new ones
            for scope, ids in by_scope.items():
                found = ids_in_scope(conn, scope, ids)
                if found:
                    drop_items(conn, self._lexical, tenant, found, taken)
            insert_logs(conn, batch.logs)
            documents = {i: LexicalRow.of(d) for i, d in batch.lexical.items()}
            insert_items(conn, batch.items, batch.positions, documents)
            if batch.space is not None:
                held = [item for item in batch.items if item.id in batch.vectors]
                rows = [(item.id, batch.vectors[item.id]) for item in held]
                self._vectors.insert_rows(conn, tenant, batch.space, rows, [item.scope.user_id for item in held])
            for link in batch.links:
                conn.execute(
                    "INSERT INTO item_links (tenant, src, dst, kind, weight) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (tenant, src, dst, kind) DO UPDATE SET weight = EXCLUDED.weight",
                    [tenant, link.src, link.dst, link.kind, link.weight],
                )
            insert_versions(conn, batch.versions, tenant)
            for due in batch.strata_due:
                conn.execute(
                    "INSERT INTO strata_due (tenant, id, due) VALUES (%s, %s, %s::jsonb)",
                    [tenant, due.id, due.to_json()],
                )
            self._lexical.count_in(
                conn,
                tenant,
                [(i.id, documents[i.id]) for i in batch.items if i.id in documents],
                TakenOut([k for t in taken for k in t.keys]) if taken else None,
            )
            self._lexical.put_many(conn, tenant, batch.relexical)
            for edit in batch.edits:
                if edit.text is None:
                    self._delete(conn, edit.scope, edit.item_id, edit.log)
                else:
                    self._update(conn, edit, batch.space)

    def strata_due(self, tenant: str) -> list[StrataDue]:
        rows = self._db.query(tenant, "SELECT id, due::text FROM strata_due WHERE tenant = %s ORDER BY id", [tenant])
        return [StrataDue.from_json(row[0], row[1]) for row in rows]

    def clear_strata_due(self, tenant: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._db.tx(tenant) as conn:
            conn.execute("DELETE FROM strata_due WHERE tenant = %s AND id = ANY(%s)", [tenant, list(ids)])

    def next_position(self, scope: Scope) -> int:
        rows = self._db.query(
            scope.tenant,
            'SELECT COALESCE(MAX("position"), -1) + 1 FROM items WHERE tenant = %s AND user_id = %s'
            " AND session_id IS NOT DISTINCT FROM %s",
            [scope.tenant, scope.user_id, scope.session_id],
        )
        return int(rows[0][0])

    def _update(self, conn: Conn, edit: HeldEdit, space: VectorSpace | None) -> None:
        scope, item_id, log = edit.scope, edit.item_id, edit.log
        text, lexical, vector = edit.text, edit.lexical, edit.vector
        assert text is not None and lexical is not None, "an update brings its text and lexical document"
        require(conn, scope, item_id)
        insert_log(conn, log)
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
        insert_version(conn, logged_version(log, item_id, row[0], "update", text), scope.tenant)
        if edit.metadata is not None:
            conn.execute(
                "UPDATE items SET metadata = %s WHERE tenant = %s AND id = %s",
                [Jsonb(edit.metadata), scope.tenant, item_id],
            )
        self._lexical.put(conn, scope.tenant, item_id, lexical)
        if vector is not None and space is not None:
            self._vectors.upsert_row(conn, scope.tenant, item_id, space, vector)

    def set_metadata(self, scope: Scope, items: Mapping[str, dict[str, Any]]) -> None:
        with self._db.tx(scope.tenant) as conn:
            for item_id, metadata in items.items():
                require(conn, scope, item_id)
                conn.execute(
                    "UPDATE items SET metadata = %s WHERE tenant = %s AND id = %s",
                    [Jsonb(metadata), scope.tenant, item_id],
                )

    def _delete(self, conn: Conn, scope: Scope, item_id: str, log: LogRecord) -> None:
        require(conn, scope, item_id)
        insert_log(conn, log)
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
        insert_version(conn, logged_version(log, item_id, version, "delete", None), scope.tenant)
        drop_items(conn, self._lexical, scope.tenant, [item_id])
        conn.execute("DELETE FROM item_access WHERE tenant = %s AND item_id = %s", [scope.tenant, item_id])

    def remove_items(self, scope: Scope, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        with self._db.tx(scope.tenant) as conn:
            found = ids_in_scope(conn, scope, ids)
            if found:
                drop_items(conn, self._lexical, scope.tenant, found)
        return len(found)

    def record_access(self, tenant: str, counts: Mapping[str, int], at: datetime) -> None:
        ids = list(counts)
        with self._db.tx(tenant) as conn:
            conn.execute(
                "INSERT INTO item_access (tenant, item_id, count, last_at)"
                " SELECT %s, u.id, u.n, %s FROM unnest(%s::text[], %s::bigint[]) AS u(id, n)"
                " WHERE EXISTS (SELECT 1 FROM items i WHERE i.tenant = %s AND i.id = u.id)"
                " ON CONFLICT (tenant, item_id) DO UPDATE"
                " SET count = item_access.count + excluded.count, last_at = excluded.last_at",
                [tenant, at, ids, [int(counts[i]) for i in ids], tenant],
            )

    # -- items ------------------------------------------------------------------------------------
    def items_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        rows = self._db.query(
            scope.tenant,
            "SELECT l.content_hash, s.item_id FROM log l LEFT JOIN item_sources s"
            " ON s.tenant = l.tenant AND s.source_id = l.id"
            ' WHERE l.tenant = %s AND l.content_hash = ANY(%s) ORDER BY s.item_id COLLATE "C" NULLS FIRST',
            [scope.tenant, list(hashes)],
        )
        found: dict[str, list[str]] = {}
        add_hash_rows(found, rows)
        return found

    def turns_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        rows = self._db.query(
            scope.tenant,
            "SELECT l.content_hash, v.item_id FROM log l JOIN item_versions v"
            " ON v.tenant = l.tenant AND v.log_id = l.id AND v.event = 'add'"
            ' WHERE l.tenant = %s AND l.content_hash = ANY(%s) ORDER BY v.item_id COLLATE "C"',
            [scope.tenant, list(hashes)],
        )
        found: dict[str, list[str]] = {}
        add_hash_rows(found, rows)
        return found

    def tenants(self) -> list[str]:
        with self._db.admin() as admin:
            try:
                if not sees_every_tenant(admin):  # row-level security would hide the other tenants
                    raise ConfigError(
                        "listing every tenant needs a superuser or a role with BYPASSRLS: name the tenants instead"
                    )
                rows = admin.execute("SELECT DISTINCT tenant FROM log ORDER BY tenant").fetchall()
            except psycopg.Error as exc:
                raise StoreError(f"cannot list tenants: {exc}".strip()) from None
        return [row[0] for row in rows]

    def taken_elsewhere(self, tenant: str, ids: Sequence[str]) -> set[str]:
        return set()  # every key here includes the tenant: an id of one tenant never blocks another's

    def get_items(self, scope: Scope, ids: Sequence[str]) -> dict[str, Item]:
        if not ids:
            return {}
        clause, params = scope_clause(scope)
        # Each item's sources come in the same statement (a search loads its candidates here)
        rows = self._db.query(
            scope.tenant,
            f"SELECT {ITEM_COLS}, {ITEM_SOURCES} FROM items WHERE id = ANY(%s) AND {pg(clause)}",
            [list(dict.fromkeys(ids)), *params],
        )
        return {row[0]: row_to_item(row, list(row[-1])) for row in rows}

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
        clause, params = where(scope, filters, levels)
        order = '"timestamp" DESC NULLS LAST, seq DESC' if newest_first else _ORDER_ASC
        rows = self._db.query(
            scope.tenant,
            f"SELECT {ITEM_COLS}, {ITEM_SOURCES} FROM items WHERE {clause} ORDER BY {order} LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        return [row_to_item(row, list(row[-1])) for row in rows]

    def iter_items(
        self, scope: Scope, *, levels: Sequence[Level] = (), filters: SearchFilters | None = None
    ) -> Iterator[Item]:
        """In :meth:`list_items`' order, a page of ``_PAGE`` items per short transaction, each page
        starting after the last (``timestamp``, ``seq``) read: no ``OFFSET`` rescans, and no
        connection is held while the caller works through a page."""
        clause, params = where(scope, filters, levels)
        page = _PAGE
        after: tuple[datetime | None, int] | None = None
        while True:
            keyset: str = ""
            keys: list[Any] = []
            if after is not None and after[0] is None:  # still among the undated items, which come first
                keyset, keys = ' AND ("timestamp" IS NOT NULL OR seq > %s)', [after[1]]
            elif after is not None:
                keyset, keys = ' AND ("timestamp", seq) > (%s, %s)', [after[0], after[1]]
            rows = self._db.query(
                scope.tenant,
                f"SELECT {ITEM_COLS}, seq, {ITEM_SOURCES} FROM items WHERE {clause}{keyset} ORDER BY {_ORDER_ASC} LIMIT %s",
                [*params, *keys, page],
            )
            for row in rows:
                yield row_to_item(row, list(row[-1]))
            if len(rows) < page:
                return
            last = rows[-1]
            after = (last[9], int(last[15]))  # ITEM_COLUMNS' timestamp, then seq

    def slot_facts(self, scope: Scope, keys: Collection[tuple[str, str]]) -> list[Item]:
        """Each fact's slot names first (no item built, no sources read), matched in Python (case
        folding is Python's: ``str.casefold``); then the matching facts, in one transaction."""
        if not keys:
            return []
        clause, params = where(scope, None, [Level.FACT])
        with self._db.tx(scope.tenant) as conn:
            rows = conn.execute(
                "SELECT id, metadata->'slot'->>'subject', metadata->'slot'->>'attribute',"
                " coalesce(jsonb_typeof(metadata->'slot'->'subject') = 'string'"
                " AND jsonb_typeof(metadata->'slot'->'attribute') = 'string', false)"
                f" FROM items WHERE {clause} AND metadata->'slot' IS NOT NULL ORDER BY {_ORDER_ASC}".encode(),
                params,
            ).fetchall()
            ids = slot_fact_ids(rows, keys)
            found = self.get_items(scope, ids) if ids else {}
        return [found[i] for i in ids if i in found]

    def derived_from(self, scope: Scope, source_ids: Sequence[str]) -> list[str]:
        clause, params = scope_clause(scope, "i")
        rows = self._db.query(
            scope.tenant,
            "SELECT s.item_id FROM item_sources s JOIN items i ON i.tenant = s.tenant AND i.id = s.item_id"
            f' WHERE s.source_id = ANY(%s) AND {pg(clause)} GROUP BY s.item_id ORDER BY s.item_id COLLATE "C"',
            [list(dict.fromkeys(source_ids)), *params],
        )
        return [row[0] for row in rows]

    def links(self, scope: Scope, ids: Sequence[str]) -> list[Link]:
        a_where, a_params = scope_clause(scope, "a")
        b_where, b_params = scope_clause(scope, "b")
        wanted = list(dict.fromkeys(ids))
        rows = self._db.query(
            scope.tenant,
            "SELECT l.src, l.dst, l.kind, l.weight FROM item_links l"
            " JOIN items a ON a.tenant = l.tenant AND a.id = l.src JOIN items b ON b.tenant = l.tenant AND b.id = l.dst"
            f" WHERE l.tenant = %s AND (l.src = ANY(%s) OR l.dst = ANY(%s)) AND {pg(a_where)} AND {pg(b_where)}"
            ' ORDER BY l.src COLLATE "C", l.dst COLLATE "C", l.kind COLLATE "C"',
            [scope.tenant, wanted, wanted, *a_params, *b_params],
        )
        return [Link(src, dst, kind, float(weight)) for src, dst, kind, weight in rows]

    def session_turns(self, scope: Scope, session_id: str, start: int, end: int) -> list[tuple[int, Item]]:
        clause, params = scope_clause(scope.model_copy(update={"session_id": session_id}))
        rows = self._db.query(
            scope.tenant,
            f"SELECT \"position\", {ITEM_COLS} FROM items WHERE {pg(clause)} AND level = 'turn'"
            ' AND "position" BETWEEN %s AND %s ORDER BY "position"',
            [*params, start, end],
        )
        return [(row[0], row_to_item(row[1:], [])) for row in rows]

    def positions(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        clause, params = scope_clause(scope)
        rows = self._db.query(
            scope.tenant,
            f'SELECT id, "position" FROM items WHERE id = ANY(%s) AND {pg(clause)} AND "position" IS NOT NULL',
            [list(ids), *params],
        )
        return {row[0]: row[1] for row in rows}

    def speakers(self, scope: Scope) -> list[str]:
        clause, params = scope_clause(Scope(tenant=scope.tenant, user_id=scope.user_id))
        rows = self._db.query(
            scope.tenant, f'SELECT speaker FROM scope_speakers WHERE {pg(clause)} ORDER BY speaker COLLATE "C"', params
        )
        return [row[0] for row in rows]

    def users(self, tenant: str, limit: int) -> list[str]:
        return sorted(row[0] for row in self._db.query(tenant, pg(USERS_SQL), [tenant, tenant, limit]))

    def history(self, scope: Scope, item_id: str) -> list[ItemVersion]:
        def query(sql: str, params: list[Any]) -> list[Any]:
            return self._db.query(scope.tenant, pg(sql), params)

        return read_history(query, scope, item_id, "l.tenant = v.tenant AND l.id = v.log_id")

    def count(self, scope: Scope) -> dict[str, int]:
        clause, params = scope_clause(scope)
        counts = {level.value: 0 for level in Level}
        with self._db.tx(scope.tenant) as conn:
            for level, n in conn.execute(
                f"SELECT level, COUNT(*) FROM items WHERE {pg(clause)} GROUP BY level".encode(), params
            ):
                counts[level] = int(n)
            row = conn.execute(f"SELECT COUNT(*) FROM log WHERE {pg(clause)}".encode(), params).fetchone()
        counts["log"] = int(row[0]) if row else 0
        return counts

    def count_level(self, scope: Scope, level: Level) -> int:
        clause, params = scope_clause(scope)
        rows = self._db.query(
            scope.tenant, pg(f"SELECT COUNT(*) FROM items WHERE {clause} AND level = ?"), [*params, level.value]
        )
        return int(rows[0][0])

    def recent(self, scope: Scope, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        clause, params = where(scope, filters)
        rows = self._db.query(
            scope.tenant,
            f'SELECT id FROM items WHERE {clause} AND "timestamp" IS NOT NULL ORDER BY "timestamp" DESC, seq DESC'
            " LIMIT %s",
            [*params, k],
        )
        return [(row[0], 1.0 / (rank + 1)) for rank, row in enumerate(rows)]

    # -- the log, tombstones and reads ------------------------------------------------------------
    def log_records(
        self,
        scope: Scope,
        *,
        ids: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 1000,
        after: str | None = None,
    ) -> list[LogRecord]:
        clause, params = scope_clause(scope)
        if after is not None:
            clause += " AND seq > coalesce((SELECT seq FROM log WHERE tenant = ? AND id = ?), 9223372036854775807)"
            params = [*params, scope.tenant, after]
        if ids is None:
            rows = self._db.query(
                scope.tenant,
                f"SELECT {LOG_COLS} FROM log WHERE {pg(clause)} ORDER BY seq LIMIT %s OFFSET %s",
                [*params, limit, offset],
            )
        else:
            rows = self._db.query(
                scope.tenant,
                f"SELECT {LOG_COLS} FROM log WHERE id = ANY(%s) AND {pg(clause)} ORDER BY seq LIMIT %s OFFSET %s",
                [list(dict.fromkeys(ids)), *params, limit, offset],
            )
        return [row_to_log(r) for r in rows]

    def deleted_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        clause, params = scope_clause(scope)
        rows = self._db.query(
            scope.tenant,
            f"SELECT DISTINCT payload->>'item_id' FROM log WHERE kind = 'delete' AND {pg(clause)}"
            " AND payload->>'item_id' = ANY(%s)",
            [*params, list(dict.fromkeys(ids))],
        )
        absorbed = self._db.query(  # a merged fact's delete also tombstones the facts it absorbed
            scope.tenant,
            "SELECT DISTINCT a.id FROM log, jsonb_array_elements_text(log.payload->'absorbed') AS a(id)"
            f" WHERE log.kind = 'delete' AND log.payload ? 'absorbed' AND {pg(clause)} AND a.id = ANY(%s)",
            [*params, list(dict.fromkeys(ids))],
        )
        return {r[0] for r in rows} | {r[0] for r in absorbed}

    def edits_of(self, scope: Scope, ids: Sequence[str]) -> dict[str, LogRecord]:
        clause, params = scope_clause(scope)
        rows = self._db.query(
            scope.tenant,
            f"SELECT {LOG_COLS} FROM log WHERE kind = 'update' AND {pg(clause)}"
            " AND payload->>'item_id' = ANY(%s) ORDER BY seq",
            [*params, list(dict.fromkeys(ids))],
        )
        found: dict[str, LogRecord] = {}
        for row in rows:  # in log order: the latest wins
            record = row_to_log(row)
            found[str(record.payload["item_id"])] = record
        return found

    def access_counts(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        clause, params = scope_clause(scope, alias="i")
        rows = self._db.query(
            scope.tenant,
            "SELECT a.item_id, a.count FROM item_access a JOIN items i ON i.tenant = a.tenant AND i.id = a.item_id"
            f" WHERE a.item_id = ANY(%s) AND {pg(clause)}",
            [list(dict.fromkeys(ids)), *params],
        )
        return {r[0]: int(r[1]) for r in rows}
