"""Erasure for good on PostgreSQL: deleting a scope's rows, then rewriting the tables (scrub)."""

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
from outcrop.stores.postgres.schema import SCHEMA, TENANT_TABLES
from outcrop.stores.postgres.sqlparts import ids_in_scope, pg
from outcrop.stores.sql import scope_clause

__all__ = ["PostgresMaintenance"]


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

    def scrub(self) -> dict[str, Any]:
        """``VACUUM FULL`` every table: each is rewritten, so deleted rows' bytes (and dead index
        entries, GIN pending lists included) leave the data files (the old files are truncated at
        commit). Then a ``CHECKPOINT`` when the owner may run one (a superuser, or a member of
        ``pg_checkpoint``): it unlinks the old files at once. WAL segments and backups keep old
        pages until they are recycled; that is the operator's retention policy."""
        tables = list(TENANT_TABLES)
        with self._db.admin() as admin:
            try:
                for table in tables:
                    admin.execute(sql.SQL("VACUUM FULL {}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table)))
                row = admin.execute(
                    "SELECT rolsuper OR (to_regrole('pg_checkpoint') IS NOT NULL"
                    " AND pg_has_role(current_user, 'pg_checkpoint', 'USAGE')) FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
                checkpoint = bool(row and row[0])
                if checkpoint:
                    admin.execute("CHECKPOINT")
            except psycopg.Error as exc:
                raise StoreError(f"scrub failed: {exc}".strip()) from None
        return {"vacuumed_full": tables, "checkpoint": checkpoint}
