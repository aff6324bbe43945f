"""What the agent-framework adapters share: a handle as an ``AsyncMemory``, and the ``remember``
and ``recall`` tool functions each framework wraps its own way (both read their names, docstrings
and signatures to describe the tools to the model)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from outcrop.api.async_memory import AsyncMemory
from outcrop.api.memory import Memory

__all__ = ["as_async", "memory_functions"]


def as_async(memory: Memory | AsyncMemory) -> AsyncMemory:
    return memory if isinstance(memory, AsyncMemory) else AsyncMemory.wrap(memory)


def memory_functions(
    memory: Memory | AsyncMemory, *, user_id: str, agent_id: str | None, max_tokens: int
) -> tuple[Callable[[str], Awaitable[str]], Callable[[str], Awaitable[str]]]:
    """``remember`` and ``recall`` over ``user_id``'s memory, as plain async functions."""
    amemory = as_async(memory)

    async def remember(text: str) -> str:
        """Save a fact about the user or the task to long-term memory, for later conversations.

        Args:
            text: The fact to remember, as a short self-contained sentence.
        """
        [turn_id] = await amemory.add(
            [{"role": "assistant", "content": text}], user_id=user_id, agent_id=agent_id, session_id="memory-tool"
        )
        return f"remembered ({turn_id})"

    async def recall(query: str) -> str:
        """Look up long-term memory: what was said or remembered about the query, with ids.

        Args:
            query: What to look for, as a question or keywords.
        """
        context = await amemory.context(query, user_id=user_id, agent_id=agent_id, max_tokens=max_tokens)
        return context.text or "nothing remembered about that"

    return remember, recall
