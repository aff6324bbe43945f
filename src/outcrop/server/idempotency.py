"""``Idempotency-Key`` on writes: the same key with the same request replays the first response
without writing again; the same key with a different request is a conflict (409).

Records are per tenant and expire after a TTL. The caller holds the server's write lock around
lookup, the write and :meth:`IdempotencyStore.save`, so two concurrent requests with one key cannot
both write.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from outcrop.server.sidecar import SidecarDB

__all__ = ["IdempotencyStore", "SQLiteIdempotencyStore", "StoredResponse", "fingerprint"]


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
                self._last_prune = now
            tx.execute(
                "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                (tenant, key, response.fingerprint, response.status, json.dumps(response.body), now),
            )
