"""Store URLs → store instances: ``sqlite:///path/to/file.db`` (``sqlite:///:memory:`` is refused:
memory must survive the process)."""

from __future__ import annotations

from urllib.parse import urlparse

from memstrata.errors import ConfigError
from memstrata.stores.base import Store

__all__ = ["open_store"]


def open_store(url: str, *, sqlite_synchronous: str = "FULL") -> Store:
    """Open the store a URL names. A bare path is taken as a SQLite file."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path or path == ":memory:":
            raise ConfigError(f"invalid SQLite URL {url!r}; use sqlite:///relative/path.db or sqlite:////abs/path.db")
        from memstrata.stores.sqlite import SQLiteStore

        return SQLiteStore(path, synchronous=sqlite_synchronous)
    raise ConfigError(f"unsupported store URL {url!r}; supported: sqlite:///path.db")
