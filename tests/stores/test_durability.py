"""An acknowledged add survives kill -9 of the writer, and the file opens cleanly afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from outcrop import Memory

WRITER = textwrap.dedent(
    """
    import sys
    from outcrop import Memory
    m = Memory(sys.argv[1])
    for i in range(100000):
        [item_id] = m.add(f"durability message number {i} about topic {i % 17}", user_id="w", session_id=f"s{i // 50}")
        print(item_id, flush=True)   # acknowledged only after add() returned
    """
)


@pytest.mark.slow
def test_acknowledged_adds_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, f"sqlite:///{db}"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acknowledged: list[str] = []
    deadline = time.monotonic() + 120
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged.append(line.strip())
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of the ingest
    proc.wait(timeout=30)
    # anything printed before the kill landed is acknowledged too
    acknowledged.extend(line.strip() for line in proc.stdout.read().splitlines() if line.strip())
    proc.stdout.close()
    assert len(acknowledged) >= 150

    with Memory(f"sqlite:///{db}") as memory:
        from outcrop.stores.sqlite.driver import sqlite3

        check = sqlite3.connect(db)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
        for item_id in acknowledged:
            assert memory.get(item_id, user_id="w").text.startswith("durability message number")
        counts = memory.stats(user_id="w")["counts"]
        assert counts["turn"] == counts["log"] >= len(acknowledged)
        assert memory.search("durability message topic 5", user_id="w")
