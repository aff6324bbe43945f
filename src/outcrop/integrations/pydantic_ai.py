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
from outcrop.integrations._tools import (
    as_async,
    forget_conversation,
    indexed_text,
    keeping,
    kept,
    memory_functions,
    own_turns,
)

require("pydantic_ai", "pydantic-ai")

from pydantic_ai import FunctionToolset, ModelRetry  # noqa: E402
from pydantic_ai.messages import (  # noqa: E402
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)

from outcrop.api.async_memory import AsyncMemory  # noqa: E402
from outcrop.api.memory import Memory  # noqa: E402
from outcrop.core.types import DEFAULT_USER  # noqa: E402
from outcrop.core.types import Item as OutcropItem  # noqa: E402
from outcrop.errors import InvalidInputError  # noqa: E402

__all__ = ["OutcropMessageHistory", "memory_toolset"]

_META = "pydantic_ai"


def memory_toolset(
    memory: Memory | AsyncMemory, *, user_id: str = DEFAULT_USER, agent_id: str | None = None, max_tokens: int = 800
) -> FunctionToolset[Any]:
    """``remember`` and ``recall`` over ``user_id``'s memory, as a pydantic-ai toolset. An argument
    the memory refuses (an empty note, a text over the limit) goes back to the model as a retry
    (``ModelRetry``), as pydantic-ai does for arguments of the wrong type, instead of ending the run."""
    remember, recall = memory_functions(
        memory, user_id=user_id, agent_id=agent_id, max_tokens=max_tokens, refused=lambda exc: ModelRetry(str(exc))
    )
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
        return own_turns(
            memory, user_id=self.user_id, agent_id=self.agent_id, session_id=conversation_id, key=_META, limit=limit
        )

    async def load(self, conversation_id: str, *, limit: int | None = None) -> list[ModelMessage]:
        """The conversation's messages, oldest first (the last ``limit`` of them); [] if none."""
        turns = await self._memory.run(lambda m: self._turns(m, conversation_id, limit))
        stored = [kept(turn.metadata[_META], "message") for turn in turns]
        return ModelMessagesTypeAdapter.validate_python(stored)

    async def append(self, conversation_id: str, messages: Sequence[ModelMessage]) -> None:
        """Add messages (a run's ``new_messages()``) after those stored, all or none of them."""
        if not messages:
            return
        if not all(isinstance(m, ModelRequest | ModelResponse) for m in messages):
            raise InvalidInputError("messages must be pydantic-ai ModelMessage objects (a run's new_messages())")
        dumped = ModelMessagesTypeAdapter.dump_python(list(messages), mode="json")
        limit = self._memory.memory.config.max_text_chars
        turns = [_turn(message, data, limit) for message, data in zip(messages, dumped, strict=True)]
        await self._memory.add(turns, user_id=self.user_id, agent_id=self.agent_id, session_id=conversation_id)

    async def clear(self, conversation_id: str) -> None:
        """Forget the conversation for good (outcrop's ``forget`` of its session; see
        :func:`~outcrop.integrations._tools.forget_conversation`)."""

        def clear(memory: Memory) -> None:
            forget_conversation(
                memory, user_id=self.user_id, agent_id=self.agent_id, session_id=conversation_id, key=_META
            )

        await self._memory.run(clear, writes_user=self.user_id)


def _turn(message: ModelMessage, data: dict[str, Any], limit: int) -> dict[str, Any]:
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
    text = indexed_text("\n".join(t for t in texts if t.strip()), message.kind, limit)
    return {"role": role, "content": text, "metadata": {_META: {**keeping("message", data), "n": uuid.uuid4().hex}}}
