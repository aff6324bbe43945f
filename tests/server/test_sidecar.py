"""The server's own database (API keys, idempotency records) opened by several processes at once:
the workers of ``outcrop serve --workers N`` start together over one new file, and every open
succeeds. SQLite answered "database is locked" at once, without waiting, to a worker switching the
file to WAL while another was creating it (a worker then failed to start)."""

from __future__ import annotations

import multiprocessing
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration  # child processes

PROCESSES = 12  # with 6, one trial in 20 met the race on 2 cores; with 12, four in 10


def _open(path: str, barrier: Barrier, results: Queue[str]) -> None:
    from outcrop.server.sidecar import SidecarDB

    barrier.wait()
    try:
        SidecarDB(Path(path)).close()
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(repr(exc))


def test_workers_opening_a_new_server_database_at_once_all_succeed(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    failures: list[str] = []
    for trial in range(8):
        barrier, results = spawn.Barrier(PROCESSES), spawn.Queue()
        children = [
            spawn.Process(target=_open, args=(str(tmp_path / f"keys{trial}.db"), barrier, results))
            for _ in range(PROCESSES)
        ]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=120) for _ in children]
        for child in children:
            child.join(timeout=60)
        failures += [o for o in outcomes if o != "ok"]
    assert failures == []
