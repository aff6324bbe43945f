"""Read snapshots on a SQLite file: each thread keeps one reader connection across its snapshots
(opening one parses the whole schema, two FTS5 tables per tenant), and a reused reader still sees
each snapshot's own state of the file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from outcrop.errors import StoreError
from outcrop.stores.sqlite.connection import SQLiteConnection


def _count(conn: SQLiteConnection) -> int:
    return int(conn.query("SELECT count(*) FROM t")[0][0])


@pytest.fixture
def conn(tmp_path: Path) -> SQLiteConnection:
    conn = SQLiteConnection(tmp_path / "s.db")
    with conn.transaction() as db:
        db.execute("CREATE TABLE t (x INTEGER)")
    return conn


def _write(conn: SQLiteConnection, n: int) -> None:
    with conn.transaction() as db:
        db.executemany("INSERT INTO t (x) VALUES (?)", [(i,) for i in range(n)])


def test_a_snapshot_sees_one_state_and_the_next_one_sees_what_was_written_between(conn: SQLiteConnection) -> None:
    _write(conn, 3)
    with conn.snapshot():
        assert _count(conn) == 3
        writer = threading.Thread(target=_write, args=(conn, 2))
        writer.start()
        writer.join()
        assert _count(conn) == 3  # the other thread's commit is not in this snapshot
    assert _count(conn) == 5
    with conn.snapshot():  # the same reader connection, a new read transaction
        assert _count(conn) == 5
        _other = threading.Thread(target=_write, args=(conn, 1))
        _other.start()
        _other.join()
        assert _count(conn) == 5
    with conn.snapshot():
        assert _count(conn) == 6
    conn.close()


def test_each_thread_keeps_one_reader_and_ended_threads_readers_are_closed(conn: SQLiteConnection) -> None:
    def read() -> None:
        for _ in range(3):
            with conn.snapshot():
                _count(conn)

    read()
    read()
    assert len(conn._readers) == 1  # one reader for this thread, whatever its number of snapshots
    for _ in range(20):  # short-lived threads, one after another (a server's pool replacing its threads)
        worker = threading.Thread(target=read)
        worker.start()
        worker.join()
    assert len(conn._readers) <= 2  # this thread's and the last worker's: the others were closed
    conn.close()
    assert conn._readers == {}


def test_a_snapshot_after_close_is_a_store_error(conn: SQLiteConnection) -> None:
    with conn.snapshot():
        pass
    conn.close()
    with pytest.raises(StoreError), conn.snapshot():
        pass


def test_close_lets_a_snapshot_under_way_finish_on_its_reader_and_refuses_any_after(conn: SQLiteConnection) -> None:
    """Closing while another thread reads: that thread's snapshot reads on (its reader was closed
    under it before, a raw MemoryError or a bindings error in the middle of a search), closes its
    reader as it ends, and every read after the close is a StoreError: no thread opens a reader
    again (a context or an export of a closed memory used to open one and answer)."""
    _write(conn, 5)
    inside, closed = threading.Event(), threading.Event()
    seen: list[object] = []

    def read() -> None:
        with conn.snapshot():
            inside.set()
            closed.wait(10)
            seen.append(_count(conn))  # after the close, in the snapshot it began before
        for _ in range(2):
            try:
                with conn.snapshot():
                    seen.append(_count(conn))
            except StoreError as exc:
                seen.append(str(exc))

    worker = threading.Thread(target=read)
    worker.start()
    assert inside.wait(10)
    conn.close()
    closed.set()
    worker.join()
    assert seen[0] == 5 and all("is closed" in str(s) for s in seen[1:]) and len(seen) == 3
    assert conn._readers == {} and conn._reading == set()  # the worker closed its own reader
    with pytest.raises(StoreError, match="closed"):
        conn.query("SELECT count(*) FROM t")
