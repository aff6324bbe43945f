"""One open store, many tenants: a :class:`Memory` view per tenant over a shared store, and the
ordering of writes.

Reads run concurrently in the server's thread pool (the store does its own locking). Writes are
ordered per scope (:class:`~outcrop.core.locks.ScopeLocks`): one (tenant, user) scope's writes one
at a time, every other scope's beside them; a write spanning a tenant (an import, a forget by ids)
holds that tenant alone. Positions and ids are safe without it (unique indexes, and
:class:`~outcrop.errors.WriteConflict` retried by the engine, as for several server processes):
the ordering spares same-scope writes their retries. An ``Idempotency-Key`` is held while its
request runs, so a key sent twice at once runs once. Exports read one store snapshot, unlocked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from outcrop.api.async_memory import AsyncMemory
from outcrop.api.memory import Memory
from outcrop.core.locks import KeyedLocks, ScopeLocks

__all__ = ["TenantMemories"]


class TenantMemories:
    def __init__(self, base: Memory, *, threads: int = 16) -> None:
        self.base = base
        self._async = AsyncMemory.wrap(base, threads=threads)  # the read handlers' executor
        self._async_views: dict[str, AsyncMemory] = {}
        self.scopes = ScopeLocks()
        self._keys = KeyedLocks()
        self._views: dict[str, Memory] = {}
        self._views_lock = threading.Lock()

    def for_tenant(self, tenant: str) -> Memory:
        with self._views_lock:
            view = self._views.get(tenant)
            if view is None:
                view = self._views[tenant] = self.base.for_tenant(tenant)
            return view

    def async_for_tenant(self, tenant: str) -> AsyncMemory:
        """The tenant's view as an :class:`AsyncMemory`, on one executor shared by every tenant."""
        view = self.for_tenant(tenant)
        with self._views_lock:
            handle = self._async_views.get(tenant)
            if handle is None or handle.memory is not view:
                handle = self._async_views[tenant] = self._async.sharing(view)
            return handle

    @contextmanager
    def writing(self, tenant: str, user_id: str | None) -> Iterator[None]:
        """Hold the (tenant, user) scope (``user_id`` None: the whole tenant) for a write."""
        with self.scopes.writing(tenant, user_id):
            yield

    @contextmanager
    def holding_key(self, tenant: str, idempotency_key: str | None) -> Iterator[None]:
        """Hold a request's idempotency key (None: nothing) in this process. Taken before the
        scope's lock, so that a request waiting for another worker's run of the same key does
        not hold up the scope's other writers meanwhile."""
        if idempotency_key is None:
            yield
            return
        with self._keys.hold((tenant, idempotency_key)):
            yield

    def close(self) -> None:
        self._async.close()
        self.base.close()
