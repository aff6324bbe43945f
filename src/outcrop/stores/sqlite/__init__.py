"""The SQLite backend: one file, four seams (:mod:`outcrop.stores.base`).

``connection`` (the file, its lock, transactions, migrations), ``records`` (log, items, versions,
links), ``lexical`` (FTS5 BM25), ``vectors`` (exact cosine through an in-memory matrix),
``maintenance`` (erase, scrub), composed by ``store``.
"""

from outcrop.stores.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
