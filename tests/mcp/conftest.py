"""Real ``outcrop mcp`` processes, driven by the official ``mcp`` client SDK: over stdio (the
client spawns the server) and over streamable HTTP on a loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcp import StdioServerParameters
from outcrop.server.launch import free_port

_MAIN = "from outcrop.cli import main; main()"


def outcrop_command() -> list[str]:
    """``outcrop`` from this environment (the console script), or the module as a fallback."""
    script = Path(sys.executable).with_name("outcrop")
    if script.exists():
        return [str(script)]
    found = shutil.which("outcrop")
    return [found] if found else [sys.executable, "-c", _MAIN]


def stdio_params(db_url: str, user_id: str, *extra: str) -> StdioServerParameters:
    command, *args = outcrop_command()
    return StdioServerParameters(
        command=command,
        args=[*args, "mcp", "--transport", "stdio", "--db", db_url, "--user-id", user_id, *extra],
        env=dict(os.environ),
    )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


class HttpMcp:
    """``outcrop mcp --transport http`` as a child process; ``url`` is its streamable HTTP endpoint."""

    def __init__(self, db_url: str, user_id: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        command = [*outcrop_command(), "mcp", "--transport", "http", "--db", db_url, "--user-id", user_id]
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)], stdout=self._log, stderr=self._log, env=dict(os.environ)
        )

    def wait_ready(self, timeout: float = 300.0) -> None:  # model loading on a loaded machine can take minutes
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"outcrop mcp exited with code {self.process.returncode}")
            try:
                httpx.get(self.url, timeout=1.0)  # any HTTP answer means it is listening
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"outcrop mcp did not listen on {self.url} within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture
def http_mcp(db_url: str, tmp_path: Path) -> Iterator[HttpMcp]:
    server = HttpMcp(db_url, "alice", tmp_path / "mcp-http.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
