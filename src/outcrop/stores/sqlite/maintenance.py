"""Erasure for good on SQLite, at the cost of what is erased.

The file is opened with ``PRAGMA secure_delete=ON`` (a deleted row's cell and a freed page are
overwritten with zeros) and every FTS5 index has the ``secure-delete`` option (a deleted
document's postings are removed from the index segments, not masked by a delete marker), so the
erase transaction itself leaves no erased byte in the database pages it commits. What remains is
the write-ahead log: frames written before the erase still hold the old pages. The erase records
``scrub_due`` in the same transaction; :meth:`SQLiteMaintenance.scrub` checkpoints the log into the
file and truncates it (``wal_checkpoint(TRUNCATE)``), then clears the mark. A process killed in
between leaves the mark, and the next open (or forget) scrubs. Neither step rewrites the file: a
forget costs the pages it touches, not the store's size (``VACUUM`` is :meth:`compact`, for
reclaiming space, never needed for erasure).

With an SQLite older than 3.44 (no FTS5 ``secure-delete``; see :mod:`.driver`) the scrub falls back
to merging every index (``optimize``) and ``VACUUM``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from outcrop.core.time.clock import format_time, now
from outcrop.core.types import Scope
from outcrop.errors import StoreError
from outcrop.stores.base import ForgetPlan
from outcrop.stores.sql import scope_clause
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.driver import FTS5_SECURE_DELETE, sqlite3
from outcrop.stores.sqlite.lexical import SQLiteLexical
from outcrop.stores.sqlite.rows import drop_links
from outcrop.stores.sqlite.schema import SECURE_DELETE_MIGRATION
from outcrop.stores.sqlite.vectors import SQLiteVectors

__all__ = ["SQLiteMaintenance"]

_MARK_DUE = "INSERT OR REPLACE INTO meta (key, value) VALUES ('scrub_due', ?)"
_CLEAR_DUE = "DELETE FROM meta WHERE key = 'scrub_due' AND CAST(value AS INTEGER) <= ?"  # ns since the epoch
_CHECKPOINT_WAIT = 2.0  # seconds a scrub waits for readers of the log's older frames


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
            db.execute(_MARK_DUE, (time.time_ns(),))
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

    def scrub_due(self, tenant: str) -> bool:
        return bool(self._conn.query("SELECT 1 FROM meta WHERE key = 'scrub_due'"))

    def scrub(self, tenant: str) -> dict[str, Any]:
        """Checkpoint and truncate the write-ahead log (waiting at most ``_CHECKPOINT_WAIT`` s for
        readers of older frames); clear ``scrub_due`` once the log is empty. ``bytes_gone`` says
        whether it is: when a long read kept old frames alive, the mark stays and the next scrub
        (the next forget, or the next open) finishes."""
        if not self._in_place():
            return self._rewrite()
        db = self._conn.db
        started = time.time_ns()
        with self._conn.lock:
            try:
                db.execute(f"PRAGMA busy_timeout = {int(_CHECKPOINT_WAIT * 1000)}")
                try:
                    busy, frames, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    db.execute(f"PRAGMA busy_timeout = {int(self._conn.timeout * 1000)}")
                if busy == 0:  # unless an erase (another process's) came after the checkpoint began
                    db.execute(_CLEAR_DUE, (started,))
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the mark's own frame
            except sqlite3.Error as exc:
                raise StoreError(f"scrub failed: {exc}") from None
        return {"method": "in place", "bytes_gone": busy == 0, "wal_truncated": busy == 0, "wal_frames": frames}

    def compact(self) -> dict[str, Any]:
        """Rewrite the file (``VACUUM``) to give freed pages back to the file system: for space only,
        erased bytes are already zeros. Blocks the store's other writers while it runs."""
        return self._rewrite()

    def _in_place(self) -> bool:
        return FTS5_SECURE_DELETE and bool(
            self._conn.query("SELECT 1 FROM schema_migrations WHERE name = ?", [SECURE_DELETE_MIGRATION])
        )

    def _rewrite(self) -> dict[str, Any]:
        db = self._conn.db
        started = time.time_ns()
        with self._conn.lock:
            try:
                SQLiteLexical.optimize(db)
                db.execute("VACUUM")
                busy, frames, _done = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if busy == 0:
                    db.execute(_CLEAR_DUE, (started,))
            except sqlite3.Error as exc:
                raise StoreError(f"scrub failed: {exc}") from None
        return {
            "method": "rewrite",
            "bytes_gone": busy == 0,
            "fts_optimized": True,
            "vacuumed": True,
            "wal_truncated": busy == 0,
            "wal_frames": frames,
        }
