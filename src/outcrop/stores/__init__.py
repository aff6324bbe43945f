"""Storage backends behind the :class:`~outcrop.stores.base.Store` protocol."""

from outcrop.stores.base import SearchFilters, Store, WriteBatch
from outcrop.stores.registry import open_store

__all__ = ["SearchFilters", "Store", "WriteBatch", "open_store"]
