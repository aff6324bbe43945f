"""memstrata: long-term memory for LLM agents, at several resolutions."""

from memstrata.api.memory import Memory
from memstrata.config import MemoryConfig, RetrievalConfig
from memstrata.core.types import Context, Hit, Item, ItemVersion, Level, Scope
from memstrata.errors import (
    ConfigError,
    InvalidInputError,
    MemstrataError,
    NotFoundError,
    ProviderError,
    StoreError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Context",
    "Hit",
    "InvalidInputError",
    "Item",
    "ItemVersion",
    "Level",
    "Memory",
    "MemoryConfig",
    "MemstrataError",
    "NotFoundError",
    "ProviderError",
    "RetrievalConfig",
    "Scope",
    "StoreError",
    "__version__",
]
