"""A tenant's tail of postings is folded into its packs after the write that filled it, in a
thread and on a connection of its own (``stores/sqlite/folding.py``), not in the write's
transaction; every search scores the same before and after, as FTS5's ``bm25()`` does."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outcrop.core.documents import LexicalDocument
from outcrop.core.ids import new_id
from outcrop.core.time import now
from outcrop.core.types import Item, Level, Scope
from outcrop.errors import StoreError
from outcrop.stores.base import Store, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.stores.sqlite import folding
from outcrop.stores.sqlite.driver import sqlite3
from tests.helpers import ManualClock

WORDS = "parrot shelter camping mountain sister lisbon pottery class marathon garden cello vienna bakery".split()
QUERIES = [{"parrot": 1.0, "shelter": 1.0}, {"pottery": 1.0, "camping": 0.5}, {"lisbon museum": 1.0, "cello": 0.3}]
USERS = [Scope(tenant="acme", user_id=f"user-{u}") for u in range(3)]


def _write(store: Store, turns: int, seed: int) -> None:
    """``turns`` documents of each user, one batch a turn."""
    rng = random.Random(seed)
    for n in range(turns):
        batch = WriteBatch()
        for scope in USERS:
            text = " ".join(rng.choices(WORDS, k=rng.randint(3, 9)))
            item = Item(
                id=new_id("t"),
                level=Level.TURN,
                scope=scope,
                text=text,
                timestamp=datetime(2023, 1, 2) + timedelta(days=n),
                recorded_at=now(),
            )
            batch.items.append(item)
            batch.lexical[item.id] = LexicalDocument(text, " ".join(rng.choices(WORDS, k=4)))
        store.records.write(batch)


def _tail(path: Path) -> tuple[int, int]:
    """(rows counted in the tenant's tail, rows its tail table holds)."""
    with closing(sqlite3.connect(path)) as db:
        (own,) = db.execute("SELECT own FROM lexical_tables WHERE tenant = 'acme'").fetchone()
        (counted,) = db.execute("SELECT tail FROM lexical_stats WHERE tenant = 'acme'").fetchone()
        (held,) = db.execute(f"SELECT COUNT(*) FROM {own.removesuffix('_own')}_terms").fetchone()
    return int(counted), int(held)


def _searches(store: Store, share: int) -> list[Any]:
    """Every user's searches, scored from the postings (``share`` 0) or by FTS5's ``bm25()``."""
    lexical: Any = store.lexical
    lexical.postings_share = share
    return [store.lexical.search(scope, terms, 10) for scope in USERS for terms in QUERIES]


@pytest.mark.parametrize("rounds", [folding.ROUND, 5])
def test_the_write_that_fills_the_tail_leaves_its_fold_to_the_folding_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rounds: int
) -> None:
    """The fold moves the whole tail, ``rounds`` rows a transaction (5: hundreds of them)."""
    monkeypatch.setattr(folding, "ROUND", rounds)
    path = tmp_path / "memory.db"
    store = open_store(f"sqlite:///{path}")
    lexical: Any = store.lexical
    _write(store, 20, seed=1)
    assert _tail(path)[0] == _tail(path)[1] > 0
    lexical.fold_rows = _tail(path)[0] + 1  # the next write fills it
    written: list[str] = []
    store.connection.db.set_trace_callback(written.append)  # type: ignore[attr-defined]
    _write(store, 1, seed=2)
    store.connection.db.set_trace_callback(None)  # type: ignore[attr-defined]
    assert written and not any("_packs" in s for s in written)  # the write's connection never folds
    lexical.folder.wait()
    assert _tail(path) == (0, 0)  # folded once the write committed
    searches = _searches(store, 0)
    assert any(searches) and searches == _searches(store, 1 << 40)  # the packs' scores: bm25()'s
    store.close()


def test_closing_the_store_finishes_the_folds_queued(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    store = open_store(f"sqlite:///{path}")
    lexical: Any = store.lexical
    _write(store, 5, seed=3)
    lexical.fold_rows = 1
    _write(store, 1, seed=4)
    store.close()
    assert _tail(path) == (0, 0)


def test_a_fold_whose_commit_fails_lets_go_of_the_write_lock(tmp_path: Path) -> None:
    """A round whose COMMIT fails (SQLite's authorizer denies it here, as a full disk or an I/O
    error would make it fail) is rolled back: the folding connection holds no transaction, so
    the writes of this and other processes go on, and the next fold moves the tail."""
    path = tmp_path / "memory.db"
    store = open_store(f"sqlite:///{path}")
    lexical: Any = store.lexical
    lexical.folder.background = False
    _write(store, 5, seed=5)
    before = _tail(path)
    db = lexical.folder._connection()
    db.set_authorizer(lambda action, arg, *_: sqlite3.SQLITE_DENY if arg == "COMMIT" else sqlite3.SQLITE_OK)
    with pytest.raises(sqlite3.DatabaseError):
        lexical.folder.fold("acme", 1)
    db.set_authorizer(None)
    assert not db.in_transaction
    with closing(sqlite3.connect(path, timeout=0.5)) as other:
        other.execute("BEGIN IMMEDIATE")  # the write lock is free
        other.execute("ROLLBACK")
    assert _tail(path) == before
    assert lexical.folder.fold("acme", 1) == before[1]
    assert _tail(path) == (0, 0)
    assert _searches(store, 0) == _searches(store, 1 << 40)
    store.close()


def test_a_fold_that_fails_in_the_thread_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Whatever a fold in the background raises (here a pack's blob cut short: numpy's
    ValueError, no SQLite error) is logged, not kept unseen in its future; the tail stays as it
    was, and the tenant's next write asks again."""
    path = tmp_path / "memory.db"
    store = open_store(f"sqlite:///{path}")
    lexical: Any = store.lexical
    _write(store, 5, seed=6)
    lexical.fold_rows = 1
    _write(store, 1, seed=7)
    lexical.folder.wait()
    assert _tail(path) == (0, 0)
    with closing(sqlite3.connect(path)) as db:
        (own,) = db.execute("SELECT own FROM lexical_tables WHERE tenant = 'acme'").fetchone()
        db.execute(f"UPDATE {own.removesuffix('_own')}_packs SET keys = x'00'")
        db.commit()
    with caplog.at_level("WARNING", logger=folding.__name__):
        _write(store, 1, seed=8)
        lexical.folder.wait()
    assert any(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in caplog.records), caplog.records
    assert _tail(path)[1] > 0  # nothing moved
    store.close()


def test_a_forked_child_folds_its_writes(tmp_path: Path) -> None:
    """A process forked after the store has folded (its folding thread idle, or busy) folds in
    the child too: the child's folder starts afresh (no thread, lock or connection of the
    parent's), instead of queueing its folds for a thread the child does not have."""
    path = tmp_path / "memory.db"
    store = open_store(f"sqlite:///{path}")
    lexical: Any = store.lexical
    _write(store, 5, seed=9)
    lexical.fold_rows = 1
    _write(store, 1, seed=10)
    lexical.folder.wait()  # the parent's folding thread exists, idle
    pid = os.fork()
    if pid == 0:  # the child: fold its writes, close the store, report by its exit code
        code = 1
        try:
            _write(store, 2, seed=11)
            lexical.folder.wait()
            store.close()
            code = 0 if _tail(path) == (0, 0) else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child never folded (its folds wait for a thread it does not have)")
        time.sleep(0.1)
    assert os.waitstatus_to_exitcode(status) == 0
    _write(store, 1, seed=12)  # the parent folds on as before
    lexical.folder.wait()
    assert _tail(path) == (0, 0)
    assert _searches(store, 0) == _searches(store, 1 << 40)
    store.close()


def test_a_write_at_interpreter_exit_folds_in_its_own_thread(tmp_path: Path) -> None:
    """A write made while the interpreter exits (an atexit handler: no thread can be started any
    more) does not fail after it committed: its fold runs in the writer's thread."""
    path = tmp_path / "memory.db"
    script = f"""
import atexit, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
from outcrop.stores.registry import open_store
from tests.stores.sqlite.test_folding import _write
store = open_store("sqlite:///{path}")
_write(store, 5, seed=13)
store.lexical.fold_rows = 1

def last() -> None:
    _write(store, 1, seed=14)
    store.close()
    print("closed")

atexit.register(last)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "closed" in done.stdout, done.stderr
    assert _tail(path) == (0, 0)


def _fold_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("outcrop-fold")]


@pytest.mark.parametrize("background", [True, False])
def test_a_write_that_commits_while_the_store_closes_starts_no_fold(tmp_path: Path, background: bool) -> None:
    """A write that committed in one thread while another closed the store asks for its fold after
    the close (its after-commit step runs once the write lock is let go): no pool, thread or
    connection starts then, and the tail stays for a later fold. Here the close is one more step
    of the committed write, run before the fold's: that order, on every run."""
    path = tmp_path / "memory.db"
    store = open_store(f"sqlite:///{path}")
    lexical: Any = store.lexical
    lexical.folder.background = background
    _write(store, 5, seed=15)
    lexical.folder.wait()
    store.close()  # a first store: its folds done, its thread gone
    assert not _fold_threads()
    store = open_store(f"sqlite:///{path}")
    lexical = store.lexical
    lexical.folder.background = background
    lexical.fold_rows = 1
    before = _tail(path)
    assert before[1] > 0
    closer = threading.Thread(target=store.close)
    store.connection.after_commit("close", lambda: (closer.start(), closer.join()))
    _write(store, 1, seed=16)  # commits, the store closes in the other thread, then the fold is asked
    assert not _fold_threads() and lexical.folder._pool is None and lexical.folder._db is None
    assert _tail(path)[1] > before[1]  # the write stands; its tail is not folded
    lexical.folder.soon("acme", 1)  # a fold asked later still starts nothing
    assert lexical.folder.fold("acme", 1) == 0
    assert not _fold_threads() and lexical.folder._db is None
    with pytest.raises(StoreError):  # a write after the close fails, as before
        _write(store, 1, seed=17)
    reopened = open_store(f"sqlite:///{path}")  # the tail is folded by the next write of a store opened again
    reopened.lexical.fold_rows = 1  # type: ignore[attr-defined]
    _write(reopened, 1, seed=18)
    reopened.lexical.folder.wait()  # type: ignore[attr-defined]
    assert _tail(path) == (0, 0)
    assert _searches(reopened, 0) == _searches(reopened, 1 << 40)
    reopened.close()


def test_a_fold_that_meets_a_held_lock_backs_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fold that waits out its busy timeout (another connection holds the write lock: SQLITE_BUSY)
    is not asked again by the tenant's next write: not for ``backoff`` seconds, twice as long
    after a second failure in a row, back to the first interval after a fold that worked. The
    searches meanwhile score as FTS5's ``bm25()`` does, the tail only growing. The back-off is read
    on a clock moved by hand (a slow machine cannot outrun it)."""
    clock = ManualClock()
    monkeypatch.setattr(folding, "time", clock)
    path = tmp_path / "memory.db"
    store = open_store(f"sqlite:///{path}")
    lexical: Any = store.lexical
    folder = lexical.folder
    folder.timeout = 0.05  # the folding connection's busy timeout (opened at its first fold)
    folder.backoff = 1.0
    _write(store, 5, seed=19)
    lexical.fold_rows = 1
    holder = sqlite3.connect(path, isolation_level=None)

    def failed_fold() -> None:
        """A fold asked while ``holder`` holds the write lock: it fails."""
        holder.execute("BEGIN IMMEDIATE")
        with caplog.at_level("WARNING", logger=folding.__name__):
            caplog.clear()
            folder.soon("acme", 1)
            folder.wait()
        holder.execute("ROLLBACK")
        assert any("locked" in r.getMessage() for r in caplog.records), caplog.records

    def unfolded_write(seed: int) -> None:
        """A write of the tenant while its folds back off: the tail stays."""
        rows = _tail(path)[1]
        _write(store, 1, seed=seed)
        folder.wait()
        assert _tail(path)[1] > rows
        assert _searches(store, 0) == _searches(store, 1 << 40)

    def folded_write(seed: int) -> None:
        _write(store, 1, seed=seed)
        folder.wait()
        assert _tail(path) == (0, 0)
        assert _searches(store, 0) == _searches(store, 1 << 40)

    failed_fold()
    clock.advance(0.95)
    unfolded_write(20)  # the lock is free again, but the fold is not asked yet
    clock.advance(0.1)
    folded_write(21)  # after the back-off: folded

    failed_fold()
    clock.advance(1.05)
    failed_fold()  # the second failure in a row: two seconds
    clock.advance(1.05)
    unfolded_write(22)
    clock.advance(1.0)
    folded_write(23)

    failed_fold()  # a fold worked since: one second again
    clock.advance(1.05)
    folded_write(24)
    holder.close()
    store.close()
