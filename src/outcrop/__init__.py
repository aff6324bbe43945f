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
from outcrop.providers.base import Embedder
from outcrop.providers.registry import load_embedder

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Context",
    "Embedder",
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
    "load_embedder",
]
