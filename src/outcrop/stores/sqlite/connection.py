"""One SQLite file shared by the store's seams: the connection, its lock, transactions and the
recorded migrations.

Durability: every write is one ``BEGIN IMMEDIATE … COMMIT`` transaction with
``synchronous=FULL`` by default, so a write that returned survives ``kill -9`` (and power loss).
``BEGIN IMMEDIATE`` takes the file's write lock up front, so writers in other processes queue
(up to ``timeout`` seconds) instead of failing half-way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from outcrop.core.time.clock import format_time, now
from outcrop.errors import StoreError
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.schema import MIGRATIONS
from outcrop.stores.sqlite.wal import into_wal

__all__ = ["SQLiteConnection", "chunks"]


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[list[Any]]:
    """``values`` in lists of at most ``size`` (SQLite binds at most a few thousand parameters)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


class SQLiteConnection:
    """The file's one connection (WAL), used by every seam under one re-entrant lock."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.timeout = 30.0  # seconds a write waits for another process's
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a folder should be, no permission, a read-only disk
            raise StoreError(f"cannot open SQLite store {path}: cannot create its folder ({exc.strerror})") from None
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=self.timeout)
            into_wal(self.db, self.timeout)  # processes opening a new store together (stores/sqlite/wal.py)
            self.db.execute(f"PRAGMA synchronous={synchronous}")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA secure_delete=ON")  # deleted cells and freed pages become zeros
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open SQLite store {path}: {exc}") from None
        self.lock = threading.RLock()
        self._after: dict[Hashable, Callable[[], None]] = {}  # steps of the open transaction, run once it commits
        self._local = threading.local()  # a thread's reader connection, and its snapshot while it reads one
        self._readers: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}  # thread -> its reader
        self._readers_lock = threading.Lock()
        self._reading: set[int] = set()  # threads inside a snapshot: their readers are theirs to close
        self._closed = False
        self._migrate()

    def close(self) -> None:
        """Close the file's connections. A thread inside a read snapshot finishes it on its own
        reader, which it closes as the snapshot ends (closing a connection another thread is
        reading through broke that read with a raw MemoryError); every read or write after this
        raises :class:`StoreError`."""
        with self._readers_lock:
            self._closed = True
            for ident, (_, reader) in list(self._readers.items()):
                if ident not in self._reading:
                    reader.close()
                    del self._readers[ident]
        with self.lock:
            self.db.close()

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection, opened at its first snapshot and kept: opening one costs
        a parse of the file's schema at its first statement (two FTS5 tables and their shadow
        tables per tenant: ~23 ms per open at 150 tenants here), which every search paid before.
        Readers of threads that have ended are closed when another thread opens its own."""
        db: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if db is not None:
            return db
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self.timeout)
        with self._readers_lock:
            if self._closed:
                db.close()
                raise StoreError(f"the SQLite store {self.path} is closed")
            for ident, (thread, old) in list(self._readers.items()):
                if not thread.is_alive():
                    old.close()
                    del self._readers[ident]
            self._readers[threading.get_ident()] = (threading.current_thread(), db)
        self._local.reader = db
        return db

    def _drop_reader(self) -> None:
        """Close this thread's reader (after an error: the next snapshot opens a fresh one)."""
        db: sqlite3.Connection | None = getattr(self._local, "reader", None)
        self._local.reader = None
        with self._readers_lock:
            entry = self._readers.get(threading.get_ident())
            if entry is not None and entry[1] is db:
                del self._readers[threading.get_ident()]
        if db is not None:
            db.close()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """This thread's reads (:meth:`query`) see one state of the file until the block ends,
        through a read transaction on the thread's own reader connection: other threads and
        processes write meanwhile, unseen. Nested: the outer snapshot."""
        if getattr(self._local, "db", None) is not None:
            yield
            return
        ident = threading.get_ident()
        with self._readers_lock:
            if self._closed:
                raise StoreError(f"the SQLite store {self.path} is closed")
            self._reading.add(ident)  # from here until the snapshot ends, close() leaves our reader to us
        try:
            try:
                db = self._reader()
                db.execute("BEGIN")
                db.execute("SELECT 1 FROM schema_migrations LIMIT 1")  # the read transaction starts here
            except sqlite3.Error as exc:
                self._drop_reader()
                raise StoreError(f"cannot open a read snapshot: {exc}") from None
            self._local.db = db
            try:
                yield
            finally:
                self._local.db = None
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    self._drop_reader()
        finally:
            with self._readers_lock:
                self._reading.discard(ident)
                closed = self._closed
            if closed:  # the store was closed meanwhile: this reader was left for us to close
                self._drop_reader()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed when the block ends, rolled back
        if it raises. Not inside a :meth:`snapshot` (it reads a past state)."""
        if getattr(self._local, "db", None) is not None:
            raise StoreError("no write inside a read snapshot")
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a transaction: {exc}") from None
            try:
                yield self.db
            except BaseException:
                self._after.clear()
                self.db.execute("ROLLBACK")
                raise
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._after.clear()
                self.db.execute("ROLLBACK")
                raise StoreError(f"commit failed: {exc}") from None
            steps = list(self._after.values())
            self._after.clear()
        for step in steps:
            step()

    def after_commit(self, key: Hashable, step: Callable[[], None]) -> None:
        """Inside a transaction: run ``step`` once it has committed (after the lock is let go;
        once per ``key``), not at all if it rolls back."""
        self._after[key] = step

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        snapshot: sqlite3.Connection | None = getattr(self._local, "db", None)
        if snapshot is not None:
            try:
                return snapshot.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"query failed: {exc}") from None
        with self.lock:
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"query failed: {exc}") from None

    @staticmethod
    def bump_epoch(db: sqlite3.Connection) -> None:
        """Inside a transaction: tell every reader (any process) to reload the vectors it holds (re-indexing)."""
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vectors_epoch'")

    def _migrate(self) -> None:
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            applied = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
            for name, step in MIGRATIONS:
                if name in applied:
                    continue
                if callable(step):
                    if step(db) is False:  # not applicable with this SQLite: tried again at the next open
                        continue
                else:
                    for statement in filter(str.strip, step.split(";")):
                        db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, format_time(now())))
