"""Run ``outcrop serve`` as a child process on a free loopback port: for tests, benchmarks and
scripts that need a real server. ``with ServerProcess(db_url) as server: server.url``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import httpx

__all__ = ["ServerProcess", "free_port"]

_MAIN = "from outcrop.cli import main; main()"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A ``outcrop serve`` child process; stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(
        self,
        db_url: str,
        *,
        admin_key: str | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.db_url = db_url
        self.admin_key = admin_key
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._args = args
        self._env = {**os.environ, **(env or {})}
        if admin_key is not None:
            self._env["OUTCROP_ADMIN_KEY"] = admin_key
        self._log_path = log_path
        self._timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    def start(self) -> ServerProcess:
        command = [sys.executable, "-c", _MAIN, "serve", "--db", self.db_url, "--port", str(self.port), *self._args]
        if self._log_path is not None:
            self._log = self._log_path.open("ab")
        log = self._log or subprocess.DEVNULL
        self.process = subprocess.Popen(command, env=self._env, stdout=log, stderr=log)
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()  # closes the log: `with` never reaches __exit__ when __enter__ raises
                raise RuntimeError(f"outcrop serve exited with code {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"outcrop serve did not answer on {self.url} within {self._timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
