"""The server's connections, on real sockets: a 500 answers JSON and keeps the connection; a
client that sends nothing, or its headers or body too slowly, is answered 408 and closed within
the read timeout; an idle kept-alive connection is closed after the keep-alive timeout."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import MemoryConfig
from outcrop.providers import Embedder
from outcrop.server import ServerConfig, create_app
from outcrop.server.launch import ServerProcess
from tests.server.wire import read_response, request, seconds_until_closed, threaded_server

READ_TIMEOUT = 1.0
KEEP_ALIVE = 1
LIMIT = 10.0  # what a test waits before concluding the server never closes


def _connect(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=LIMIT)


def test_a_500_answers_json_and_keeps_the_connection(tmp_path: Path, embedder: Embedder) -> None:
    """An unexpected exception used to reach uvicorn after Starlette had sent the 500, and uvicorn
    then closed the connection: the next request on it failed."""
    config = ServerConfig(memory=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), keys_path=tmp_path / "k.db")
    app = create_app(config, embedder=embedder)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/test/broken", broken)
    with threaded_server(app, config) as address, _connect(address) as sock:
        for _ in range(2):
            sock.sendall(request("GET", "/v1/test/broken"))
            status, headers, body = read_response(sock)
            assert status == 500 and headers["content-type"] == "application/json"
            assert json.loads(body) == {"error": {"code": "internal_error", "message": "internal server error"}}
        sock.sendall(request("GET", "/v1/health"))  # the same connection still serves
        assert read_response(sock)[0] == 200


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``outcrop serve`` with a 1 s read timeout and a 1 s keep-alive."""
    root = tmp_path_factory.mktemp("impatient")
    args = ("--keys", str(root / "k.db"), "--read-timeout", str(READ_TIMEOUT), "--keep-alive", str(KEEP_ALIVE))
    with ServerProcess(f"sqlite:///{root / 'm.db'}", args=args, startup_timeout=300.0) as server:
        yield f"127.0.0.1:{server.port}"


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow",  # headers never finished
        b'POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"query":',  # body never finished
    ],
    ids=["nothing", "partial-headers", "partial-body"],
)
def test_a_slow_client_is_answered_408_and_closed(impatient: str, sent: bytes) -> None:
    with _connect(impatient) as sock:
        sock.sendall(sent)
        waited, received = seconds_until_closed(sock, LIMIT)
    assert waited < READ_TIMEOUT + 3, "the server never closed the connection"
    assert received.startswith(b"HTTP/1.1 408 ") and b'"code":"request_timeout"' in received, received


def test_a_slow_client_trickling_bytes_is_still_closed(impatient: str) -> None:
    """The deadline is for the whole request, not between two bytes: trickling does not extend it."""
    with _connect(impatient) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\n")
        start = time.monotonic()
        closed = False
        while time.monotonic() - start < LIMIT:
            try:
                sock.sendall(b"X-A: b\r\n")
                time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sock.settimeout(0.01)
            try:
                if sock.recv(65536).startswith(b"HTTP/1.1 408 "):
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed and time.monotonic() - start < READ_TIMEOUT + 3


def test_an_idle_connection_is_closed_after_the_keep_alive(impatient: str) -> None:
    with _connect(impatient) as sock:
        sock.sendall(request("GET", "/v1/health"))
        assert read_response(sock)[0] == 200
        sock.sendall(request("GET", "/v1/health"))  # kept alive for the next request
        assert read_response(sock)[0] == 200
        waited, received = seconds_until_closed(sock, LIMIT)
    assert waited < KEEP_ALIVE + 3 and received == b""


@pytest.mark.parametrize(
    "sent",
    [
        b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\n\r\n",  # no Host
        b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["negative-length", "space-in-header-name", "no-host", "bad-chunk-size"],
)
def test_a_malformed_request_gets_the_json_error(impatient: str, sent: bytes) -> None:
    """uvicorn answers what h11 cannot parse with a plain-text 400; every error is JSON here."""
    with _connect(impatient) as sock:
        sock.sendall(sent)
        status, headers, body = read_response(sock)
    assert status == 400 and headers["content-type"] == "application/json", (status, headers, body)
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_a_request_giving_its_length_twice_is_refused_and_its_connection_closed(impatient: str) -> None:
    """Content-Length beside Transfer-Encoding was served as chunked and the connection kept: the
    bytes a proxy reading the other length took for the body became a request here (smuggling)."""
    body = b'{"query":"x"}'
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    sent = request("POST", "/v1/search", chunked, {"Transfer-Encoding": "chunked"}).replace(
        b"Content-Length: " + str(len(chunked)).encode(), b"Content-Length: 5"
    )
    with _connect(impatient) as sock:
        sock.sendall(sent + request("GET", "/v1/health"))
        status, headers, answer = read_response(sock)
        assert status == 400 and json.loads(answer)["error"]["code"] == "bad_request", answer
        assert headers.get("connection") == "close"
        waited, rest = seconds_until_closed(sock, LIMIT)
    assert waited < LIMIT and b"HTTP/1.1 200" not in rest  # the health request was never read
