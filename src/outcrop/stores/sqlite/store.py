"""The embedded default store: one SQLite file (WAL), FTS5 for BM25, exact vector search over scope matrices
kept in a bounded cache, and an approximate (HNSW) index for large scopes, its graph kept in ``<file>.ann/``."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from outcrop.stores.sqlite.approximate import AnnSettings
from outcrop.stores.sqlite.connection import SQLiteConnection
from outcrop.stores.sqlite.lexical import SQLiteLexical
from outcrop.stores.sqlite.maintenance import SQLiteMaintenance
from outcrop.stores.sqlite.records import SQLiteRecords
from outcrop.stores.sqlite.vectors import DEFAULT_CACHE_BYTES, SQLiteVectors

__all__ = ["SQLiteStore"]


class SQLiteStore:
    """See :class:`outcrop.stores.base.Store`: the four seams over one file."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        vector_cache_bytes: int | None = None,
        postings_cache_bytes: int | None = None,
        ann: AnnSettings | None = None,
    ) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.connection = SQLiteConnection(self.path, synchronous=synchronous)
        self.lexical = SQLiteLexical(self.connection, postings_cache_bytes)
        self.records = SQLiteRecords(self.connection, self.lexical)
        self.vectors = SQLiteVectors(
            self.connection,
            cache_bytes=DEFAULT_CACHE_BYTES if vector_cache_bytes is None else vector_cache_bytes,
            ann=ann,
            ann_directory=self.path.with_name(self.path.name + ".ann"),
        )
        self.maintenance = SQLiteMaintenance(self.connection, self.lexical)

    def snapshot(self, tenant: str) -> AbstractContextManager[None]:
        return self.connection.snapshot()

    def close(self) -> None:
        self.vectors.approximate.close()
        self.lexical.close()
        self.connection.close()
