"""The server's own small SQLite file (tenants, hashed API keys, idempotency records), kept apart
from the memory store so that any store backend can sit behind the server."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from outcrop.errors import StoreError
from outcrop.stores.sqlite.wal import into_wal

_TIMEOUT = 30.0  # seconds a statement waits for another process's lock

__all__ = ["SidecarDB"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants(name),
    name TEXT,
    digest BLOB NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);
CREATE TABLE IF NOT EXISTS idempotency (
    tenant TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_at);
CREATE TABLE IF NOT EXISTS idempotency_items (
    tenant TEXT NOT NULL,
    item_id TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (tenant, item_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_items_key ON idempotency_items(tenant, key);
INSERT OR IGNORE INTO idempotency_items (tenant, item_id, key)
    SELECT i.tenant, j.value, i.key FROM idempotency i, json_each(i.body, '$.ids') j
    WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'idempotency_items');
INSERT OR IGNORE INTO meta (key, value) VALUES ('idempotency_items', 1);
"""


class SidecarDB:
    """One SQLite connection shared by the server's threads behind a lock (statements are tiny)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=_TIMEOUT)
            into_wal(self._db, _TIMEOUT)  # the workers of one server open it together
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the server database {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()
