"""Tenants and API keys. A key belongs to one tenant and is shown once, at creation; the server
keeps only an HMAC-SHA256 of it, keyed by a random salt kept in its database (plus an optional
pepper from the environment), so a copy of the database does not reveal usable keys.

Key format: ``ock_<key id>_<secret>``; the id finds the row, the digest of the whole key must match.
Keys made before the rename to outcrop start ``msk_`` and keep working.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from outcrop.errors import InvalidInputError, NotFoundError
from outcrop.server.sidecar import SidecarDB

__all__ = ["TENANT_PATTERN", "ApiKey", "KeyStore", "SQLiteKeyStore", "validate_tenant"]

TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_TENANT = re.compile(TENANT_PATTERN)
_KEY = re.compile(r"^(?:ock|msk)_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})$")  # msk_: made as memstrata


def validate_tenant(name: str) -> str:
    if not _TENANT.fullmatch(name):  # match's $ also matches before a final newline
        raise InvalidInputError("tenant names are 1-64 characters: letters, digits, '.', '_', '-'")
    return name


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant: str
    name: str | None
    created_at: float
    revoked_at: float | None = None


class KeyStore(Protocol):
    """What the server needs of key storage."""

    def create_tenant(self, tenant: str) -> bool:
        """Create a tenant; False when it already existed."""
        ...

    def tenants(self) -> list[str]: ...

    def create_key(self, tenant: str, name: str | None = None) -> tuple[str, ApiKey]:
        """A new key for an existing tenant: (the key itself, shown once; its record)."""
        ...

    def keys(self, tenant: str | None = None) -> list[ApiKey]: ...

    def revoke(self, key_id: str) -> None: ...

    def tenant_of(self, key: str) -> str | None:
        """The tenant a valid, unrevoked key belongs to; None otherwise."""
        ...


class SQLiteKeyStore:
    """:class:`KeyStore` in the server's sidecar SQLite file."""

    def __init__(self, db: SidecarDB, *, pepper: str = "") -> None:
        self._db = db
        with db.transaction() as tx:
            row = tx.execute("SELECT value FROM meta WHERE key = 'key_salt'").fetchone()
            if row is None:
                salt = secrets.token_bytes(32)
                tx.execute("INSERT INTO meta VALUES ('key_salt', ?)", (salt,))
            else:
                salt = bytes(row[0])
        self._secret = salt + pepper.encode("utf-8")

    def _digest(self, key: str) -> bytes:
        return hmac.new(self._secret, key.encode("utf-8"), hashlib.sha256).digest()

    def create_tenant(self, tenant: str) -> bool:
        validate_tenant(tenant)
        with self._db.transaction() as tx:
            cursor = tx.execute("INSERT OR IGNORE INTO tenants VALUES (?, ?)", (tenant, time.time()))
            return cursor.rowcount == 1

    def tenants(self) -> list[str]:
        return [row[0] for row in self._db.query("SELECT name FROM tenants ORDER BY name")]

    def create_key(self, tenant: str, name: str | None = None) -> tuple[str, ApiKey]:
        validate_tenant(tenant)
        key_id = secrets.token_hex(8)
        key = f"ock_{key_id}_{secrets.token_urlsafe(32)}"
        record = ApiKey(key_id=key_id, tenant=tenant, name=name, created_at=time.time())
        with self._db.transaction() as tx:
            if tx.execute("SELECT 1 FROM tenants WHERE name = ?", (tenant,)).fetchone() is None:
                raise NotFoundError(f"no tenant {tenant!r}")
            tx.execute(
                "INSERT INTO api_keys (key_id, tenant, name, digest, created_at) VALUES (?, ?, ?, ?, ?)",
                (key_id, tenant, name, self._digest(key), record.created_at),
            )
        return key, record

    def keys(self, tenant: str | None = None) -> list[ApiKey]:
        sql = "SELECT key_id, tenant, name, created_at, revoked_at FROM api_keys"
        rows = self._db.query(
            sql + " WHERE tenant = ? ORDER BY created_at" if tenant else sql + " ORDER BY created_at",
            (tenant,) if tenant else (),
        )
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str) -> None:
        with self._db.transaction() as tx:
            cursor = tx.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", (time.time(), key_id)
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"no active key {key_id!r}")

    def tenant_of(self, key: str) -> str | None:
        match = _KEY.match(key)
        if match is None:
            return None
        rows = self._db.query(
            "SELECT tenant, digest FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", (match.group(1),)
        )
        if not rows or not hmac.compare_digest(bytes(rows[0][1]), self._digest(key)):
            return None
        return str(rows[0][0])
