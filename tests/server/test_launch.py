"""``ServerProcess`` (tests, benchmarks): a server that exits while starting is reported, and its
log file is closed (``with ServerProcess(...)`` never reaches ``__exit__`` when ``__enter__``
raises; the open file then failed the next test with a ResourceWarning)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from outcrop.server.launch import ServerProcess, free_port
from tests.helpers import run_cli

pytestmark = pytest.mark.integration  # a child process


def _open_files() -> set[str]:
    return {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}


def test_a_server_that_exits_while_starting_is_reported_and_its_log_closed(tmp_path: Path) -> None:
    keys = tmp_path / "keys-is-a-folder"
    keys.mkdir()  # the server's own database cannot be opened there: `serve` exits
    log = tmp_path / "server.log"
    process = ServerProcess(f"sqlite:///{tmp_path / 'm.db'}", args=("--keys", str(keys)), log_path=log)
    with pytest.raises(RuntimeError, match="exited with code"), process:
        pass
    assert str(log.resolve()) not in _open_files()
    assert "cannot open the server database" in log.read_text()


def test_a_single_server_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    """One process (the default): its startup's failure was uvicorn's 60-line traceback and exit
    code 3; now the CLI's one line and exit 2, as with workers."""
    keys = tmp_path / "keys-is-a-folder"
    keys.mkdir()
    done = run_cli(
        "serve", "--port", str(free_port()), "--keys", str(keys), db=tmp_path / "m.db", check=False, timeout=120
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot open the server database {keys}: unable to open database file"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, workers: str) -> None:
    """It was uvicorn's log line and exit code 3 (1 with workers), after the app had started."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        done = run_cli("serve", "--port", port, "--workers", workers, db=tmp_path / "m.db", check=False, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
