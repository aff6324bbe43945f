"""Running a memory call inside a tool: outcrop's errors become MCP tool errors (one line, with
the error's code), anything else stays a bug; and which of the ids a tool is given name items of
the server's scope."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from outcrop.api.memory import Memory
from outcrop.core.types import Level
from outcrop.errors import InvalidInputError, NotFoundError, OutcropError

__all__ = ["call", "in_scope", "tool_error"]


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; an :class:`~outcrop.errors.OutcropError` is raised as a
    :class:`ToolError` (``code: message``), which the client receives as a tool result with
    ``isError`` set."""
    try:
        return fn(*args, **kwargs)
    except OutcropError as exc:
        raise tool_error(exc) from None


def tool_error(exc: OutcropError) -> ToolError:
    """Our error as the tool error a client receives: ``code: message``."""
    return ToolError(f"{exc.code}: {exc}")


def in_scope(
    memory: Memory, ids: Sequence[str], user: str | None, agent: str | None, *, levels: Collection[Level] = ()
) -> list[str]:
    """Those of ``ids`` naming an item of the scope (``user``; ``agent`` too when given), in order,
    once each: another user's or agent's item is left out as an id of nothing is; with ``levels``,
    so is an item of another level."""
    found = []
    for item_id in dict.fromkeys(ids):
        try:
            item = memory.get(item_id, user_id=user)
        except (NotFoundError, InvalidInputError):  # not this user's, or not an id at all
            continue
        if (agent is None or item.scope.agent_id == agent) and (not levels or item.level in levels):
            found.append(item_id)
    return found
