"""Write ordering per scope, for a process serving many tenants.

Writes of one (tenant, user) scope run one at a time (their read-modify-write sequences: session
positions, idempotency records, the strata refreshed after an add, would otherwise race and retry),
writes of different users and tenants run at once. A write that spans a whole tenant (an import, a
forget by ids of any user) waits for the tenant's user writes in progress and holds them off while
it runs. Nothing is shared between tenants. Locks live only while someone holds or waits for them
(weak references), so the tables stay as small as the writes in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from weakref import WeakValueDictionary

__all__ = ["KeyedLocks", "ScopeLocks"]


class _Gate:
    """A tenant's gate: many user writes at once (shared), or one tenant-wide write (exclusive);
    a waiting tenant-wide write lets no new user write in, so it is never starved."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive or self._waiting:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                if not self._shared:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            try:
                while self._exclusive or self._shared:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class KeyedLocks:
    """One lock per key, alive while in use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: WeakValueDictionary[Hashable, threading.Lock] = WeakValueDictionary()

    def __len__(self) -> int:
        return len(self._locks)

    def get(self, key: Hashable) -> threading.Lock:
        """The key's lock (keep a reference while using it)."""
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.Lock()
            return lock

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        lock = self.get(key)
        with lock:
            yield


class ScopeLocks:
    """See the module docstring."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._gates: WeakValueDictionary[str, _Gate] = WeakValueDictionary()
        self._users = KeyedLocks()

    def __len__(self) -> int:
        """Locks alive now (tenants and users with a write in flight)."""
        return len(self._gates) + len(self._users)

    def _gate(self, tenant: str) -> _Gate:
        with self._guard:
            gate = self._gates.get(tenant)
            if gate is None:
                gate = self._gates[tenant] = _Gate()
            return gate

    @contextmanager
    def writing(self, tenant: str, user_id: str | None) -> Iterator[None]:
        """Hold the (tenant, user) scope for a write; ``user_id`` None: the whole tenant."""
        gate = self._gate(tenant)
        if user_id is None:
            with gate.exclusive():
                yield
            return
        with gate.shared(), self._users.hold((tenant, user_id)):
            yield
