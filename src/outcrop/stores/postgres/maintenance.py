"""Erasure for good on PostgreSQL: deleting a scope's rows, then rewriting the tenant's partitions.

PostgreSQL leaves a deleted row's bytes in its page until the page is rewritten, so a scrub is a
``VACUUM FULL``, but only of the partitions that hold the tenant (every tenant table is hash
partitioned by tenant, ``schema.PARTITIONS`` ways): a forget costs its tenant's share of the store,
and other tenants' reads and writes wait only if they hash to the same partitions. The erase
records ``scrub_due`` in its own transaction; the scrub clears it, so a scrub skipped or cut short
is done by the next open or forget of the tenant. ``compact`` rewrites every table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from outcrop.core.time.clock import now
from outcrop.core.types import Scope
from outcrop.errors import StoreError
from outcrop.stores.base import ForgetPlan
from outcrop.stores.postgres.connection import Connections
from outcrop.stores.postgres.lexical import PostgresLexical
from outcrop.stores.postgres.rows import drop_items
from outcrop.stores.postgres.schema import PARTITIONS, SCHEMA, TENANT_TABLES
from outcrop.stores.postgres.sqlparts import Conn, ids_in_scope, pg
from outcrop.stores.sql import scope_clause

__all__ = ["PostgresMaintenance"]

_MARK_DUE = "INSERT INTO scrub_due (tenant, since) VALUES (%s, clock_timestamp()) ON CONFLICT (tenant) DO UPDATE SET since = EXCLUDED.since"


class PostgresMaintenance:
    """See :class:`outcrop.stores.base.Maintenance`."""

    def __init__(self, connections: Connections, lexical: PostgresLexical) -> None:
        self._db = connections
        self._lexical = lexical

    def erase(
        self, scope: Scope, log_ids: Sequence[str], item_ids: Sequence[str], plan: ForgetPlan | None = None
    ) -> int:
        clause, params = scope_clause(scope)
        pwhere = pg(clause)
        tenant = scope.tenant
        erased = 0
        with self._db.tx(tenant) as conn:
            conn.execute(_MARK_DUE, [tenant])
            if plan is not None:
                conn.execute(
                    "INSERT INTO forget_plans (tenant, id, plan, created_at) VALUES (%s, %s, %s::jsonb, %s)",
                    [tenant, plan.id, plan.to_json(), now()],
                )
                conn.execute(
                    "INSERT INTO forgotten_ids (tenant, id, plan_id)"
                    " SELECT %s, i, %s FROM unnest(%s::text[]) AS i ON CONFLICT DO NOTHING",
                    [tenant, plan.id, list(dict.fromkeys([*log_ids, *item_ids]))],
                )
            users = {
                r[0]
                for r in conn.execute(
                    f"SELECT user_id FROM items WHERE id = ANY(%s) AND {pwhere}".encode(), [list(item_ids), *params]
                )
            }
            found = ids_in_scope(conn, scope, item_ids) if item_ids else []
            if found:
                drop_items(conn, self._lexical, tenant, found)
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
        for user in users:  # the erased documents' postings leave this process's held entries too
            if user is not None:
                self._lexical.postings.merge_next((tenant, user))
        return erased

    def pending_plans(self, tenant: str) -> list[ForgetPlan]:
        rows = self._db.query(
            tenant, "SELECT plan::text FROM forget_plans WHERE tenant = %s ORDER BY created_at, id", [tenant]
        )
        return [ForgetPlan.from_json(row[0]) for row in rows]

    def finish_plan(self, plan: ForgetPlan) -> None:
        tenant = plan.tenant.tenant
        with self._db.tx(tenant) as conn:
            conn.execute("DELETE FROM forget_plans WHERE tenant = %s AND id = %s", [tenant, plan.id])

    def forgotten_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        rows = self._db.query(
            scope.tenant,
            "SELECT id FROM forgotten_ids WHERE tenant = %s AND id = ANY(%s)",
            [scope.tenant, list(dict.fromkeys(ids))],
        )
        return {row[0] for row in rows}

    def scrub_due(self, tenant: str) -> bool:
        return bool(self._db.query(tenant, "SELECT 1 FROM scrub_due WHERE tenant = %s", [tenant]))

    def scrub(self, tenant: str) -> dict[str, Any]:
        """``VACUUM FULL`` of the partitions holding ``tenant``: each is rewritten, so deleted rows'
        bytes (and dead index entries, GIN pending lists included) leave the data files (the old
        files are truncated at commit). Then a ``CHECKPOINT`` when the owner may run one (a
        superuser, or a member of ``pg_checkpoint``): it unlinks the old files at once. WAL
        segments and backups keep old pages until they are recycled; that is the operator's
        retention policy."""
        with self._db.admin() as admin:
            try:
                started = admin.execute("SELECT clock_timestamp()::timestamp").fetchone()
                row = admin.execute(
                    "SELECT r FROM generate_series(0, %s - 1) AS r"
                    " WHERE satisfies_hash_partition(%s::regclass, %s, r, %s::text)",
                    [PARTITIONS, f"{SCHEMA}.items", PARTITIONS, tenant],
                ).fetchone()
                assert row is not None  # one remainder of the modulus holds every tenant
                tables = [f"{table}_p{row[0]}" for table in TENANT_TABLES]
                self._rewrite(admin, tables)
                checkpoint = self._checkpoint(admin)
            except psycopg.Error as exc:
                raise StoreError(f"scrub failed: {exc}".strip()) from None
        with self._db.tx(tenant) as conn:  # unless an erase came after the rewrite began
            conn.execute(
                "DELETE FROM scrub_due WHERE tenant = %s AND since <= %s", [tenant, started[0] if started else None]
            )
        return {"method": "rewrite partitions", "bytes_gone": True, "vacuumed_full": tables, "checkpoint": checkpoint}

    def compact(self) -> dict[str, Any]:
        """``VACUUM FULL`` of every tenant table (all partitions), then a checkpoint if allowed."""
        tables = list(TENANT_TABLES)
        with self._db.admin() as admin:
            try:
                self._rewrite(admin, tables)
                checkpoint = self._checkpoint(admin)
            except psycopg.Error as exc:
                raise StoreError(f"compaction failed: {exc}".strip()) from None
        return {"vacuumed_full": tables, "checkpoint": checkpoint}

    @staticmethod
    def _rewrite(admin: Conn, tables: Sequence[str]) -> None:
        for table in tables:
            admin.execute(sql.SQL("VACUUM FULL {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table)))

    @staticmethod
    def _checkpoint(admin: Conn) -> bool:
        row = admin.execute(
            "SELECT rolsuper OR (to_regrole('pg_checkpoint') IS NOT NULL"
            " AND pg_has_role(current_user, 'pg_checkpoint', 'USAGE')) FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        checkpoint = bool(row and row[0])
        if checkpoint:
            admin.execute("CHECKPOINT")
        return checkpoint
