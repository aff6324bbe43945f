"""``Idempotency-Key`` on writes: the same key with the same request replays the first response
without writing again; the same key with a different request is a conflict (409).

Records are per tenant and expire after a TTL. The caller holds the server's write lock around
lookup, the write and :meth:`IdempotencyStore.save`, so two concurrent requests with one key cannot
both write.

A record holds a digest of the request (its messages) and the ids the add returned, so it goes
with them: :meth:`IdempotencyStore.forget` erases every record that returned an id a forget
erased, and :func:`erase_forgotten` catches up at startup with forgets whose erase of the records
a stopped server did not reach.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

from outcrop.server.sidecar import SidecarDB

__all__ = ["IdempotencyStore", "SQLiteIdempotencyStore", "StoredResponse", "erase_forgotten", "fingerprint"]


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
    def load(self, tenant: str, key: str) -> StoredResponse | None: ...

    def save(self, tenant: str, key: str, response: StoredResponse) -> None: ...

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
            "SELECT fingerprint, status, body FROM idempotency WHERE tenant = ? AND key = ? AND created_at >= ?",
            (tenant, key, time.time() - self._ttl),
        )
        if not rows:
            return None
        return StoredResponse(rows[0][0], int(rows[0][1]), json.loads(rows[0][2]))

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
