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
