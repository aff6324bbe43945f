"""mem0's configuration dict → outcrop's :class:`~outcrop.config.MemoryConfig`.

mem0 configures a provider stack (``vector_store``, ``embedder``, ``llm``, ``reranker``,
``graph_store``, ``history_db_path`` ...); outcrop replaces all of it with its own store, local
embedder and optional LLM, configured under the key ``"outcrop"`` (any
:class:`~outcrop.config.MemoryConfig` field: ``store``, ``embedder``, ``llm``, ``retrieval`` ...).
A store URL alone (``"sqlite:///memory.db"``) works too. The mem0 sections are accepted so that an existing config dict works unchanged, and named in one
:class:`~outcrop.compat.mem0.errors.Mem0CompatWarning`: none of them is used.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from outcrop.compat.mem0.errors import Mem0CompatWarning
from outcrop.config import MemoryConfig
from outcrop.errors import ConfigError

__all__ = ["OUTCROP_KEY", "to_memory_config"]

OUTCROP_KEY = "outcrop"


def _as_dict(config: object) -> dict[str, Any]:
    if isinstance(config, Mapping):
        return dict(config)
    dump = getattr(config, "model_dump", None)  # mem0's own MemoryConfig (a pydantic model)
    if callable(dump):
        return dict(dump())
    raise ConfigError(f"config must be a dict (mem0's config) or an outcrop MemoryConfig, got {type(config).__name__}")


def to_memory_config(config: object | None, *, stacklevel: int = 3) -> MemoryConfig:
    """The outcrop configuration a mem0-style ``config`` describes (see the module docstring)."""
    if config is None:
        return MemoryConfig()
    if isinstance(config, MemoryConfig):
        return config
    if isinstance(config, str):  # a store URL, as outcrop's own Memory("sqlite:///m.db")
        return MemoryConfig.build({"store": config})
    given = _as_dict(config)
    own = given.pop(OUTCROP_KEY, None) or {}
    if not isinstance(own, Mapping):
        raise ConfigError(f"config[{OUTCROP_KEY!r}] must be an object of outcrop MemoryConfig fields")
    ignored = sorted(k for k, v in given.items() if v not in (None, {}, ""))
    if ignored:
        warnings.warn(
            f"outcrop.compat.mem0 does not use mem0's {', '.join(ignored)}: memories go to outcrop's store "
            f"with its local embedder (set config[{OUTCROP_KEY!r}], e.g. {{'store': 'sqlite:///memory.db'}})",
            Mem0CompatWarning,
            stacklevel=stacklevel,
        )
    return MemoryConfig.build(dict(own))
