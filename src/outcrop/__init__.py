"""outcrop: long-term memory for LLM agents, at several resolutions.

Everything a caller of :class:`Memory` receives is importable from here."""

from outcrop.api.answer import Answer
from outcrop.api.async_memory import AsyncMemory
from outcrop.api.engine import Engine
from outcrop.api.filters import Filters
from outcrop.api.memory import Memory
from outcrop.api.reports import IngestReport
from outcrop.config import LLMConfig, MemoryConfig, RetrievalConfig, StrataConfig
from outcrop.core.explain import ChannelRank, ContextExplain, Explain, Stats
from outcrop.core.legacy import LegacyNameWarning
from outcrop.core.types import Context, Hit, Item, ItemVersion, Level, Message, Messages, Scope, Timestamp
from outcrop.errors import (
    ConfigError,
    InvalidInputError,
    LLMError,
    NotFoundError,
    OutcropError,
    ProviderError,
    StoreError,
    WriteConflict,
)
from outcrop.lifecycle.export import ExportReport, ImportReport
from outcrop.lifecycle.rebuild import RebuildReport
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.reindex import ReindexReport
from outcrop.providers.base import Embedder
from outcrop.providers.registry import load_embedder
from outcrop.retrieve.reuse import ReadReuse
from outcrop.stores.base import SearchFilters
from outcrop.strata.consolidate import ConsolidationReport
from outcrop.truth.slots import SlotValue

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AsyncMemory",
    "ChannelRank",
    "ConfigError",
    "ConsolidationReport",
    "Context",
    "ContextExplain",
    "Embedder",
    "Engine",
    "Explain",
    "ExportReport",
    "Filters",
    "ForgetReceipt",
    "Hit",
    "ImportReport",
    "IngestReport",
    "InvalidInputError",
    "Item",
    "ItemVersion",
    "LLMConfig",
    "LLMError",
    "LegacyNameWarning",
    "Level",
    "Memory",
    "MemoryConfig",
    "Message",
    "Messages",
    "NotFoundError",
    "OutcropError",
    "ProviderError",
    "ReadReuse",
    "RebuildReport",
    "ReindexReport",
    "RetrievalConfig",
    "Scope",
    "SearchFilters",
    "SlotValue",
    "Stats",
    "StoreError",
    "StrataConfig",
    "Timestamp",
    "WriteConflict",
    "__version__",
    "load_embedder",
]
