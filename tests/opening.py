"""Opening one new SQLite file from several processes at once, as server workers and Ray tasks do:
SQLite answered "database is locked" at once, without waiting, to a process switching the file to
WAL while another was creating it. :func:`open_at_once` runs the race and returns what failed."""

from __future__ import annotations

import importlib
import multiprocessing
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path


def _open(opener: str, path: str, barrier: Barrier, results: Queue[str]) -> None:
    module, _, name = opener.partition(":")
    opens = getattr(importlib.import_module(module), name)
    barrier.wait()
    try:
        opens(Path(path)).close()
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(repr(exc))


def open_at_once(opener: str, folder: Path, *, processes: int, trials: int) -> list[str]:
    """``trials`` times, ``processes`` spawned processes open one new file in ``folder`` together
    with ``opener`` (``"module:callable"``, called with the path; the result is closed); the
    failures, as each process reported them."""
    spawn = multiprocessing.get_context("spawn")
    failures: list[str] = []
    for trial in range(trials):
        barrier, results = spawn.Barrier(processes), spawn.Queue()
        path = str(folder / f"new{trial}.db")
        children = [spawn.Process(target=_open, args=(opener, path, barrier, results)) for _ in range(processes)]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=120) for _ in children]
        for child in children:
            child.join(timeout=60)
        failures += [o for o in outcomes if o != "ok"]
    return failures
