"""outcrop: long-term memory for LLM agents, at several resolutions."""

from outcrop.api.memory import Memory
from outcrop.config import MemoryConfig, RetrievalConfig
from outcrop.core.types import Context, Hit, Item, ItemVersion, Level, Scope
from outcrop.errors import (
    ConfigError,
    InvalidInputError,
    NotFoundError,
    OutcropError,
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
    "NotFoundError",
    "OutcropError",
    "ProviderError",
    "RetrievalConfig",
    "Scope",
    "StoreError",
    "__version__",
]
