"""Call-order sequencing of an :class:`~outcrop.api.async_memory.AsyncMemory`'s writes.

Writes of one (tenant, user) scope run one at a time in the order they were called; writes of other
users run beside them. A write spanning a tenant (an ingest, an import, a forget by ids, an update
or delete by id alone) runs after every write of that tenant called before it, and before every
write called after it. The bookkeeping is done when the write is called, before its first
``await``, so "called before" is exact: ``gather(m.add(a), m.add(b))`` writes ``a`` first.

Each write gets a future, resolved when it is finished (its thread done, even if the task that
awaited it was cancelled); a later write waits for the futures of the writes it must follow. The
futures belong to the event loop running at the time: one :class:`WriteOrder` serves one loop at
a time (writes of an earlier loop have all finished by the time another loop calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Ticket", "WriteOrder"]

_Key = tuple[str, str | None]  # (tenant, user); user None: the whole tenant


class Ticket:
    """One write's place in the order: what it waits for (``before``), and its own future."""

    def __init__(self, key: _Key, before: list[asyncio.Future[None]], mine: asyncio.Future[None]) -> None:
        self.key, self.before, self.mine = key, before, mine


class WriteOrder:
    def __init__(self) -> None:
        self._users: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._tenants: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        """Writes that some later write would still wait for (for tests: 0 when all are done)."""
        return sum(not f.done() for f in (*self._users.values(), *self._tenants.values()))

    def enter(self, tenant: str, user: str | None) -> Ticket:
        """Take a place after every write this one must follow (call with no ``await`` before it)."""
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        before: list[asyncio.Future[None]] = []
        last_tenant = self._tenants.get(tenant)
        if last_tenant is not None and not last_tenant.done():
            before.append(last_tenant)
        if user is None:
            before += [f for (t, _), f in self._users.items() if t == tenant and not f.done()]
            self._tenants[tenant] = mine
        else:
            last_user = self._users.get((tenant, user))
            if last_user is not None and not last_user.done():
                before.append(last_user)
            self._users[(tenant, user)] = mine
        return Ticket((tenant, user), before, mine)

    def leave(self, ticket: Ticket) -> None:
        """The write is finished: the writes after it may go."""
        if not ticket.mine.done():
            ticket.mine.set_result(None)
        tenant, user = ticket.key
        if user is None:
            if self._tenants.get(tenant) is ticket.mine:
                del self._tenants[tenant]
        elif self._users.get((tenant, user)) is ticket.mine:
            del self._users[(tenant, user)]

    def leave_after_before(self, ticket: Ticket) -> None:
        """A write given up while it waited (its task cancelled): it leaves once the writes it
        followed are done, so that the writes after it still follow those."""
        _when_all_done(ticket.before, lambda: self.leave(ticket))


def _when_all_done(futures: list[asyncio.Future[None]], then: Callable[[], None]) -> None:
    pending = [f for f in futures if not f.done()]
    if not pending:
        then()
        return
    left = [len(pending)]

    def one_done(_: asyncio.Future[None]) -> None:
        left[0] -= 1
        if not left[0]:
            then()

    for future in pending:
        future.add_done_callback(one_done)
