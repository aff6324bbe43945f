"""Configuration: one frozen, typed object passed explicitly.

The environment is read only by :meth:`MemoryConfig.from_env` (and the CLI/server entry points).
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memstrata.errors import ConfigError

__all__ = ["MemoryConfig", "RetrievalConfig", "StrataConfig", "default_store_url"]


def default_store_url() -> str:
    """``sqlite:///<user data dir>/memstrata/memory.db`` (platform-specific data dir)."""
    import platformdirs

    return f"sqlite:///{Path(platformdirs.user_data_dir('memstrata')) / 'memory.db'}"


class RetrievalConfig(BaseModel):
    """How search fuses its channels. Defaults tuned on LoCoMo dev with `memstrata eval locomo` (see README)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel_weights: dict[str, float] = Field(default_factory=lambda: {"bm25": 1.0, "dense": 0.2, "recency": 0.05})
    rrf_k: int = Field(60, ge=1)
    candidates: int = Field(100, ge=1, le=10_000, description="candidates each channel returns")
    speaker_boost: float = Field(1.3, ge=1.0, description="multiplier for turns by the one participant the query names")
    time_boost: float = Field(1.3, ge=1.0, description="multiplier for dated items on when/how-long questions")
    neighbour_window: int = Field(2, ge=0, le=10, description="turns on each side indexed with a turn for BM25")
    context_weight: float = Field(0.85, ge=0.0, le=1.0, description="weight of neighbouring turns' BM25 score")
    prf_weight: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="weight of the pseudo-relevance feedback terms, all together, relative to the query (0: off)",
    )
    prf_docs: int = Field(3, ge=1)
    prf_terms: int = Field(10, ge=1)
    dense_neighbour_weight: float = Field(0.3, ge=0.0, description="weight of the best neighbouring turn's cosine")
    gate_threshold: float = Field(0.5, ge=0.0, le=1.0, description="confidence under which search widens")
    gate_widen: int = Field(3, ge=1, le=20, description="candidate depth multiplier when widening (1: never widen)")


class StrataConfig(BaseModel):
    """Which producers build the strata above turns, and how (DESIGN.md §2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_add: bool = Field(True, description="consolidate after every add (otherwise only on consolidate())")
    facts: bool = True
    episodes: bool = True
    topics: bool = True
    profile: bool = True
    ner: Literal["auto", "rules", "spacy"] = Field("auto", description="auto: spaCy when installed, rules otherwise")
    episode_turns: int = Field(4, ge=1, le=20, description="central turns an episode summary quotes")
    topic_similarity: float = Field(
        0.5, ge=0.0, le=1.0, description="cosine (of centred embeddings) to a topic's centroid to join it"
    )
    topic_min_facts: int = Field(3, ge=2)
    topic_facts_shown: int = Field(5, ge=1, le=20)
    profile_values: int = Field(12, ge=1, le=50, description="values listed per profile line")
    refresh_growth: float = Field(
        0.1, ge=0.0, le=10.0, description="on add, refresh topics/profile once facts grew by this share (0: always)"
    )


class MemoryConfig(BaseModel):
    """Everything that configures a :class:`memstrata.Memory`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    store: str = Field(default_factory=default_store_url, description="store URL: sqlite:///path.db")
    embedder: str = Field("minilm", description="embedder spec: minilm | wordllama | st:/path/to/model")
    tenant: str = Field("default", min_length=1, max_length=200)
    max_text_chars: int = Field(32_000, ge=1, description="longest text accepted by add/update")
    embed_batch_size: int = Field(64, ge=1, le=4096)
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    retrieval: RetrievalConfig = Field(default_factory=lambda: RetrievalConfig())
    strata: StrataConfig = Field(default_factory=lambda: StrataConfig())

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> MemoryConfig:
        """Build from ``MEMSTRATA_DB``, ``MEMSTRATA_EMBEDDER``, ``MEMSTRATA_TENANT`` and
        ``MEMSTRATA_CONFIG`` (a JSON/TOML file), with explicit ``overrides`` winning."""
        env = dict(os.environ) if env is None else env
        values: dict[str, Any] = {}
        if env.get("MEMSTRATA_CONFIG"):
            values.update(_read_file(Path(env["MEMSTRATA_CONFIG"])))
        for key, name in (
            ("store", "MEMSTRATA_DB"),
            ("embedder", "MEMSTRATA_EMBEDDER"),
            ("tenant", "MEMSTRATA_TENANT"),
        ):
            if env.get(name):
                values[key] = env[name]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.build(values)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> MemoryConfig:
        values = _read_file(Path(path))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.build(values)

    @classmethod
    def build(cls, values: dict[str, Any]) -> MemoryConfig:
        """Validate ``values``, turning pydantic's error into a :class:`ConfigError`."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid configuration: {problems}") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8")) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold an object at the top level")
    return data
