"""Storage backends behind the :class:`~memstrata.stores.base.Store` protocol."""

from memstrata.stores.base import SearchFilters, Store, WriteBatch
from memstrata.stores.registry import open_store

__all__ = ["SearchFilters", "Store", "WriteBatch", "open_store"]
