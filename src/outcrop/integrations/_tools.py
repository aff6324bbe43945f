"""What the agent-framework adapters share: a handle as an ``AsyncMemory``; the turns a
conversation adapter wrote and what it indexes them by; and the ``remember`` and ``recall`` tool
functions each framework wraps its own way (both read their names, docstrings and signatures to
describe the tools to the model)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from outcrop.api.async_memory import AsyncMemory
from outcrop.api.memory import Memory
from outcrop.core.types import Item, Level
from outcrop.errors import InvalidInputError

__all__ = [
    "as_async",
    "forget_conversation",
    "indexed_text",
    "keeping",
    "kept",
    "listed",
    "memory_functions",
    "own_turns",
]

_PAGE = 10_000  # the most turns one list call returns


def as_async(memory: Memory | AsyncMemory) -> AsyncMemory:
    return memory if isinstance(memory, AsyncMemory) else AsyncMemory.wrap(memory)


def keeping(name: str, value: Any) -> dict[str, Any]:
    """A framework's item as a turn's metadata keeps it, under ``name``: as it is, or as its JSON
    text (under ``name + "_json"``) when it holds a NUL character, which metadata refuses (PostgreSQL
    cannot hold it) and a tool's output may well hold. :func:`kept` reads either back."""
    text = json.dumps(value, ensure_ascii=False)
    return {f"{name}_json": text} if "\\u0000" in text else {name: value}


def kept(meta: Mapping[str, Any], name: str) -> Any:
    """The item :func:`keeping` put in ``meta`` under ``name``."""
    return meta[name] if name in meta else json.loads(meta[f"{name}_json"])


def indexed_text(text: str, fallback: str, limit: int) -> str:
    """What a framework's item is indexed by (the item itself is kept whole in the turn's
    metadata): its readable text without NUL characters, cut to the memory's ``max_text_chars``;
    ``fallback`` (the item's kind) when nothing readable is left. A model's reply of "\\n" or a
    tool's output holding a NUL used to be refused, failing the run after its input was saved."""
    readable = text.replace("\x00", " ").strip()
    return readable[:limit] if readable else fallback


def listed(memory: Memory, *, page: int = _PAGE, newest_first: bool = False, **scope: str | None) -> Iterator[Item]:
    """Every turn of ``scope`` (``memory.list``'s user, agent and session), a page at a time."""
    offset = 0
    while True:
        found = memory.list(level=Level.TURN, limit=page, offset=offset, newest_first=newest_first, **scope)
        yield from found
        if len(found) < page:
            return
        offset += len(found)


def own_turns(
    memory: Memory, *, user_id: str, agent_id: str | None, session_id: str, key: str, limit: int | None
) -> list[Item]:
    """The turns of a conversation an adapter wrote (its item under metadata ``key``), oldest first:
    the newest ``limit`` of them (None or negative: all; 0: none). Only the conversation's own:
    turns written by exactly ``agent_id`` (None: by no agent; outcrop's reads take None for any
    agent), not turns of the same user and session written some other way."""
    if limit == 0:
        return []
    wanted = limit if limit is not None and limit > 0 else None
    size = _PAGE if wanted is None else min(_PAGE, max(64, 2 * wanted))
    turns = listed(memory, page=size, newest_first=True, user_id=user_id, agent_id=agent_id, session_id=session_id)
    own = (t for t in turns if key in t.metadata and t.scope.agent_id == agent_id)
    return list(itertools.islice(own, wanted))[::-1]


def forget_conversation(memory: Memory, *, user_id: str, agent_id: str | None, session_id: str, key: str) -> None:
    """Erase a conversation an adapter kept for good: ``forget`` of its session (its popped items'
    history too). Without an agent, when some agent keeps a conversation of the same session id,
    the forget is of this conversation's own turns by id, since outcrop's scope without an agent is
    every agent's."""
    if agent_id is not None or not _other_agents(memory, user_id, session_id):
        memory.forget(user_id=user_id, agent_id=agent_id, session_id=session_id)
        return
    ids = [t.id for t in own_turns(memory, user_id=user_id, agent_id=None, session_id=session_id, key=key, limit=None)]
    if ids:
        memory.forget(ids, user_id=user_id)


def _other_agents(memory: Memory, user_id: str, session_id: str) -> bool:
    """Whether some agent wrote turns in the user's session (a session id two agents share)."""
    return any(t.scope.agent_id is not None for t in listed(memory, user_id=user_id, session_id=session_id))


def memory_functions(
    memory: Memory | AsyncMemory,
    *,
    user_id: str,
    agent_id: str | None,
    max_tokens: int,
    refused: Callable[[InvalidInputError], Exception] | None = None,
) -> tuple[Callable[[str], Awaitable[str]], Callable[[str], Awaitable[str]]]:
    """``remember`` and ``recall`` over ``user_id``'s memory, as plain async functions.
    ``refused``: what to raise instead when the memory refuses the model's argument (an empty
    note, a NUL, a text over the limit): the framework's way to hand the error back to the model
    (pydantic-ai's ``ModelRetry``) rather than end the run."""
    amemory = as_async(memory)

    def _refused(exc: InvalidInputError) -> Exception:
        return exc if refused is None else refused(exc)

    async def remember(text: str) -> str:
        """Save a fact about the user or the task to long-term memory, for later conversations.

        Args:
            text: The fact to remember, as a short self-contained sentence.
        """
        try:
            [turn_id] = await amemory.add(
                [{"role": "assistant", "content": text}], user_id=user_id, agent_id=agent_id, session_id="memory-tool"
            )
        except InvalidInputError as exc:
            raise _refused(exc) from None
        return f"remembered ({turn_id})"

    async def recall(query: str) -> str:
        """Look up long-term memory: what was said or remembered about the query, with ids.

        Args:
            query: What to look for, as a question or keywords.
        """
        try:
            context = await amemory.context(query, user_id=user_id, agent_id=agent_id, max_tokens=max_tokens)
        except InvalidInputError as exc:
            raise _refused(exc) from None
        return context.text or "nothing remembered about that"

    return remember, recall
