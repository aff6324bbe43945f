"""The embedded default store: one SQLite file (WAL), FTS5 for BM25, exact vector search in memory."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from outcrop.stores.sqlite.connection import SQLiteConnection
from outcrop.stores.sqlite.lexical import SQLiteLexical
from outcrop.stores.sqlite.maintenance import SQLiteMaintenance
from outcrop.stores.sqlite.records import SQLiteRecords
from outcrop.stores.sqlite.vectors import SQLiteVectors

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """See :class:`outcrop.stores.base.Store`: the four seams over one file."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.connection = SQLiteConnection(self.path, synchronous=synchronous)
        self.lexical = SQLiteLexical(self.connection)
        self.records = SQLiteRecords(self.connection, self.lexical)
        self.vectors = SQLiteVectors(self.connection)
        self.maintenance = SQLiteMaintenance(self.connection, self.lexical)

    def snapshot(self, tenant: str) -> AbstractContextManager[None]:
        """Reads already share the file's one connection; each statement sees the last commit."""
        return nullcontext()

    def close(self) -> None:
        self.connection.close()
