"""A tenant's tail of postings rows folded into its packs after the write that filled it.

The write that brought a tenant's tail (``<stem>_terms``, :mod:`~outcrop.stores.sqlite.packs`)
to :data:`~outcrop.stores.sqlite.packs.FOLD_ROWS` rows folded it inside its own transaction:
0.2-0.4 s more for that one add on a 110k-turn store. Now the write only counts its rows
(``lexical_stats.tail``) and, once it has committed, the fold runs in a thread of its own, on a
connection of its own, in transactions of its own (:meth:`Folder.fold`, :data:`ROUND` rows each):
each takes SQLite's write lock like any write (a write arriving meanwhile waits for that round,
through SQLite's busy timeout), and no lock of this process, so searches never wait for it. A
posting is in the tail or in a pack in every committed state (each round moves its rows in one
transaction), so every read, and every score, is the same before, during and after it. A fold
that fails (logged; a round rolled back, its COMMIT's failure included) or is cut short (the
process stopped) leaves what it did not move in the tail, and the tenant's folds back off: none
is asked for :data:`BACKOFF` seconds, twice as long after each failure in a row up to
:data:`BACKOFF_MAX`, back to none after a fold that does not fail (a fold that waited SQLite's
busy timeout for a lock another process holds would otherwise be asked again by the very next
write, and wait again). Nothing reads the tail differently meanwhile: it only grows. A child
forked from the process folds with a thread and connection of its own.
``background=False`` folds in the writer's thread right after its commit (still outside its
transaction).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.packs import fold_head, packs_table
from outcrop.stores.sqlite.schema import postings_table

__all__ = ["BACKOFF", "BACKOFF_MAX", "ROUND", "Folder"]

log = logging.getLogger(__name__)

ROUND = 4096  # tail rows a fold moves per transaction
BACKOFF = 1.0  # seconds a tenant's folds wait after one failed, doubled at each failure in a row
BACKOFF_MAX = 60.0  # and at most this

_FOLDERS: weakref.WeakSet[Folder] = weakref.WeakSet()  # this process's folders (see Folder._forked)
_INHERITED: list[sqlite3.Connection] = []  # a parent's folding connections, never used nor closed in a child


class Folder:
    """Folds of one store's tenants' tails, one at a time (see the module docstring)."""

    def __init__(self, path: Path, timeout: float, *, background: bool = True) -> None:
        self.path = path
        self.timeout = timeout
        self.background = background
        self.backoff = BACKOFF
        self.backoff_max = BACKOFF_MAX
        self._failed: dict[str, tuple[int, float]] = {}  # tenant -> (failures in a row, no fold before: monotonic)
        self._lock = threading.Lock()
        self._folding = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future[int]] = {}  # tenant -> its fold, queued or running
        self._db: sqlite3.Connection | None = None  # the folding thread's connection
        self._closing = False  # close() began: no fold is queued or started any more
        self._closed = False  # close() closed the connection: no fold opens another
        _FOLDERS.add(self)

    def _forked(self) -> None:
        """In a child just forked: start afresh. The parent's folding thread is not in the child
        (a fold queued for it would wait forever, and the pool, seeing it idle, starts no other),
        its locks may be held by that thread, and its connection is the parent's (SQLite's
        connections do not cross a fork: set aside, not closed, which would drop the child's
        locks of the file)."""
        self._lock = threading.Lock()
        self._folding = threading.Lock()
        self._pool = None
        self._pending = {}
        self._failed = {}
        if self._db is not None:
            _INHERITED.append(self._db)
            self._db = None

    def soon(self, tenant: str, rows: int) -> None:
        """After a committed write that brought ``tenant``'s tail to ``rows`` rows or more: fold it
        (in the background unless :attr:`background` is False; once, if a fold of it is queued).
        Nothing once :meth:`close` has begun: a write that committed while another thread closed
        the store starts no pool, thread or connection after the close (its tail stays, folded by
        the next write of a store opened again, as after a fold cut short)."""
        with self._lock:
            if self._closing or not self._due(tenant):
                return
            if self.background:
                queued = self._pending.get(tenant)
                if queued is not None and not queued.done():
                    return
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcrop-fold")
                try:
                    self._pending[tenant] = self._pool.submit(self._quietly, tenant, rows)
                    return
                except RuntimeError:  # the interpreter is exiting (no thread starts): the write stands
                    pass
        if not self.background:
            self._tried(tenant, rows)
            return
        self._quietly(tenant, rows)  # folded in the writer's thread, after its commit

    def _due(self, tenant: str) -> bool:
        """Under :attr:`_lock`: whether a fold of ``tenant`` may be asked now (not backing off)."""
        failed = self._failed.get(tenant)
        return failed is None or time.monotonic() >= failed[1]

    def _tried(self, tenant: str, rows: int) -> int:
        """:meth:`fold`, its failure counted for the tenant's back-off (and raised), its success
        ending it."""
        try:
            moved = self.fold(tenant, rows)
        except Exception:
            with self._lock:
                failures = self._failed.get(tenant, (0, 0.0))[0] + 1
                wait = min(self.backoff * 2 ** min(failures - 1, 32), self.backoff_max)
                self._failed[tenant] = (failures, time.monotonic() + wait)
            raise
        with self._lock:
            self._failed.pop(tenant, None)
        return moved

    def _quietly(self, tenant: str, rows: int) -> int:
        try:
            return self._tried(tenant, rows)
        except sqlite3.Error as exc:  # the tail stays as it was; the tenant's write after the back-off asks again
            log.warning("folding the postings tail of a tenant failed: %s", exc)
            return 0
        except Exception:  # no one reads the future: logged here, or never seen (the round rolled back)
            log.exception("folding the postings tail of a tenant failed")
            return 0

    def fold(self, tenant: str, rows: int) -> int:
        """Fold ``tenant``'s tail into its packs if it holds ``rows`` rows or more (counted again:
        another process may have folded it), :data:`ROUND` rows a transaction (a write waits for
        one round, ~25-50 ms on the 110k-turn store by the whole fold's rate, not for the whole
        fold); the rows moved. Nothing (0) once the folder is closed: its connection is not
        opened again."""
        with self._folding:  # one fold at a time on the one connection (writers' threads: not in the background)
            if self._closed:
                return 0
            return self._rounds(tenant, rows)

    def _rounds(self, tenant: str, rows: int) -> int:
        db = self._connection()
        moved = 0
        while True:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT t.own, s.tail FROM lexical_tables t JOIN lexical_stats s ON s.tenant = t.tenant"
                    " WHERE t.tenant = ?",
                    (tenant,),
                ).fetchone()
                if row is None or (not moved and row[1] < rows):
                    db.execute("ROLLBACK")
                    return moved
                done = fold_head(db, postings_table(row[0]), packs_table(row[0]), ROUND)
                if done < ROUND:  # the tail is empty now: its count starts again
                    db.execute("UPDATE lexical_stats SET tail = 0 WHERE tenant = ?", (tenant,))
                else:
                    db.execute("UPDATE lexical_stats SET tail = MAX(0, tail - ?) WHERE tenant = ?", (done, tenant))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # a failed COMMIT too: else the connection keeps the write lock
                    db.execute("ROLLBACK")
                raise
            moved += done
            if done < ROUND:
                return moved

    def _connection(self) -> sqlite3.Connection:
        """The folds' own connection (one fold at a time: the folding thread's, or the writer's
        thread's when not in the background)."""
        if self._db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self.timeout)
            db.execute("PRAGMA secure_delete=ON")  # as the store's: the tail's rows leave zeros
            self._db = db
        return self._db

    def wait(self) -> None:
        """Until every fold queued so far is done."""
        with self._lock:
            pending = list(self._pending.values())
        for future in pending:
            future.result()

    def close(self) -> None:
        """Finish the folds queued, then close the folding connection; no fold starts after
        (:meth:`soon` queues none from here on, :meth:`fold` folds nothing once it is closed)."""
        with self._lock:
            self._closing = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        with self._folding:
            self._closed = True
            if self._db is not None:
                self._db.close()
                self._db = None


def _after_fork() -> None:
    for folder in list(_FOLDERS):
        folder._forked()


os.register_at_fork(after_in_child=_after_fork)
