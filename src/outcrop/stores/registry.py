"""Store URLs → store instances.

* ``sqlite:///path/to/file.db`` (or a bare path): the embedded SQLite store
  (``sqlite:///:memory:`` is refused: memory must survive the process);
* ``postgresql://user:password@host:5432/db`` (or ``postgres://``, any libpq URI, including
  ``?host=/unix/socket/dir``): the PostgreSQL + pgvector store.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlparse

from outcrop.errors import ConfigError, install_hint
from outcrop.stores.base import Store

__all__ = ["open_store", "sqlite_path"]

POSTGRES_SCHEMES = ("postgresql", "postgres")


def open_store(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    postgres_pool_size: int = 16,
    postgres_postings_cache_bytes: int | None = None,
    sqlite_vector_cache_bytes: int | None = None,
    sqlite_postings_cache_bytes: int | None = None,
    ann_min_vectors: int | None = None,
    ann_ef_search: int | None = None,
    ann_background: bool | None = None,
) -> Store:
    """Open the store a URL names. A bare path is taken as a SQLite file (keeping at most
    ``sqlite_vector_cache_bytes`` of vectors and ``sqlite_postings_cache_bytes`` of BM25 postings in
    memory; a PostgreSQL store keeps ``postgres_postings_cache_bytes`` of users' BM25 postings; searching scopes of at least
    ``ann_min_vectors`` vectors through an HNSW index of breadth ``ann_ef_search``, built in a background
    thread unless ``ann_background`` is False; None: their defaults)."""
    path = sqlite_path(url)
    if path is not None:
        from outcrop.stores.sqlite import SQLiteStore
        from outcrop.stores.sqlite.approximate import AnnSettings

        ann = AnnSettings()
        if ann_min_vectors is not None:
            ann = replace(ann, min_vectors=ann_min_vectors)
        if ann_ef_search is not None:
            ann = replace(ann, ef_search=ann_ef_search)
        if ann_background is not None:
            ann = replace(ann, background=ann_background)
        return SQLiteStore(
            path,
            synchronous=sqlite_synchronous,
            vector_cache_bytes=sqlite_vector_cache_bytes,
            postings_cache_bytes=sqlite_postings_cache_bytes,
            ann=ann,
        )
    parsed = urlparse(url)
    if parsed.scheme in POSTGRES_SCHEMES:
        try:
            from outcrop.stores.postgres import PostgresStore
        except ImportError as exc:  # psycopg is the optional "postgres" extra
            raise ConfigError(f"the PostgreSQL store needs psycopg: {install_hint('postgres')} ({exc})") from None
        if postgres_postings_cache_bytes is None:
            return PostgresStore(url, pool_size=postgres_pool_size)
        return PostgresStore(url, pool_size=postgres_pool_size, postings_cache_bytes=postgres_postings_cache_bytes)
    raise ConfigError(
        f"unsupported store URL {parsed.scheme + '://...' if parsed.scheme else url!r};"
        " supported: sqlite:///path.db, postgresql://user@host/db"
    )


def sqlite_path(url: str) -> str | None:
    """The file a SQLite store URL (or a bare path) names; None for another kind of store. A URL
    with a query or fragment (``sqlite:///x.db?mode=ro``) is refused: the store takes no options
    there, and the text after ``?`` used to become part of the file's name."""
    if "://" not in url:
        return url or None
    if urlparse(url).scheme != "sqlite":
        return None
    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
    if not path or path == ":memory:":
        raise ConfigError(f"invalid SQLite URL {url!r}; use sqlite:///relative/path.db or sqlite:////abs/path.db")
    if "?" in path or "#" in path:
        raise ConfigError(
            f"invalid SQLite URL {url!r}: it takes no query or fragment (a file whose name holds '?' or '#'"
            " is given as a bare path)"
        )
    return path
