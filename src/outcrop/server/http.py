"""How the REST server speaks HTTP: uvicorn's h11 protocol with a deadline for reading each
request, and the uvicorn configuration :func:`serve` runs with.

uvicorn closes a connection left idle between requests (``timeout_keep_alive``) but sets no
deadline while a request is coming in: a client that connects and sends nothing, or sends its
headers or body a byte at a time (slowloris), holds a connection and its buffers for ever.
:class:`GuardedH11Protocol` gives each request ``read_timeout_s`` from its first byte (or from the
connection's opening) to arrive whole; past it the server answers ``408`` in our JSON error shape
when it has not started a response, and closes the connection.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import signal
import socket
import sys
from typing import Any

import h11
import uvicorn
from pydantic import SecretStr, ValidationError
from uvicorn.protocols.http.h11_impl import H11Protocol

from outcrop.core.validation import describe_errors
from outcrop.errors import ConfigError, OutcropError
from outcrop.server.config import ServerConfig
from outcrop.server.supervisor import QuietFailure, Supervisor, watch_startup
from outcrop.server.supervisor import logger as supervisor_log

__all__ = [
    "CONFIG_ENV",
    "GuardedH11Protocol",
    "app_from_environment",
    "guarded_protocol",
    "serve",
    "uvicorn_config",
]

CONFIG_ENV = "OUTCROP_SERVE_CONFIG"  # how worker processes get the server's configuration (JSON)
_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)

_BODY = json.dumps(
    {"error": {"code": "request_timeout", "message": "the request did not arrive in time"}}, separators=(",", ":")
).encode()
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)
_READING = (h11.IDLE, h11.SEND_BODY)  # the client's states while a request is still coming in


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request to arrive (see the module docstring)."""

    read_timeout_s: float = 30.0
    _read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._read_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state not in _READING:
            self._disarm()  # the request is in whole (or the connection is done with)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A request h11 cannot parse (a bad Content-Length, a header name with a space, no Host)
        gets the server's JSON error, as every other error does: uvicorn's is plain text."""
        body = json.dumps({"error": {"code": "bad_request", "message": f"malformed HTTP request: {msg}"}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        try:
            self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:  # a response was already under way: nothing more can be said
            pass
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing() or self.conn.their_state not in _READING:
            return
        answering = self.conn.their_state is h11.SEND_BODY and self.cycle is not None and self.cycle.response_started
        if not answering:  # written raw: while headers arrive, h11 has no request to answer yet
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()


def guarded_protocol(read_timeout_s: float) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class with this deadline (uvicorn builds one per connection)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"read_timeout_s": read_timeout_s})


def _settings(config: ServerConfig, *, host: str, port: int, log_level: str) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": log_level == "debug",
        "timeout_keep_alive": config.keep_alive_s,
    }


def uvicorn_config(app: Any, config: ServerConfig, *, host: str, port: int, log_level: str) -> uvicorn.Config:
    """The uvicorn configuration the server runs with: h11 with the read deadline, the keep-alive timeout."""
    return uvicorn.Config(
        app,
        http=guarded_protocol(config.read_timeout_s),
        **_settings(config, host=host, port=port, log_level=log_level),
    )


def serve(app: Any, config: ServerConfig, *, host: str, port: int, log_level: str, workers: int = 1) -> None:
    """Run ``app`` until stopped (SIGINT/SIGTERM). With ``workers`` > 1, the supervisor of
    :mod:`outcrop.server.supervisor` runs that many processes on one listening socket, each
    building the app from ``config`` (handed down in the environment, which only this user can read
    and which goes with the processes: it may hold keys; it was a file in the temporary folder,
    which a supervisor killed by SIGKILL left behind with the admin key in it, and whose removal by
    a cleaner left every replacement worker failing) and opening the store itself: they share
    nothing but the store and the keys database, whose writes are safe across processes (see
    docs/server.md). A worker that cannot start stops the server with its error
    (:class:`~outcrop.server.supervisor.WorkerStartError`) instead of being replaced for ever."""
    if workers <= 1:
        _serve_one(uvicorn_config(app, config, host=host, port=port, log_level=log_level), _bound(host, port))
        return
    settings = {
        **_settings(config, host=host, port=port, log_level=log_level),
        "http": GuardedH11Protocol,  # importable by name in each worker, which sets its deadline
    }
    uvicorn.Config(app_from_environment, **settings)  # configures the supervisor's logging as each worker's
    sock = _bound(host, port)  # the one socket they share
    os.environ[CONFIG_ENV] = json.dumps(_revealed(config.model_dump(mode="python")), default=str)
    try:
        Supervisor(app_from_environment, settings, [sock], workers).run()
    finally:
        os.environ.pop(CONFIG_ENV, None)
        sock.close()


def _bound(host: str, port: int) -> socket.socket:
    """The server's socket, bound before the app starts (and loads its model): a port in use is one
    line and exit 2 at once, not uvicorn's log line and exit 1 or 3 after the startup. uvicorn makes
    it listen once it serves; listening from here on reset connections mid-run (the isolation test
    of the REST server, three runs of three)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))  # listens once the server starts, as uvicorn's own
    except OSError as exc:
        sock.close()
        why = exc.strerror.split(" (while attempting")[0] if exc.strerror else str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {why}") from None
    sock.set_inheritable(True)
    return sock


def _serve_one(settings: uvicorn.Config, sock: socket.socket) -> None:
    """One process: an app whose startup fails (the store or the keys database cannot be opened)
    raises its error, which the CLI prints as one line (exit 2); uvicorn logged its traceback and
    ended the process with exit code 3."""
    failures: list[BaseException] = []
    watch_startup(settings.app, failures)
    quiet = QuietFailure(failures)
    supervisor_log.addFilter(quiet)
    try:
        uvicorn.Server(settings).run(sockets=[sock])
    except SystemExit:
        if failures and isinstance(failures[0], OutcropError):
            raise failures[0] from None
        raise
    finally:
        supervisor_log.removeFilter(quiet)
        sock.close()


def app_from_environment() -> Any:
    """In a worker process: the app of the configuration :func:`serve` handed down."""
    from outcrop.server.app import create_app

    _die_with_parent()
    try:
        config = ServerConfig.model_validate_json(os.environ.pop(CONFIG_ENV, ""))  # not for its own children
    except ValidationError as exc:  # one line from the supervisor, as for any configuration error
        problems = describe_errors(exc.errors(), root="configuration")
        raise ConfigError(f"the configuration handed down to the worker is invalid: {problems}") from None
    GuardedH11Protocol.read_timeout_s = config.read_timeout_s
    return create_app(config)


def _die_with_parent() -> None:
    """On Linux, a worker is sent SIGTERM when its supervisor dies, even by SIGKILL, instead of
    serving on as an orphan with the port and the store open (``PR_SET_PDEATHSIG``)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the supervisor died before the call: no signal will come
        os.kill(os.getpid(), signal.SIGTERM)


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(v) for v in value]
    return value
