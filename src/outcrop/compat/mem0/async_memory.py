"""``AsyncMemory``: the shim's methods as ``async def``, each run in a worker thread over one
sync :class:`~outcrop.compat.mem0.memory.Memory` (outcrop's engine is safe across threads), on
the executor of a native :class:`~outcrop.api.async_memory.AsyncMemory`: ``close`` waits for the
calls in flight before it closes the store (it used to close it under them, so an add that was
stored could report a failure), and a call after it raises :class:`~outcrop.errors.StoreError`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from outcrop.api.async_memory import AsyncMemory as NativeAsyncMemory
from outcrop.compat.mem0.config import to_memory_config
from outcrop.compat.mem0.memory import Memory
from outcrop.llm import LLM
from outcrop.providers.base import Embedder

__all__ = ["AsyncMemory"]


class AsyncMemory:
    """mem0's ``AsyncMemory`` backed by outcrop: the methods of :class:`Memory`, awaited."""

    def __init__(self, config: object | None = None, *, embedder: Embedder | None = None, llm: LLM | None = None):
        self.sync = Memory(config, embedder=embedder, llm=llm)
        # its executor, and its close: after the calls in flight, once however often it is called
        self._calls = NativeAsyncMemory.wrap(self.sync.native, closes_memory=True)

    @classmethod
    def from_config(cls, config_dict: dict[str, Any], **kwargs: Any) -> AsyncMemory:
        """mem0's constructor from a dict (not a coroutine, as mem0's)."""
        return cls(to_memory_config(config_dict, stacklevel=3), **kwargs)

    @property
    def native(self) -> Any:
        return self.sync.native

    async def _run(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self._calls.run(lambda _native: method(*args, **kwargs))

    async def add(self, messages: Any, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.sync.add, messages, **kwargs)
        return result

    async def search(self, query: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.sync.search, query, **kwargs)
        return result

    async def get_all(self, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.sync.get_all, **kwargs)
        return result

    async def get(self, memory_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self._run(self.sync.get, memory_id)
        return result

    async def update(self, memory_id: str, *args: Any, **kwargs: Any) -> dict[str, str]:
        result: dict[str, str] = await self._run(self.sync.update, memory_id, *args, **kwargs)
        return result

    async def delete(self, memory_id: str) -> dict[str, str]:
        result: dict[str, str] = await self._run(self.sync.delete, memory_id)
        return result

    async def delete_all(self, **kwargs: Any) -> dict[str, str]:
        result: dict[str, str] = await self._run(self.sync.delete_all, **kwargs)
        return result

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._run(self.sync.history, memory_id)
        return result

    async def reset(self) -> None:
        await self._run(self.sync.reset)

    async def close(self) -> None:
        """Wait for the calls in flight, then close the store (a second close waits for the first)."""
        await self._calls.aclose()

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
