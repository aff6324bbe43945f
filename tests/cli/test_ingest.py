"""``outcrop ingest`` in a log (plain progress lines with rate and ETA) and ``outcrop consolidate
--follow`` (a long-lived consolidator of what other processes add)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.time.clock import memory_time
from outcrop.ingest.messages import normalize_messages
from outcrop.providers import Embedder
from tests.helpers import EXE, STORY, run_cli


def test_ingest_prints_progress_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    conversation = tmp_path / "big.jsonl"
    lines = [
        {"session_id": f"s{i // 40}", "name": "Ann", "content": f"note number {i} about the garden"} for i in range(400)
    ]
    conversation.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run_cli("ingest", str(conversation), "-u", "ana", db=tmp_path / "m.db")
    assert "big.jsonl: 400 messages, 400 added, 0 already present" in result.stdout
    assert "ingesting big.jsonl: 400 msg checked" in result.stderr
    assert "ingesting big.jsonl: 400 msg in 0:" in result.stderr and "msg/s)" in result.stderr
    assert "\x1b[" not in result.stderr  # no terminal codes in a log


def _due(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM strata_due").fetchone()[0])


def test_consolidate_follow_computes_what_other_processes_leave_due(embedder: Embedder, tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    config = MemoryConfig(store=f"sqlite:///{db}")
    Memory(config=config, embedder=embedder).close()  # the store exists, nothing due
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCROP_", "MEMSTRATA_"))}
    follower = subprocess.Popen(
        [EXE, "consolidate", "--follow", "--interval", "0.2"],
        env={**env, "OUTCROP_DB": f"sqlite:///{db}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a shell starts a command in the foreground: Ctrl-C interrupts, whatever this process inherited
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert follower.stderr is not None and follower.stdout is not None
        assert "following" in follower.stderr.readline()  # open (and its own catch-up) done
        # held still while the adds land: it would drain the first before the count below
        follower.send_signal(signal.SIGSTOP)
        memory = Memory(config=config, embedder=embedder)
        for session, when, turns in STORY:  # adds that leave their strata to someone else
            messages = [{"name": name, "content": text} for name, text in turns]
            scope = memory._scope("u1", None, session)
            incoming = normalize_messages(messages, timestamp=memory_time(when), max_chars=1000)
            memory.engine.add(scope, incoming, {}, consolidate=False)
        memory.close()
        assert _due(db) == len(STORY)
        follower.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 60
        while _due(db) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _due(db) == 0
        follower.send_signal(signal.SIGINT)
        out, _ = follower.communicate(timeout=120)
        assert follower.returncode == 130
    finally:
        if follower.poll() is None:
            follower.send_signal(signal.SIGCONT)
            follower.kill()
            follower.communicate()
    reported = [line.split() for line in out.splitlines() if " strata of " in line]
    assert sum(int(words[3]) for words in reported) == len(STORY)  # "HH:MM:SS strata of N adds (M turns) …"
    with Memory(config=config, embedder=embedder) as reopened:
        counts = reopened.stats(user_id="u1")["counts"]
        assert counts["fact"] > 0 and counts["episode"] == len(STORY)
