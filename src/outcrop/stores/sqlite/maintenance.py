"""Erasure for good on SQLite: rows are deleted, then :meth:`SQLiteMaintenance.scrub` merges the
FTS5 index segments (``optimize``: a deleted document's terms otherwise stay in old segments until a
merge), rewrites the file with ``VACUUM`` (no freed page or cell keeps old bytes) and truncates
the write-ahead log (``wal_checkpoint(TRUNCATE)``: old frames would still hold old pages).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from outcrop.core.time.clock import format_time, now
from outcrop.core.types import Scope
from outcrop.errors import StoreError
from outcrop.stores.base import ForgetPlan
from outcrop.stores.sql import scope_clause
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.lexical import SQLiteLexical
from outcrop.stores.sqlite.rows import drop_links
from outcrop.stores.sqlite.vectors import SQLiteVectors

__all__ = ["SQLiteMaintenance"]


class SQLiteMaintenance:
    """See :class:`outcrop.stores.base.Maintenance`."""

    def __init__(self, connection: SQLiteConnection, lexical: SQLiteLexical) -> None:
        self._conn = connection
        self._lexical = lexical

    def erase(
        self, scope: Scope, log_ids: Sequence[str], item_ids: Sequence[str], plan: ForgetPlan | None = None
    ) -> int:
        clause, params = scope_clause(scope)
        erased = 0
        users: set[tuple[str, str]] = set()
        with self._conn.transaction() as db:
            if plan is not None:
                db.execute(
                    "INSERT INTO forget_plans (tenant, id, plan, created_at) VALUES (?, ?, ?, ?)",
                    (scope.tenant, plan.id, plan.to_json(), format_time(now())),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO forgotten_ids (tenant, id, plan_id) VALUES (?, ?, ?)",
                    [(scope.tenant, i, plan.id) for i in dict.fromkeys([*log_ids, *item_ids])],
                )
            for chunk in chunks(list(dict.fromkeys(item_ids))):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT rowid, id, tenant, user_id FROM items WHERE id IN ({marks}) AND {clause}",
                    [*chunk, *params],
                ).fetchall()
                rowids = [r[0] for r in rows]
                self._lexical.drop(db, scope.tenant, rowids)
                SQLiteVectors.drop(db, rowids)
                db.executemany("DELETE FROM items WHERE rowid = ?", [(r,) for r in rowids])
                db.executemany("DELETE FROM item_sources WHERE item_id = ?", [(r[1],) for r in rows])
                drop_links(db, scope.tenant, [r[1] for r in rows])
                users.update((r[2], r[3]) for r in rows)
                erased += len(rows)
                # Versions of these ids, live or deleted earlier (a deleted item has no row left),
                # as long as the log records they cite are in scope.
                db.execute(
                    f"DELETE FROM item_versions WHERE tenant = ? AND item_id IN ({marks})"
                    f" AND log_id IN (SELECT id FROM log WHERE {clause})",
                    [scope.tenant, *chunk, *params],
                )
                db.execute(f"DELETE FROM item_access WHERE tenant = ? AND item_id IN ({marks})", [scope.tenant, *chunk])
            for chunk in chunks(list(dict.fromkeys(log_ids))):
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    f"SELECT id, tenant, user_id FROM log WHERE id IN ({marks}) AND {clause}", [*chunk, *params]
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
        return erased

    def pending_plans(self, tenant: str) -> list[ForgetPlan]:
        rows = self._conn.query("SELECT plan FROM forget_plans WHERE tenant = ? ORDER BY created_at, id", [tenant])
        return [ForgetPlan.from_json(row[0]) for row in rows]

    def finish_plan(self, plan: ForgetPlan) -> None:
        with self._conn.transaction() as db:
            db.execute("DELETE FROM forget_plans WHERE tenant = ? AND id = ?", (plan.tenant.tenant, plan.id))

    def forgotten_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(list(dict.fromkeys(ids))):
            rows = self._conn.query(
                f"SELECT id FROM forgotten_ids WHERE tenant = ? AND id IN ({','.join('?' * len(chunk))})",
                [scope.tenant, *chunk],
            )
            found.update(row[0] for row in rows)
        return found

    def scrub(self) -> dict[str, Any]:
        db = self._conn.db
        with self._conn.lock:
            try:
                SQLiteLexical.optimize(db)
                db.execute("VACUUM")
                busy, frames, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"scrub failed: {exc}") from None
        return {"fts_optimized": True, "vacuumed": True, "wal_truncated": busy == 0, "wal_frames": frames}
