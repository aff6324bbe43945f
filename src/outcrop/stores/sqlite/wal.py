"""Switching a SQLite file to write-ahead logging at open, when other processes may be opening it too.

SQLite answers "database is locked" at once, without its busy handler, to a connection switching
the file to WAL while another is creating or switching it (processes opening a new file together:
server workers, Ray tasks). :func:`into_wal` waits for it like a write, up to ``timeout``.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["into_wal"]

_PAUSE = 0.05  # seconds between two tries


def into_wal(db: Any, timeout: float) -> None:
    """``PRAGMA journal_mode=WAL`` on ``db`` (a connection of the standard library's ``sqlite3`` or
    of ``sqlean``), tried again while the file is locked, for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # each driver's OperationalError: only "locked" is waited out
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(_PAUSE)
