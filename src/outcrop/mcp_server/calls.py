"""Running a memory call inside a tool: outcrop's errors become MCP tool errors (one line, with
the error's code), anything else stays a bug."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from outcrop.errors import OutcropError

__all__ = ["call"]


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; an :class:`~outcrop.errors.OutcropError` is raised as a
    :class:`ToolError` (``code: message``), which the client receives as a tool result with
    ``isError`` set."""
    try:
        return fn(*args, **kwargs)
    except OutcropError as exc:
        raise ToolError(f"{exc.code}: {exc}") from None
