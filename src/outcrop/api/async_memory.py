"""``AsyncMemory``: :class:`~outcrop.api.memory.Memory` for asyncio code.

Every method of ``Memory`` is here as ``async def`` with the same arguments and results. The
store and the embedder are synchronous (SQLite, psycopg, onnxruntime), so each call runs on a
thread of the handle's own executor, ``config.async_threads`` threads (default 4): the event loop
is never blocked by a search or an embedding, and no more than that many operations run at once
(the others queue), whatever the number of tasks.

Reads run concurrently. Writes keep the order they were called in, per (tenant, user) scope, and
writes spanning a tenant follow every earlier write of it (:mod:`outcrop.api.write_order`): two
tasks adding to one user's session get their turns in the order they called ``add``, and an
acknowledged ``add`` (its ``await`` returned) is visible to every read after it. A task cancelled
while its write runs does not undo the write (the thread finishes it, and the writes after it still
wait for it): like an HTTP request cut off after it was sent, it may or may not have happened.

``reusing_reads`` is not offered: it binds to the calling thread's context, and an ``AsyncMemory``
call runs on one of the executor's threads.

>>> async with AsyncMemory("sqlite:///memory.db") as m:                    # doctest: +SKIP
...     await m.add([{"role": "user", "content": "I went hiking."}], user_id="u1")
...     hits = await m.search("What did I do?", user_id="u1")
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from outcrop.api.answer import Answer
from outcrop.api.engine import Engine
from outcrop.api.filters import Filters
from outcrop.api.memory import Memory
from outcrop.api.reports import IngestReport
from outcrop.api.write_order import WriteOrder
from outcrop.config import MemoryConfig
from outcrop.core.explain import Stats
from outcrop.core.provenance import Writer
from outcrop.core.types import DEFAULT_USER, Context, Hit, Item, ItemVersion, Level, Messages, Timestamp
from outcrop.errors import InvalidInputError, StoreError
from outcrop.lifecycle.export import ExportReport, ImportReport, Target
from outcrop.lifecycle.rebuild import RebuildReport
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.reindex import ReindexReport
from outcrop.llm import LLM
from outcrop.providers.base import Embedder
from outcrop.stores.base import Store
from outcrop.strata.consolidate import ConsolidationReport
from outcrop.truth.slots import SlotValue

__all__ = ["AsyncMemory"]

T = TypeVar("T")


def _user(user_id: object) -> str:
    """The user whose writes a call is ordered with (``None``: the default user, as ``Memory`` does)."""
    if user_id is None:
        return DEFAULT_USER
    return user_id if isinstance(user_id, str) else repr(user_id)  # an invalid id: Memory raises


class _Shared:
    """What every handle of one engine shares: the executor, the write order, the work in flight."""

    def __init__(self, threads: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="outcrop-async")
        self.order = WriteOrder()
        self.running: set[asyncio.Future[Any]] = set()
        self.closed = False
        self.closing: asyncio.Future[None] | None = None  # the one aclose that closes; others await it


class AsyncMemory:
    """Long-term memory for asyncio agents: :class:`~outcrop.Memory`'s methods as coroutines,
    safe to call from many tasks at once (see the module docstring).

    ``AsyncMemory(store, config=..., embedder=..., llm=...)`` builds and owns a ``Memory`` (its
    model is loaded here, synchronously: build it once, before serving);
    ``AsyncMemory.wrap(memory)`` drives an existing one and leaves it open on close.
    """

    def __init__(
        self,
        store: str | None = None,
        *,
        config: MemoryConfig | None = None,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
    ) -> None:
        self._setup(Memory(store, config=config, embedder=embedder, llm=llm), owns=True)

    def _setup(self, memory: Memory, *, owns: bool, shared: _Shared | None = None, threads: int | None = None) -> None:
        self._memory = memory
        self._owns = owns
        self._shared = shared or _Shared(threads or memory.config.async_threads)
        self._owns_pool = shared is None

    @classmethod
    def wrap(cls, memory: Memory, *, threads: int | None = None, closes_memory: bool = False) -> AsyncMemory:
        """An ``AsyncMemory`` over ``memory`` (sharing its engine); closing it leaves ``memory`` open,
        unless ``closes_memory`` (then it closes it, after the calls in flight). ``threads`` sizes its
        executor (default ``memory.config.async_threads``)."""
        if not isinstance(memory, Memory):
            raise InvalidInputError(f"AsyncMemory.wrap takes an outcrop Memory, not {type(memory).__name__}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InvalidInputError("threads must be a positive integer")
        handle = cls.__new__(cls)
        handle._setup(memory, owns=closes_memory is True, threads=threads)
        return handle

    def sharing(self, memory: Memory) -> AsyncMemory:
        """A handle over ``memory`` (another handle on the same engine, such as a tenant's view)
        that shares this one's executor and write order; closing it leaves both open."""
        handle = AsyncMemory.__new__(AsyncMemory)
        handle._setup(memory, owns=False, shared=self._shared)
        return handle

    # -- the engine's parts ---------------------------------------------------------------
    @property
    def memory(self) -> Memory:
        """The synchronous handle underneath (for code that runs in a thread of its own)."""
        return self._memory

    @property
    def config(self) -> MemoryConfig:
        return self._memory.config

    @property
    def engine(self) -> Engine:
        return self._memory.engine

    @property
    def store(self) -> Store:
        return self._memory.store

    @property
    def embedder(self) -> Embedder:
        return self._memory.embedder

    @property
    def llm(self) -> LLM | None:
        return self._memory.llm

    def __repr__(self) -> str:
        return f"Async{self._memory!r}"

    # -- running calls off the loop -------------------------------------------------------
    async def _read(self, call: Callable[[], T]) -> T:
        return await self._submit(call)

    async def _write(self, user: str | None, call: Callable[[], T]) -> T:
        """Run a write after those it must follow (``user`` None: tenant-wide); see write_order."""
        if self._shared.closed:
            raise StoreError("this AsyncMemory is closed")
        order = self._shared.order
        ticket = order.enter(self._memory.config.tenant, user)  # no await before this: call order
        # in flight from here, while it waits for the writes it follows: aclose waits for it too
        # (it used to be refused when its turn came after aclose began)
        queued: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        running = self._shared.running
        running.add(queued)
        try:
            try:
                if ticket.before:
                    await asyncio.wait(ticket.before)
            except BaseException:
                order.leave_after_before(ticket)
                raise
            try:
                future = self._start(call, admitted=True)
            except BaseException:
                order.leave(ticket)
                raise
            future.add_done_callback(lambda _: order.leave(ticket))
            return await asyncio.shield(future)
        finally:
            running.discard(queued)
            queued.set_result(None)

    async def _submit(self, call: Callable[[], T]) -> T:
        return await asyncio.shield(self._start(call))

    def _start(self, call: Callable[[], T], *, admitted: bool = False) -> asyncio.Future[T]:
        """Hand ``call`` to the executor; the future is shielded by callers, so a cancelled task
        leaves the work to finish (and :meth:`aclose` waits for it). ``admitted``: a write called
        before :meth:`aclose` began, whose turn came since."""
        if self._shared.closed and not admitted:
            raise StoreError("this AsyncMemory is closed")
        future = asyncio.get_running_loop().run_in_executor(self._shared.pool, call)
        running = self._shared.running
        running.add(future)
        future.add_done_callback(running.discard)
        return future

    async def run(self, fn: Callable[[Memory], T], *, writes_user: str | None = None, writes_tenant: bool = False) -> T:
        """Run ``fn(memory)`` (several calls of the synchronous handle as one step) on the executor:
        as a read, or ordered as a write of ``writes_user``'s scope (``writes_tenant``: of the whole
        tenant) with this handle's other writes. For adapters whose one operation is several calls."""
        call = functools.partial(fn, self._memory)
        if writes_tenant:
            return await self._write(None, call)
        if writes_user is not None:
            return await self._write(_user(writes_user), call)
        return await self._read(call)

    # -- lifecycle ------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Wait for the calls in flight, then close the memory (if this handle built it) and the
        executor (if this handle made it). Calls made after raise :class:`~outcrop.errors.StoreError`."""
        if not self._owns_pool:
            return  # a handle from for_tenant: the root handle closes what is shared
        if self._shared.closing is None:  # the first aclose closes; a second one (async with, then
            # aclose inside it) waits for it instead of failing on the executor it shut
            self._shared.closed = True
            self._shared.closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._shared.closing)

    async def _close(self) -> None:
        while self._shared.running:
            await asyncio.wait(set(self._shared.running))
        loop = asyncio.get_running_loop()
        if self._owns:
            await loop.run_in_executor(self._shared.pool, self._memory.close)
        await loop.run_in_executor(None, functools.partial(self._shared.pool.shutdown, wait=True))

    def close(self) -> None:
        """:meth:`aclose` for synchronous code: blocks until the calls in flight are done."""
        if not self._owns_pool:
            return
        self._shared.closed = True
        self._shared.pool.shutdown(wait=True)
        if self._owns:
            self._memory.close()

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def for_tenant(self, tenant: str) -> AsyncMemory:
        """A handle on the same engine and executor bound to ``tenant`` (see :meth:`Memory.for_tenant`);
        closing it leaves them open."""
        return self.sharing(await self._submit(functools.partial(self._memory.for_tenant, tenant)))

    # -- writes ---------------------------------------------------------------------------
    async def add(
        self,
        messages: Messages,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        timestamp: Timestamp | None = None,
        metadata: dict[str, Any] | None = None,
        writer: Writer | str = Writer.USER,
    ) -> builtins.list[str]:
        """See :meth:`Memory.add`."""
        call = functools.partial(
            self._memory.add,
            messages,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            run_id=run_id,
            timestamp=timestamp,
            metadata=metadata,
            writer=writer,
        )
        return await self._write(_user(user_id), call)

    async def ingest(
        self,
        path: str | os.PathLike[str],
        *,
        format: str = "auto",
        user_id: str | None = None,
        progress: Callable[[int], None] | None = None,
        total: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """See :meth:`Memory.ingest` (``progress`` and ``total`` are called from the executor's thread)."""
        call = functools.partial(
            self._memory.ingest, path, format=format, user_id=user_id, progress=progress, total=total
        )
        return await self._write(None, call)

    async def wait_for_strata(self, timeout: float | None = None) -> bool:
        return await self._read(functools.partial(self._memory.wait_for_strata, timeout))

    async def consolidate(self, *, user_id: str | None = None, agent_id: str | None = None) -> ConsolidationReport:
        return await self._write(
            _user(user_id), functools.partial(self._memory.consolidate, user_id=user_id, agent_id=agent_id)
        )

    async def update(self, item_id: str, text: str, *, user_id: str | None = None) -> Item:
        """See :meth:`Memory.update`; without ``user_id`` it is ordered with the whole tenant's writes."""
        call = functools.partial(self._memory.update, item_id, text, user_id=user_id)
        return await self._write(None if user_id is None else _user(user_id), call)

    async def delete(self, item_id: str, *, user_id: str | None = None) -> None:
        """See :meth:`Memory.delete`; without ``user_id`` it is ordered with the whole tenant's writes."""
        call = functools.partial(self._memory.delete, item_id, user_id=user_id)
        await self._write(None if user_id is None else _user(user_id), call)

    async def forget(
        self,
        ids: builtins.list[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        scrub: bool = True,
    ) -> ForgetReceipt:
        """See :meth:`Memory.forget`."""
        call = functools.partial(
            self._memory.forget,
            ids,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            run_id=run_id,
            scrub=scrub,
        )
        tenant_wide = ids is not None and user_id is None
        return await self._write(None if tenant_wide else _user(user_id), call)

    async def compact(self) -> dict[str, object]:
        return await self._write(None, self._memory.compact)

    async def rebuild(self, *, user_id: str | None = None) -> RebuildReport:
        call = functools.partial(self._memory.rebuild, user_id=user_id)
        return await self._write(None if user_id is None else _user(user_id), call)

    async def reindex(self, embedder: str | Embedder, *, tenants: builtins.list[str] | None = None) -> ReindexReport:
        return await self._write(None, functools.partial(self._memory.reindex, embedder, tenants=tenants))

    async def export(self, target: Target, *, user_id: str | None = None, projections: bool = False) -> ExportReport:
        return await self._read(
            functools.partial(self._memory.export, target, user_id=user_id, projections=projections)
        )

    async def import_(self, source: Target) -> ImportReport:
        return await self._write(None, functools.partial(self._memory.import_, source))

    async def release(self, item_id: str, *, user_id: str | None = None) -> builtins.list[Item]:
        call = functools.partial(self._memory.release, item_id, user_id=user_id)
        return await self._write(None if user_id is None else _user(user_id), call)

    # -- reads ----------------------------------------------------------------------------
    async def get(self, item_id: str, *, user_id: str | None = None) -> Item:
        return await self._read(functools.partial(self._memory.get, item_id, user_id=user_id))

    async def list(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        level: str | Level | None = None,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = False,
    ) -> builtins.list[Item]:
        call = functools.partial(
            self._memory.list,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            run_id=run_id,
            level=level,
            limit=limit,
            offset=offset,
            newest_first=newest_first,
        )
        return await self._read(call)

    async def history(self, item_id: str, *, user_id: str | None = None) -> builtins.list[ItemVersion]:
        return await self._read(functools.partial(self._memory.history, item_id, user_id=user_id))

    async def flagged(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        released: bool = False,
        limit: int = 100,
    ) -> builtins.list[Item]:
        call = functools.partial(
            self._memory.flagged,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            released=released,
            limit=limit,
        )
        return await self._read(call)

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        limit: int = 10,
        filters: Filters | None = None,
        channels: dict[str, float] | None = None,
        as_of: Timestamp | None = None,
        recipe: str = "default",
    ) -> builtins.list[Hit]:
        """See :meth:`Memory.search`."""
        call = functools.partial(
            self._memory.search,
            query,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            run_id=run_id,
            limit=limit,
            filters=filters,
            channels=channels,
            as_of=as_of,
            recipe=recipe,
        )
        return await self._read(call)

    async def timeline(
        self,
        subject: str,
        attribute: str | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        as_of: Timestamp | None = None,
    ) -> builtins.list[SlotValue]:
        call = functools.partial(
            self._memory.timeline, subject, attribute, user_id=user_id, agent_id=agent_id, as_of=as_of
        )
        return await self._read(call)

    async def context(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        max_tokens: int = 1000,
        filters: Filters | None = None,
        as_of: Timestamp | None = None,
    ) -> Context:
        """See :meth:`Memory.context`."""
        call = functools.partial(
            self._memory.context,
            query,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            run_id=run_id,
            max_tokens=max_tokens,
            filters=filters,
            as_of=as_of,
        )
        return await self._read(call)

    async def stats(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None
    ) -> Stats:
        return await self._read(
            functools.partial(self._memory.stats, user_id=user_id, agent_id=agent_id, session_id=session_id)
        )

    async def answer(
        self,
        question: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        max_tokens: int = 1000,
    ) -> Answer:
        """See :meth:`Memory.answer`."""
        call = functools.partial(
            self._memory.answer,
            question,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            run_id=run_id,
            max_tokens=max_tokens,
        )
        return await self._read(call)
