"""pydantic-ai on outcrop (``pip install ".[pydantic-ai]"``): memory tools for an agent, and a
conversation's message history kept across runs and processes.

Chosen as the third framework because it is the most downloaded of the four candidates on PyPI
(pydantic-ai-slim, against llama-index-core, crewai and autogen-core) and the lightest to install
(five small packages, no torch; crewai pins older pydantic and mcp than outcrop's).

- :func:`memory_toolset` returns a ``FunctionToolset`` with ``remember(text)`` (a note the agent
  writes to the user's memory) and ``recall(query)`` (outcrop's cited context for the query), for
  ``Agent(toolsets=[...])``.
- :class:`OutcropMessageHistory` keeps each conversation's ``ModelMessage`` list: one outcrop
  turn per message in the conversation's scope (``user_id``, ``session_id`` = the conversation),
  its readable text indexed like any memory and the message itself, as pydantic-ai serialises it
  (``ModelMessagesTypeAdapter``), in the turn's metadata. ``load`` returns the messages to pass
  as ``message_history=``; ``append`` stores a run's ``new_messages()``; ``clear`` forgets the
  conversation for good. It is an append-only log: pydantic-ai's ``ConversationStore`` (branches,
  forks, revisions) is a different, larger interface this module does not implement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from outcrop.integrations._require import require
from outcrop.integrations._tools import as_async, memory_functions

require("pydantic_ai", "pydantic-ai")

from pydantic_ai import FunctionToolset  # noqa: E402
from pydantic_ai.messages import (  # noqa: E402
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)

from outcrop.api.async_memory import AsyncMemory  # noqa: E402
from outcrop.api.memory import Memory  # noqa: E402
from outcrop.core.types import DEFAULT_USER, Level  # noqa: E402
from outcrop.core.types import Item as OutcropItem  # noqa: E402

__all__ = ["OutcropMessageHistory", "memory_toolset"]

_META = "pydantic_ai"
_PAGE = 10_000


def memory_toolset(
    memory: Memory | AsyncMemory, *, user_id: str = DEFAULT_USER, agent_id: str | None = None, max_tokens: int = 800
) -> FunctionToolset[Any]:
    """``remember`` and ``recall`` over ``user_id``'s memory, as a pydantic-ai toolset."""
    remember, recall = memory_functions(memory, user_id=user_id, agent_id=agent_id, max_tokens=max_tokens)
    return FunctionToolset([remember, recall])


class OutcropMessageHistory:
    """A conversation's pydantic-ai messages kept in outcrop (see the module docstring).

    >>> history = OutcropMessageHistory(memory, user_id="alice")                 # doctest: +SKIP
    >>> result = await agent.run(prompt, message_history=await history.load("c1"))  # doctest: +SKIP
    >>> await history.append("c1", result.new_messages())                          # doctest: +SKIP
    """

    def __init__(
        self, memory: Memory | AsyncMemory, *, user_id: str = DEFAULT_USER, agent_id: str | None = None
    ) -> None:
        self._memory = as_async(memory)
        self.user_id = user_id
        self.agent_id = agent_id

    def _turns(self, memory: Memory, conversation_id: str, limit: int | None) -> list[OutcropItem]:
        def page(**kw: Any) -> list[OutcropItem]:
            return memory.list(
                user_id=self.user_id, agent_id=self.agent_id, session_id=conversation_id, level=Level.TURN, **kw
            )

        if limit is not None:
            return page(limit=min(limit, _PAGE), newest_first=True)[::-1] if limit > 0 else []
        turns: list[OutcropItem] = []
        while True:
            got = page(limit=_PAGE, offset=len(turns))
            turns.extend(got)
            if len(got) < _PAGE:
                return turns

    async def load(self, conversation_id: str, *, limit: int | None = None) -> list[ModelMessage]:
        """The conversation's messages, oldest first (the last ``limit`` of them); [] if none."""
        turns = await self._memory.run(lambda m: self._turns(m, conversation_id, limit))
        stored = [turn.metadata[_META]["message"] for turn in turns if _META in turn.metadata]
        return ModelMessagesTypeAdapter.validate_python(stored)

    async def append(self, conversation_id: str, messages: Sequence[ModelMessage]) -> None:
        """Add messages (a run's ``new_messages()``) after those stored, all or none of them."""
        if not messages:
            return
        dumped = ModelMessagesTypeAdapter.dump_python(list(messages), mode="json")
        turns = [_turn(message, data) for message, data in zip(messages, dumped, strict=True)]
        await self._memory.add(turns, user_id=self.user_id, agent_id=self.agent_id, session_id=conversation_id)

    async def clear(self, conversation_id: str) -> None:
        """Forget the conversation for good (outcrop's ``forget`` of its session)."""
        await self._memory.forget(user_id=self.user_id, agent_id=self.agent_id, session_id=conversation_id)


def _turn(message: ModelMessage, data: dict[str, Any]) -> dict[str, Any]:
    """One outcrop message for one pydantic-ai message: its role, its readable text, the message
    itself in metadata (with a fresh id, so the same words twice are two turns)."""
    texts: list[str] = []
    for part in message.parts:
        if isinstance(part, UserPromptPart | TextPart):
            content = part.content
            texts.append(content if isinstance(content, str) else " ".join(str(c) for c in content))
        elif isinstance(part, ToolCallPart):
            texts.append(f"{part.tool_name}({part.args_as_json_str()})")
        elif isinstance(part, ToolReturnPart):
            texts.append(part.model_response_str())
    if isinstance(message, ModelRequest):
        role = "tool" if message.parts and all(isinstance(p, ToolReturnPart) for p in message.parts) else "user"
    else:
        role = "assistant"
    text = "\n".join(t for t in texts if t.strip())[:30_000] or message.kind
    return {"role": role, "content": text, "metadata": {_META: {"message": data, "n": uuid.uuid4().hex}}}
