"""``Idempotency-Key`` on writes: the same key with the same request replays the first response
without writing again; the same key with a different request is a conflict (409).

Records are per tenant and expire after a TTL. A request first *claims* its key
(:meth:`IdempotencyStore.claim`): a pending record, written in one transaction of the server's
SQLite file that every worker process shares, holds the key while the request runs; the response
replaces it (:meth:`~IdempotencyStore.save`), a failure frees it (:meth:`~IdempotencyStore.release`).
Another request with the key meanwhile, in any worker, sees the pending record: with another body
it is a conflict at once, with the same body it waits for the response and replays it. (The key
used to be held by a lock of one process only: two workers given one key with two bodies wrote
both.) A pending record whose process is gone (killed mid-request) no longer holds its key.

A record holds a digest of the request (its messages) and the ids the add returned, so it goes
with them: :meth:`IdempotencyStore.forget` erases every record that returned an id a forget
erased, and :func:`erase_forgotten` catches up at startup with forgets whose erase of the records
a stopped server did not reach.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

from outcrop.server.sidecar import SidecarDB

__all__ = ["PENDING", "IdempotencyStore", "SQLiteIdempotencyStore", "StoredResponse", "erase_forgotten", "fingerprint"]

PENDING = 0  # the status of a claimed key whose request is still running
_PENDING_AT_MOST = 3600.0  # seconds after which a pending record holds its key no more, its process alive or not


def fingerprint(method: str, path: str, body: Any) -> str:
    """A digest of what a request asks for (its parsed body, keys sorted), not of its bytes."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    status: int
    body: Any


class IdempotencyStore(Protocol):
    def load(self, tenant: str, key: str) -> StoredResponse | None:
        """The completed response recorded under ``key``; None when there is none (or it is pending)."""

    def claim(self, tenant: str, key: str, fingerprint: str) -> StoredResponse | None:
        """Hold ``key`` for a request with ``fingerprint``: None when the caller now holds it and
        is to run the request; else the record already there: a completed response, or one whose
        ``status`` is :data:`PENDING` (another request holds the key and runs now)."""

    def save(self, tenant: str, key: str, response: StoredResponse) -> None:
        """Record the response of the request that holds ``key`` (or of none)."""

    def release(self, tenant: str, key: str) -> None:
        """Free a key whose request failed: its pending record goes."""

    def forget(self, tenant: str, item_ids: Collection[str]) -> int:
        """Erase the tenant's records whose response returned any of ``item_ids``; how many."""

    def referenced(self, tenant: str | None = None) -> dict[str, set[str]]:
        """Every tenant's (or one tenant's) item ids that its records returned."""


class SQLiteIdempotencyStore:
    """:class:`IdempotencyStore` in the server's sidecar SQLite file."""

    def __init__(self, db: SidecarDB, *, ttl_s: float) -> None:
        self._db = db
        self._ttl = ttl_s
        self._last_prune = 0.0

    def load(self, tenant: str, key: str) -> StoredResponse | None:
        rows = self._db.query(
            "SELECT fingerprint, status, body FROM idempotency WHERE tenant = ? AND key = ? AND created_at >= ?"
            f" AND status != {PENDING}",
            (tenant, key, time.time() - self._ttl),
        )
        if not rows:
            return None
        return StoredResponse(rows[0][0], int(rows[0][1]), json.loads(rows[0][2]))

    def claim(self, tenant: str, key: str, fingerprint: str) -> StoredResponse | None:
        now = time.time()
        with self._db.transaction() as tx:
            row = tx.execute(
                "SELECT fingerprint, status, body, created_at FROM idempotency WHERE tenant = ? AND key = ?",
                (tenant, key),
            ).fetchone()
            if row is not None and row[3] >= now - self._ttl:
                held = StoredResponse(row[0], int(row[1]), json.loads(row[2]))
                if held.status != PENDING or _running(held.body, row[3], now):
                    return held
            tx.execute(
                "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, key, fingerprint, PENDING, json.dumps({"pid": os.getpid()}), now),
            )
            tx.execute("DELETE FROM idempotency_items WHERE tenant = ? AND key = ?", (tenant, key))
        return None

    def release(self, tenant: str, key: str) -> None:
        with self._db.transaction() as tx:
            tx.execute(f"DELETE FROM idempotency WHERE tenant = ? AND key = ? AND status = {PENDING}", (tenant, key))

    def save(self, tenant: str, key: str, response: StoredResponse) -> None:
        now = time.time()
        with self._db.transaction() as tx:
            if now - self._last_prune > 60:
                tx.execute("DELETE FROM idempotency WHERE created_at < ?", (now - self._ttl,))
                tx.execute(
                    "DELETE FROM idempotency_items WHERE NOT EXISTS (SELECT 1 FROM idempotency i"
                    " WHERE i.tenant = idempotency_items.tenant AND i.key = idempotency_items.key)"
                )
                self._last_prune = now
            tx.execute(
                "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, key, response.fingerprint, response.status, json.dumps(response.body), now),
            )
            tx.execute("DELETE FROM idempotency_items WHERE tenant = ? AND key = ?", (tenant, key))
            tx.executemany(
                "INSERT OR IGNORE INTO idempotency_items (tenant, item_id, key) VALUES (?, ?, ?)",
                [(tenant, item_id, key) for item_id in _ids(response.body)],
            )

    def forget(self, tenant: str, item_ids: Collection[str]) -> int:
        ids = sorted(set(item_ids))
        if not ids:
            return 0
        erased = 0
        with self._db.transaction() as tx:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                keys = [
                    row[0]
                    for row in tx.execute(
                        f"SELECT DISTINCT key FROM idempotency_items WHERE tenant = ? AND item_id IN ({marks})",
                        [tenant, *chunk],
                    )
                ]
                for key in keys:
                    erased += tx.execute("DELETE FROM idempotency WHERE tenant = ? AND key = ?", (tenant, key)).rowcount
                    tx.execute("DELETE FROM idempotency_items WHERE tenant = ? AND key = ?", (tenant, key))
        return erased

    def referenced(self, tenant: str | None = None) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        if tenant is None:
            rows = self._db.query("SELECT tenant, item_id FROM idempotency_items")
        else:
            rows = self._db.query("SELECT tenant, item_id FROM idempotency_items WHERE tenant = ?", (tenant,))
        for name, item_id in rows:
            found.setdefault(name, set()).add(item_id)
        return found


def _running(body: Any, since: float, now: float) -> bool:
    """Whether the process that claimed a pending record may still be running its request (the
    server's workers share one machine, so its pid tells)."""
    pid = body.get("pid") if isinstance(body, dict) else None
    if not isinstance(pid, int) or now - since > _PENDING_AT_MOST:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _ids(body: Any) -> list[str]:
    ids = body.get("ids") if isinstance(body, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def erase_forgotten(
    records: IdempotencyStore, forgotten: Callable[[str, list[str]], Collection[str]], tenant: str | None = None
) -> int:
    """Erase the records (of every tenant, or of ``tenant``) that returned an id
    ``forgotten(tenant, ids)`` says was forgotten (a forget whose server stopped before it erased
    them, or one another process cut short and this one completed); how many."""
    erased = 0
    for name, ids in sorted(records.referenced(tenant).items()):
        gone = forgotten(name, sorted(ids))
        if gone:
            erased += records.forget(name, gone)
    return erased
