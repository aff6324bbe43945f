"""The OpenAI Agents SDK on outcrop (``pip install ".[openai-agents]"``): a ``Session`` that keeps
a conversation's history in an outcrop store, and ``remember``/``recall`` function tools.

:class:`OutcropSession` implements the SDK's ``Session`` protocol. Each history item (a message,
a tool call, its output...) is one outcrop turn of the session's scope (``user_id``, optional
``agent_id``, the session id as outcrop's ``session_id``): its readable text is indexed like any
memory, and the item itself is kept whole in the turn's metadata, so ``get_items`` gives back
exactly what ``add_items`` was given, in order, in this process or any later one. ``pop_item``
deletes the newest turn (its history stays in outcrop); ``clear_session`` forgets the session
for good (outcrop's ``forget``: erased from every index and the file).

:func:`memory_tools` returns ``[remember, recall]`` as ``FunctionTool`` objects for an
``Agent(tools=...)``: ``remember(text)`` adds a note written by the agent to the user's memory,
``recall(query)`` answers with outcrop's cited context for the query.

An item larger than outcrop's metadata limit (64 KiB as JSON) is refused with
:class:`~outcrop.errors.InvalidInputError` rather than cut.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from outcrop.integrations._require import require
from outcrop.integrations._tools import (
    as_async,
    forget_conversation,
    indexed_text,
    keeping,
    kept,
    memory_functions,
    own_turns,
)

require("agents", "openai-agents")

from agents import FunctionTool, function_tool  # noqa: E402
from agents.items import TResponseInputItem  # noqa: E402
from agents.memory import SessionSettings  # noqa: E402

from outcrop.api.async_memory import AsyncMemory  # noqa: E402
from outcrop.api.memory import Memory  # noqa: E402
from outcrop.core.types import DEFAULT_USER  # noqa: E402
from outcrop.core.types import Item as OutcropItem  # noqa: E402
from outcrop.errors import NotFoundError  # noqa: E402

__all__ = ["OutcropSession", "memory_tools"]

_META = "openai_agents"  # the turn metadata key holding the SDK's item


class OutcropSession:
    """An Agents SDK session whose history lives in outcrop (see the module docstring).

    >>> session = OutcropSession("chat-42", memory, user_id="alice")   # doctest: +SKIP
    >>> await Runner.run(agent, "Hi", session=session)                  # doctest: +SKIP
    """

    session_settings: SessionSettings | None = None

    def __init__(
        self,
        session_id: str,
        memory: Memory | AsyncMemory,
        *,
        user_id: str = DEFAULT_USER,
        agent_id: str | None = None,
        session_settings: SessionSettings | None = None,
    ) -> None:
        self.session_id = session_id
        self.user_id = user_id
        self.agent_id = agent_id
        self.session_settings = session_settings
        self._memory = as_async(memory)

    def _turns(self, memory: Memory, limit: int | None) -> list[OutcropItem]:
        """The session's items as turns, oldest first (the newest ``limit`` of them; negative: all,
        as the SDK's SQLiteSession)."""
        return own_turns(
            memory, user_id=self.user_id, agent_id=self.agent_id, session_id=self.session_id, key=_META, limit=limit
        )

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        turns = await self._memory.run(lambda m: self._turns(m, limit))
        return [kept(turn.metadata[_META], "item") for turn in turns]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        if not items:
            return
        limit = self._memory.memory.config.max_text_chars
        messages = [_message(item, limit) for item in items]
        await self._memory.add(messages, user_id=self.user_id, agent_id=self.agent_id, session_id=self.session_id)

    async def pop_item(self) -> TResponseInputItem | None:
        def pop(memory: Memory) -> TResponseInputItem | None:
            last = self._turns(memory, 1)
            if not last:
                return None
            item: TResponseInputItem = kept(last[0].metadata[_META], "item")
            try:
                memory.delete(last[0].id, user_id=self.user_id)
            except NotFoundError:
                return None  # popped by another process meanwhile
            return item

        return await self._memory.run(pop, writes_user=self.user_id)

    async def clear_session(self) -> None:
        def clear(memory: Memory) -> None:
            forget_conversation(
                memory, user_id=self.user_id, agent_id=self.agent_id, session_id=self.session_id, key=_META
            )

        await self._memory.run(clear, writes_user=self.user_id)


def _message(item: Any, limit: int) -> dict[str, Any]:
    """The outcrop message of one SDK item: its role, its readable text, the item in metadata (with
    a fresh id, so the same words said twice are two turns)."""
    data = dict(item) if isinstance(item, Mapping) else json.loads(json.dumps(item, default=_dump))
    role = data.get("role") if isinstance(data.get("role"), str) and data.get("role") else None
    kind = str(data.get("type") or "message")
    if role is None:
        role = "tool" if kind.endswith("_output") else "assistant"
    return {
        "role": role,
        "content": indexed_text(_text(data, kind), kind, limit),
        "metadata": {_META: {**keeping("item", data), "n": uuid.uuid4().hex}},
    }


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else str(value)


def _text(data: Mapping[str, Any], kind: str) -> str:
    content = data.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = [p.get("text") or p.get("refusal") or "" for p in content if isinstance(p, Mapping)]
        return "\n".join(p for p in parts if p)
    if kind == "function_call":
        return f"{data.get('name', 'tool')}({data.get('arguments', '')})"
    output = data.get("output")
    if isinstance(output, str):
        return output
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def memory_tools(
    memory: Memory | AsyncMemory,
    *,
    user_id: str = DEFAULT_USER,
    agent_id: str | None = None,
    max_tokens: int = 800,
) -> list[FunctionTool]:
    """``remember`` and ``recall`` as Agents SDK function tools over ``user_id``'s memory."""
    remember, recall = memory_functions(memory, user_id=user_id, agent_id=agent_id, max_tokens=max_tokens)
    return [
        function_tool(remember, name_override="remember"),
        function_tool(recall, name_override="recall"),
    ]
