"""``kill -9`` trials: a child process (:mod:`tests.reliability.crash_child`) adds, ingests,
consolidates, forgets or imports on a SQLite file until it is killed at a random moment; the file
is then reopened (which completes a forget cut short, and computes the strata an import left due)
and checked:

* every acknowledged write is there (an add's turn with its text, every message of an ingested
  file, an imported file's turns and its update of a turn held), and re-ingesting the file cut
  short adds each message once; an import is whole or absent, its edit with it, and no turn is
  left without its strata;
* no forgotten word is found anywhere: not by search, not in any table or full-text index of the
  file, not in its write-ahead log (acknowledged forgets, and one in flight whose turn is gone: the
  erase zeroes what it deletes in its own transaction, and the next open finishes a scrub a kill
  cut short);
* the store is consistent: SQLite's integrity check, one turn per session position, no forget
  left pending, a turn per message in the log, search works, and consolidation runs and then has
  nothing left to write.

Used by ``tests/reliability/test_crash.py`` (a few trials) and ``bench/reliability.py`` (100).
"""

from __future__ import annotations

import collections
import os
import random
import signal
import string
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from outcrop import Memory
from outcrop.core.types import Scope
from outcrop.providers import Embedder
from outcrop.stores.sqlite.driver import sqlite3
from tests.lifecycle.conftest import file_hits, table_hits
from tests.reliability.crash_child import LINES, USER, config, ingest_file

__all__ = ["OPS", "Trial", "run_trial"]

OPS = ("add", "ingest", "consolidate", "forget", "import")
REPO = Path(__file__).resolve().parents[2]
_WINDOW = {"add": 3.0, "ingest": 3.0, "consolidate": 4.0, "forget": 4.0, "import": 2.0}  # seconds after "ready"
_IMPORTED = 30  # users an import trial imports, two files each
_SEEDED = 10  # turns a forget trial forgets


@dataclass
class Trial:
    op: str
    killed_after: float = 0.0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.leaked or self.problems)


def _word(rng: random.Random) -> str:
    return "zq" + "".join(rng.choices(string.ascii_lowercase, k=7))


def _seed_forget(db: Path, embedder: Embedder, rng: random.Random) -> None:
    lines = []
    with Memory(config=config(db), embedder=embedder) as m:
        for n in range(_SEEDED):
            word = _word(rng)
            text = f"My locker code word is {word} and I wrote it on the fridge in Lisbon."
            (turn,) = m.add([{"name": "Ann", "content": text}], user_id=USER, session_id=f"s{n // 4}")
            lines.append(f"{turn}\t{word}")
        m.add("Bob likes the harbour at dawn.", user_id=USER, session_id="s9")
    Path(f"{db}.seed").write_text("\n".join(lines) + "\n")


def _seed_import(db: Path, embedder: Embedder) -> None:
    """For each user, two export files: its turns (a session of ``LINES`` messages), then the same
    with an update of its first turn (imported after the first file, that turn is held)."""
    folder = Path(f"{db}.exports")
    folder.mkdir()
    with Memory(config=config(folder / "source.db"), embedder=embedder) as source:
        for n in range(_IMPORTED):
            user = f"imp{n}"
            ids = source.add(
                [{"name": "Ann", "content": f"Import {n} line {k}: the tram left at {k} pm."} for k in range(LINES)],
                user_id=user,
                session_id=f"i{n}",
                timestamp="2024-03-01T10:00:00",
            )
            source.export(folder / f"{n}-turns.jsonl", user_id=user)
            source.update(ids[0], f"Import {n} line 0, corrected: the tram left at noon.", user_id=user)
            source.export(folder / f"{n}-edit.jsonl", user_id=user)


def _check_imports(m: Memory, acks: list[str], trial: Trial) -> None:
    done = {tuple(a.split()[1:3]) for a in acks if a.startswith("ack ")}
    trial.acknowledged = len(done)
    if m.store.records.strata_due(m.config.tenant):
        trial.problems.append("an import's strata are still due after reopening")
    for n in range(_IMPORTED):
        user = f"imp{n}"
        texts = sorted(t.text for t in m.list(user_id=user, level="turn", limit=100))
        edited = any("corrected" in t for t in texts)
        updates = [
            r for r in m.store.records.log_records(Scope(tenant=m.config.tenant, user_id=user)) if r.kind == "update"
        ]
        if texts and len(texts) != LINES:
            trial.problems.append(f"user {user}: {len(texts)} of the file's {LINES} turns (an import half done)")
        if edited != bool(updates):
            trial.problems.append(
                f"user {user}: the edit's text and its log record disagree ({edited}, {len(updates)})"
            )
        if (str(n), "turns") in done and not texts:
            trial.lost.append(f"import {n} turns")
        if (str(n), "edit") in done and not edited:
            trial.lost.append(f"import {n} edit")
        if texts:  # the strata an import cut short left due were computed on reopening: nothing left to write
            written = {k: v for k, v in m.consolidate(user_id=user).written.items() if v}
            if written:
                trial.problems.append(f"user {user}: strata missing after reopening: {written}")


def _kill_at_random(op: str, db: Path, rng: random.Random, trial: Trial) -> list[str]:
    """Run the child until a random moment after it is ready, ``kill -9`` it; its output lines."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.crash_child", op, str(db)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line.strip())
            if line.strip() == "ready":
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(300):
        child.kill()
        child.wait()
        raise RuntimeError(f"crash child {op} never got ready: {child.stderr.read() if child.stderr else ''}")
    trial.killed_after = rng.uniform(0.05, _WINDOW[op])
    time.sleep(trial.killed_after)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=60)
    reader.join(timeout=60)
    stderr = child.stderr.read() if child.stderr else ""
    for pipe in (child.stdout, child.stderr):
        if pipe is not None:
            pipe.close()
    if child.returncode != -signal.SIGKILL:  # it died of something else first
        trial.problems.append(f"child exited {child.returncode} before the kill: {stderr[-300:]}")
    return lines[1:]


def _consistent(m: Memory, db: Path, trial: Trial) -> None:
    with sqlite3.connect(db) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok":
        trial.problems.append(f"integrity_check: {check}")
    scope = Scope(tenant=m.config.tenant, user_id=USER)
    if m.store.maintenance.pending_plans(m.config.tenant):
        trial.problems.append("a forget is still pending after reopening")
    turns = m.list(user_id=USER, level="turn", limit=10_000)
    positions = m.store.records.positions(scope, [t.id for t in turns])
    taken = collections.Counter((t.scope.session_id, positions.get(t.id)) for t in turns)
    doubled = [key for key, count in taken.items() if count > 1]
    if doubled:
        trial.problems.append(f"session positions given twice: {doubled[:3]}")
    counts = m.stats(user_id=USER)["counts"]
    if counts.get("turn", 0) != counts.get("log", 0):
        trial.problems.append(f"turns {counts.get('turn')} != log records {counts.get('log')}")
    try:
        m.search("harbour miles ferry", user_id=USER)
        m.consolidate(user_id=USER)
        again = m.consolidate(user_id=USER)
    except Exception as exc:  # every failure counts here
        trial.problems.append(f"{type(exc).__name__}: {exc}")
        return
    if again.written or again.removed:
        trial.problems.append(f"consolidation not settled: {again.written} {again.removed}")


def _check_writes(op: str, m: Memory, db: Path, acks: list[str], trial: Trial) -> None:
    if op == "ingest":
        files = [int(a.split()[1]) for a in acks if a.startswith("ack ")]
        trial.acknowledged = len(files)
        texts = collections.Counter(t.text for t in m.list(user_id=USER, level="turn", limit=10_000))
        for n in files:
            for k in range(LINES):
                if texts[f"File {n} line {k}: the ferry left at {k} pm."] != 1:
                    trial.lost.append(f"file {n} line {k}")
        cut = ingest_file(db.parent, max(files, default=-1) + 1)
        m.ingest(cut, user_id=USER)  # the file cut short, again: what is missing, once
        texts = collections.Counter(t.text for t in m.list(user_id=USER, level="turn", limit=10_000))
        if any(count != 1 for count in texts.values()):
            trial.problems.append("re-ingesting the file cut short stored a message twice")
        return
    written = [a.split(" ", 2) for a in acks if a.startswith("ack ")]
    trial.acknowledged = len(written)
    found = m.store.records.get_items(Scope(tenant=m.config.tenant, user_id=USER), [w[1] for w in written])
    trial.lost += [turn for _, turn, text in written if turn not in found or found[turn].text != text]


def _check_forgets(m: Memory, db: Path, acks: list[str], trial: Trial) -> list[str]:
    """The words that must be gone: acknowledged forgets, and one in flight whose turn is gone."""
    done = {a.split()[1]: a.split()[2] for a in acks if a.startswith("ack ")}
    trial.acknowledged = len(done)
    doing = {a.split()[1]: a.split()[2] for a in acks if a.startswith("doing ")}
    scope = Scope(tenant=m.config.tenant, user_id=USER)
    present = m.store.records.get_items(scope, list(doing))
    gone = [word for turn, word in doing.items() if turn in done or turn not in present]
    for word in gone:
        if any(word in h.text for h in m.search(f"locker code word {word}", user_id=USER, limit=50)):
            trial.leaked.append(f"{word} (search)")
    return gone


def run_trial(op: str, folder: Path, embedder: Embedder, rng: random.Random) -> Trial:
    """One trial of ``op`` in an empty ``folder``."""
    trial = Trial(op)
    db = folder / "m.db"
    if op == "forget":
        _seed_forget(db, embedder, rng)
    if op == "import":
        _seed_import(db, embedder)
    acks = _kill_at_random(op, db, rng, trial)
    gone: list[str] = []
    with Memory(config=config(db, on_add=op != "consolidate"), embedder=embedder) as m:  # completes a forget
        if op == "forget":
            gone = _check_forgets(m, db, acks, trial)
        elif op == "import":
            _check_imports(m, acks, trial)
        else:
            _check_writes(op, m, db, acks, trial)
        _consistent(m, db, trial)
    if gone:
        acked = {a.split()[2] for a in acks if a.startswith("ack ")}
        for table, words in [*table_hits(db, gone).items(), *file_hits(db, gone).items()]:
            for word in words:
                trial.leaked.append(f"{word} ({table}, {'acknowledged' if word in acked else 'in flight'})")
    return trial
