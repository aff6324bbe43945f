"""The SQLite library the store runs on: ``sqlean.py``'s build of SQLite (3.45 or later) where it is
installed (it is a dependency of the package), the standard library's module otherwise.

A recent SQLite matters for erasure: FTS5's ``secure-delete`` option (SQLite 3.44) removes a
deleted document's postings from the index segments at once, so a forget rewrites the pages of
what it erases instead of the whole file (:mod:`outcrop.stores.sqlite.maintenance`). With an older
library the store still works, and a forget falls back to rewriting the file.

Every module of the store takes ``sqlite3`` from here, so its exception classes are the ones the
connection raises (``sqlean.Error`` is not ``sqlite3.Error``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlean ships no type information; its API is the standard library's
    import sqlite3
else:
    try:
        import sqlean as sqlite3
    except ImportError:  # pragma: no cover - a platform without a sqlean.py wheel
        import sqlite3

__all__ = ["FTS5_SECURE_DELETE", "sqlite3"]

FTS5_SECURE_DELETE: bool = sqlite3.sqlite_version_info >= (3, 44, 0)
"""Whether this library's FTS5 can delete postings in place (the ``secure-delete`` option)."""
