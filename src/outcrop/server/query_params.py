"""Every query parameter of the ``/v1`` API is a single value: a repeated one
(``?user_id=a&user_id=b``) is refused with 422 instead of silently taking one of them, so a
request can never be read with a scope other than the one its sender meant."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from outcrop.server.errors import error_response

__all__ = ["SingleQueryValuesMiddleware"]


class SingleQueryValuesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            query = scope["query_string"].decode("latin-1")
            counts = Counter(name for name, _ in parse_qsl(query, keep_blank_values=True))
            repeated = sorted(name for name, n in counts.items() if n > 1)
            if repeated:
                message = f"query parameter {repeated[0]!r} is given more than once"
                await error_response(422, "validation_error", message)(scope, receive, send)
                return
        await self.app(scope, receive, send)
