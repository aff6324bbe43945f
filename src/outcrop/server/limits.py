"""Request body size limit, as ASGI middleware: a declared ``Content-Length`` over the limit is
refused before reading; otherwise the body is read up to the limit and replayed to the app.

A request that gives its length two ways, ``Content-Length`` and ``Transfer-Encoding``, is refused
(400) and its connection closed: a proxy in front may have read its body the other way, and the
bytes after it as the next request (request smuggling; RFC 9112 §6.1: the server must close the
connection after such a request)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outcrop.server.errors import error_response

__all__ = ["BodyLimitMiddleware"]


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and b"transfer-encoding" in headers:
            twice = "the request gives its length twice (Content-Length and Transfer-Encoding): send one"
            await error_response(400, "bad_request", twice, {"Connection": "close"})(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "payload_too_large", f"request body over the limit of {self.max_bytes} bytes", {"Connection": "close"}
        )
        await response(scope, receive, send)
