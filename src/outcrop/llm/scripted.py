"""A scripted OpenAI-compatible chat server on loopback, for plumbing tests and demos.

It speaks the real HTTP protocol (``POST /v1/chat/completions``, ``GET /v1/models``), so the
client under test runs unchanged. Each request takes the next scripted :class:`Reply` (the last
one repeats); requests are recorded for assertions.

>>> with ScriptedServer([Reply(status=429), Reply(content='{"facts": []}')]) as server:  # doctest: +SKIP
...     llm = OpenAICompatLLM(LLMConfig(base_url=server.base_url, model="scripted"))
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["Reply", "ScriptedServer"]


@dataclass
class Reply:
    """One scripted response: a status, a chat ``content`` (or a raw ``body``), a delay."""

    content: str | None = ""
    status: int = 200
    delay: float = 0.0
    body: str | None = None  # sent as is instead of a chat completion
    drip: float = 0.0  # seconds between the body's bytes (a server that never quite finishes)
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int = 10
    completion_tokens: int = 5


Handler = Callable[[dict[str, Any]], Reply]


class ScriptedServer:
    def __init__(self, replies: Sequence[Reply] | Handler, model: str = "scripted") -> None:
        self.replies = replies
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            count = len(self.requests)
        if callable(self.replies):
            return self.replies(request)  # outside the lock: handlers may run concurrently
        return self.replies[min(count, len(self.replies)) - 1]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                self._send(200, json.dumps({"object": "list", "data": [{"id": outer.model, "object": "model"}]}))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    request = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    request = {}
                reply = outer._next(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.body is not None:
                    body = reply.body
                elif reply.status >= 400:
                    body = json.dumps({"error": {"message": f"scripted error {reply.status}"}})
                else:
                    body = json.dumps(
                        {
                            "id": "chatcmpl-scripted",
                            "object": "chat.completion",
                            "model": outer.model,
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": reply.content},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {
                                "prompt_tokens": reply.prompt_tokens,
                                "completion_tokens": reply.completion_tokens,
                                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                            },
                        }
                    )
                self._send(reply.status, body, reply.headers, reply.drip)

            def _send(self, status: int, body: str, headers: dict[str, str] | None = None, drip: float = 0.0) -> None:
                data = body.encode("utf-8", "surrogatepass")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    if not drip:
                        self.wfile.write(data)
                    for index in range(len(data) if drip else 0):
                        self.wfile.write(data[index : index + 1])
                        self.wfile.flush()
                        time.sleep(drip)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

        return _Handler

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
