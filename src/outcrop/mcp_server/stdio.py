"""The stdio transport's unreadable lines answered, as JSON-RPC 2.0 asks.

The SDK's stdio reader hands a line it cannot read (not JSON, or JSON that is no JSON-RPC message)
to the session as an exception, which only logs it: a client that sent a malformed request waited
forever for its answer. Here each such line gets an error response: ``-32700`` (parse error) for
text that is not JSON, ``-32600`` (invalid request) for JSON that is not a request, with the
request's id when one can be read from it, else ``null`` (JSON-RPC 2.0, section 5). A blank line
is passed over, as the SDK did.
"""

from __future__ import annotations

from typing import Any

import anyio
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

from outcrop.core.validation import describe_errors

__all__ = ["answering_unreadable", "error_for"]


def error_for(exc: Exception) -> JSONRPCError:
    """The response to a line the transport could not read as a JSON-RPC message."""
    problems = exc.errors() if isinstance(exc, ValidationError) else []
    if not problems or any(p["type"] == "json_invalid" for p in problems):
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=PARSE_ERROR, message="Parse error"))
    detail = describe_errors(problems, root="message", limit=3)
    return JSONRPCError(
        jsonrpc="2.0",
        id=_request_id(problems),
        error=ErrorData(code=INVALID_REQUEST, message=f"Invalid Request: {detail}"),
    )


def _blank(exc: Exception) -> bool:
    problems = exc.errors() if isinstance(exc, ValidationError) else []
    return len(problems) == 1 and isinstance(problems[0].get("input"), str) and not problems[0]["input"].strip()


def _request_id(problems: list[Any]) -> int | str | None:
    for problem in problems:
        received = problem.get("input")
        if isinstance(received, dict):
            value = received.get("id")
            if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
                return value
    return None


async def answering_unreadable(
    incoming: ObjectReceiveStream[SessionMessage | Exception],
    outgoing: ObjectSendStream[SessionMessage],
    into: ObjectSendStream[SessionMessage | Exception],
) -> None:
    """Relay ``incoming`` to ``into`` (the session's reader), answering each unreadable line on
    ``outgoing`` instead of passing it on; closes ``into`` when ``incoming`` ends."""
    async with into:
        async for item in incoming:
            if isinstance(item, Exception):
                if _blank(item):  # a blank line between messages: nothing was asked
                    continue
                try:
                    await outgoing.send(SessionMessage(error_for(item)))
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    return
                continue
            await into.send(item)
