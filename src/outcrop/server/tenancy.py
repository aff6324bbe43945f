"""One open store, many tenants: a :class:`Memory` view per tenant over a shared store, and the
lock that serialises writes.

Reads run concurrently in the server's thread pool (the store does its own locking). Writes are
read-modify-write sequences (idempotency lookups, session positions, the strata refreshed after an
add), so they run one at a time: SQLite allows a single writer anyway.
"""

from __future__ import annotations

import threading

from outcrop.api.memory import Memory

__all__ = ["TenantMemories"]


class TenantMemories:
    def __init__(self, base: Memory) -> None:
        self.base = base
        self.write_lock = threading.Lock()
        self._views: dict[str, Memory] = {}
        self._views_lock = threading.Lock()

    def for_tenant(self, tenant: str) -> Memory:
        with self._views_lock:
            view = self._views.get(tenant)
            if view is None:
                view = self._views[tenant] = self.base.for_tenant(tenant)
            return view

    def close(self) -> None:
        self.base.close()
