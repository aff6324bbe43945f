"""Configuration: one frozen, typed object passed explicitly.

The environment is read only by :meth:`MemoryConfig.from_env` (and the CLI/server entry points).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from outcrop.core.jsontext import parse_json
from outcrop.core.legacy import default_data_dir, with_current_names
from outcrop.core.validation import describe_errors
from outcrop.core.values import validate_name
from outcrop.errors import ConfigError, InvalidInputError

__all__ = ["LLMConfig", "MemoryConfig", "RetrievalConfig", "StrataConfig", "default_store_url"]


def default_store_url() -> str:
    """``sqlite:///<user data dir>/outcrop/memory.db`` (platform-specific data dir; a store left
    under the former name ``memstrata`` is opened when there is none under ``outcrop``)."""
    return f"sqlite:///{default_data_dir() / 'memory.db'}"


class RetrievalConfig(BaseModel):
    """How search fuses its channels. Defaults tuned on LoCoMo dev with `outcrop eval locomo` (see README)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    channel_weights: dict[str, Annotated[float, Field(ge=0, le=100)]] = Field(
        default_factory=lambda: {
            "bm25": 1.0,
            "dense": 0.2,
            "recency": 0.05,
            "temporal": 0.3,
            "pages": 1.0,
            "relations": 0.3,
            "traits": 0.3,
            "focus": 0.2,
        }
    )
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
    list_prf_weight: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="prf_weight for a question that asks for a list (retrieve/relations.asks_for_a_list), whose"
        " answer spans sessions; none when prf_weight is 0 (LoCoMo dev, with list_prf_docs 8: multi-hop R@10"
        " +0.9, multi-hop coverage +1.2)",
    )
    list_prf_docs: int = Field(8, ge=1, le=100, description="prf_docs for a question that asks for a list")
    expansion_weight: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="query term expansion: weight (times cosine) of each query term's neighbours in WordLlama's"
        " token space, added to the BM25 query (0: off; needs the wordllama extra; docs/decisions.md)",
    )
    expansion_neighbours: int = Field(3, ge=1, le=20, description="neighbours per query term")
    expansion_similarity: float = Field(0.45, ge=0.0, le=1.0, description="least cosine of a neighbour")
    page_zoom: int = Field(
        4,
        ge=0,
        le=5,
        description="in a context, an entity page gives way to up to this many of its supporting turns that"
        " match the question, and pages hide none of their turns (0: the page's whole text; LoCoMo with pages:"
        " coverage +0.8)",
    )
    relation_views: int = Field(
        8,
        ge=1,
        le=20,
        description="relation views and entity pages the query names whose turns the relations channel lists"
        " (LoCoMo dev, with relation_turns 40 against 3 and 20: multi-hop R@10 +0.6, coverage @1000 +0.2)",
    )
    relation_turns: int = Field(
        40,
        ge=0,
        le=100,
        description="source turns of the views of the subjects the query names that the channel lists, by their"
        " cosine to the query",
    )
    relation_entry_weight: float = Field(
        1.0,
        ge=0.0,
        le=5.0,
        description="the relations channel lifts a listed turn by this times the margin by which the cosine of the"
        " question's words to an entry it supports ('martial arts' to 'kickboxing') exceeds relation_entry_floor (0: entries matched by their words only)",
    )
    relation_entry_floor: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="an entry of a view of a subject the question names matches the question by meaning at this"
        " cosine (the view is then listed though no word of the question names it; LoCoMo multi-hop R@10 +1.4)",
    )
    relation_keep_first: int = Field(
        1,
        ge=0,
        le=20,
        description="the first N hits without the relations channel keep their places: its view turns join"
        " below them (0: off)",
    )
    trait_turns: int = Field(
        20,
        ge=0,
        le=100,
        description="turns of the trait views of the participant an inference question names that the traits"
        " channel lists (retrieve/traits.py)",
    )
    trait_views: int = Field(
        2, ge=0, le=20, description="trait views of the kinds the question asks about that the traits channel lists"
    )
    trait_places: int = Field(
        3,
        ge=0,
        le=20,
        description="places after the first trait_after hits kept for the traits channel's best turns (0: fusion"
        " alone)",
    )
    trait_after: int = Field(6, ge=0, le=100, description="hits before the traits channel's places")
    relation_view_place: int = Field(
        3,
        ge=0,
        le=50,
        description="on a list question, the relations channel's best view is moved up to this place (1-based)"
        " when it ranks below it (0: off; LoCoMo dev: multi-hop R@10 +1.6 at 3)",
    )
    relation_view_count: int = Field(
        3,
        ge=1,
        le=5,
        description="views of the relations channel kept from fusion's cut and moved up, each two places below the"
        " one before (LoCoMo dev: 1 → 3, multi-hop R@10 +1.3; kept from the cut too: +3.9)",
    )
    hop_seeds: int = Field(5, ge=1, le=50, description="first-pass hits whose names the second hop follows")
    hop_bridges: int = Field(3, ge=1, le=20, description="names (bridge entities) the second hop searches")
    feedback_docs: int = Field(3, ge=1, le=50, description="first-pass hits whose vectors move the feedback query")
    feedback_shift: float = Field(
        0.3, ge=0.0, le=10.0, description="how far the feedback query moves toward its first hits' mean vector"
    )
    context_feedback: float = Field(
        0.2,
        ge=0.0,
        le=100.0,
        description="weight of the dense feedback channel in a context's retrieval, whatever channel_weights"
        " gives it (0: off; none without the dense channel; search keeps its ranking; LoCoMo dev: coverage"
        " @1000 +0.5, multi-hop coverage +1.2)",
    )
    context_dense_turns: float = Field(
        0.05,
        ge=0.0,
        le=100.0,
        description="weight of the dense ranking over turns alone in a context's retrieval, whatever"
        " channel_weights gives it (0: off; none without the dense channel; search keeps its ranking;"
        " LoCoMo dev: coverage @1000 +0.4, answer words +0.5)",
    )
    dense_neighbour_weight: float = Field(0.3, ge=0.0, description="weight of the best neighbouring turn's cosine")
    context_dense_reserve: int = Field(
        10,
        ge=0,
        le=100,
        description="places a packed context keeps for the dense channel's best matches that fusion ranked"
        " lower (0: plain fused order); search is not affected",
    )
    reserve_after: int = Field(10, ge=0, le=100, description="fused hits a context takes before the reserved places")
    context_small_talk: bool = Field(
        True,
        description='a context\'s turn lines leave out sentences of small talk ("Thanks, Mel!"); the items keep'
        " their text (retrieve/smalltalk.py)",
    )
    gate_threshold: float = Field(0.5, ge=0.0, le=1.0, description="confidence under which search widens")
    gate_widen: int = Field(3, ge=1, le=20, description="candidate depth multiplier when widening (1: never widen)")
    widen_search: bool = Field(
        False,
        description="let search widen as context does (LoCoMo: +0.03 R@10, twice the time for the tenth of queries"
        " that widen); context always may, it packs from deep lists",
    )
    rerank: Literal["none", "llm"] = Field("none", description="rerank the top hits with the configured LLM")
    rerank_top: int = Field(20, ge=2, le=100, description="hits the reranker reorders")
    superseded_weight: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="score multiplier for facts whose slot holds a newer value (0: drop; 1: annotate only)",
    )
    strength_weight: float = Field(
        0.05,
        ge=0.0,
        le=5.0,
        description="fusion weight of strength (forgetting curve over age, accesses, importance), ranked like a"
        " channel (0: off, nothing fades)",
    )
    half_life_days: float = Field(
        365.0, gt=0.0, description="age at which an item never read, of importance 0.5, keeps half its strength"
    )
    faded_below: float = Field(
        0.05, ge=0.0, le=1.0, description="retention under which an item leaves default results (not deleted)"
    )
    strength_clock: Literal["memory", "wall"] = Field(
        "memory", description="age up to the newest item in the user's memory (memory) or up to now (wall)"
    )
    track_access: bool = Field(True, description="count the items search and context return (they fade slower)")
    quarantine: Literal["off", "context", "search"] = Field(
        "off",
        description="keep items instruction screening flagged (and what was derived from them) out of context"
        " (context), or out of context and search (search); off: they are shown, marked [flagged]",
    )


class StrataConfig(BaseModel):
    """Which producers build the strata above turns, and how (DESIGN.md §2)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    on_add: bool = Field(True, description="consolidate after every add (otherwise only on consolidate())")
    mode: Literal["inline", "deferred"] = Field(
        "inline",
        description="inline: add returns once the turns' strata are computed; deferred: add returns once the turns"
        " are logged and indexed (searchable), and a background worker computes their strata behind it"
        " (Memory.wait_for_strata waits for it; a stopped process leaves them due, caught up on next open)",
    )
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
    pages: bool = Field(
        False,
        description="entity pages: what a participant said about one thing across sessions (docs/decisions.md: "
        "R@10 +1.0 on LoCoMo dev, context coverage -1.4, so off by default)",
    )
    relations: bool = Field(
        True,
        description="relation views: per (subject, relation) every object with its dates and turns, e.g. "
        "'Audrey — owns: dog: Pepper, Pixie' (strata/relations.py; docs/decisions.md)",
    )
    entity_pages: bool = Field(
        True,
        description="entity pages for salient names (pets, people, places, organisations, works) with their dated "
        "statements across sessions, coreference included (strata/entity_pages.py; docs/decisions.md)",
    )
    traits: bool = Field(
        True,
        description="trait views: per participant and kind (wants and plans, work, helping, likes, values, habits,"
        " family, health, home) every statement with its date, turns and status, what ended kept as history"
        " (strata/traits.py; docs/decisions.md)",
    )
    trait_lines: int = Field(8, ge=1, le=50, description="statements a trait view shows")
    captions: bool = Field(
        True,
        description="shared images as statements the relation views read: 'Joanna shared a photo of a cake', "
        "'they made this!' with the picture named (strata/captions.py; docs/decisions.md)",
    )
    page_min_facts: int = Field(2, ge=2, description="facts (from two sessions at least) a page needs")
    page_lines: int = Field(12, ge=1, le=50, description="facts a page shows")
    profile_values: int = Field(12, ge=1, le=50, description="values listed per profile line")
    refresh_growth: float = Field(
        0.1, ge=0.0, le=10.0, description="on add, refresh topics/profile once facts grew by this share (0: always)"
    )
    links: bool = Field(True, description="merge near-duplicate facts and link related ones as they arrive")
    link_similarity: float = Field(0.8, ge=0.0, le=1.0, description="cosine at which two facts are linked")
    link_entity_similarity: float = Field(
        0.6, ge=0.0, le=1.0, description="cosine at which two facts naming the same entity are linked"
    )
    merge_similarity: float = Field(
        0.95, ge=0.0, le=1.0, description="cosine at which a fact restates an earlier one (same speaker and dates)"
    )
    link_neighbours: int = Field(8, ge=1, le=100, description="earlier facts a new fact is compared with")
    fact_producer: Literal["rules", "llm"] = Field("rules", description="llm: structured extraction (needs llm)")
    episode_producer: Literal["central", "llm"] = Field("central", description="llm: abstractive summaries")
    topic_producer: Literal["leader", "llm"] = Field("leader", description="llm: the model names and summarises topics")
    profile_producer: Literal["slots", "llm"] = Field(
        "slots", description="llm: a reflection pass checks each profile line against its facts"
    )
    slot_judge: Literal["rules", "llm"] = Field(
        "rules", description="llm: the model settles ambiguous slot changes (restatement or real change)"
    )


class LLMConfig(BaseModel):
    """An OpenAI-compatible chat-completions server (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).

    Configured when ``base_url`` and ``model`` are set (``OUTCROP_LLM_BASE_URL``,
    ``OUTCROP_LLM_MODEL``, optional ``OUTCROP_LLM_API_KEY``); see ``docs/llm.md``."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8000/v1 or https://api.openai.com/v1")
    model: str | None = None
    api_key: SecretStr | None = None
    timeout: float = Field(120.0, gt=0, description="seconds per request")
    max_retries: int = Field(3, ge=0, le=10, description="retries on 429, 5xx, timeouts and connection errors")
    backoff: float = Field(0.5, ge=0, description="first retry delay in seconds; doubles each retry")
    concurrency: int = Field(4, ge=1, le=64, description="requests in flight at once, per client")
    breaker_cooldown: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="after a call finds the server unreachable (retries spent), calls fail at once for this many "
        "seconds, then one probe call is let through (each failed probe doubles it, up to 8x); 0 turns it off",
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(512, ge=1, description="default completion budget per call")
    seed: int | None = 0
    structured: Literal["auto", "json_schema", "json_object", "none"] = Field(
        "auto",
        description="how to ask for JSON: json_schema (OpenAI), json_object+schema (llama.cpp), none (prompt only); "
        "auto tries them in that order",
    )
    price_input_per_mtok: float = Field(0.0, ge=0.0, description="USD per million prompt tokens, for the ledger")
    price_output_per_mtok: float = Field(0.0, ge=0.0, description="USD per million completion tokens")

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)


def _tenant_name(value: str) -> str:
    """A tenant is named as users and sessions are: no control characters, not blank."""
    try:
        return validate_name(value, "tenant")
    except InvalidInputError as exc:
        raise ValueError(str(exc)) from None


class MemoryConfig(BaseModel):
    """Everything that configures a :class:`outcrop.Memory`."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    store: str = Field(default_factory=default_store_url, description="store URL: sqlite:///path.db")
    embedder: str = Field("minilm", description="embedder spec: minilm | wordllama | st:/path/to/model")
    tenant: Annotated[str, AfterValidator(_tenant_name)] = Field("default", min_length=1, max_length=200)
    max_text_chars: int = Field(32_000, ge=1, description="longest text accepted by add/update")
    embed_batch_size: int = Field(64, ge=1, le=4096)
    embedder_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="intra-op threads of the ONNX embedder (0: onnxruntime's default, one per core); the"
        " server gives each of its --workers processes its share of the cores",
    )
    embedder_long_texts: Literal["windows", "cut"] = Field(
        "windows",
        description="how the default (minilm) embedder reads a turn longer than its 128-word-piece window:"
        " whole, in windows pooled over every word piece, or from the first window only (cheaper to"
        " ingest long documents: 17% less CPU; docs/decisions.md, 'Strata'); derived items are always"
        " read from their first window",
    )
    blas_threads: int = Field(
        1,
        ge=0,
        le=256,
        description="threads numpy's BLAS may use in a process that opens a Memory (process-wide, set when it"
        " opens, through threadpoolctl; 0: left as it is). A search's vector products are small:"
        " more threads only spin (docs/scale.md)",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    sqlite_vector_cache_bytes: int = Field(
        256 << 20,
        ge=0,
        description="bytes of vectors a SQLite store keeps in memory, scope by scope, least recently searched"
        " dropped first (a 100k-turn user of a 384-d embedder holds ~160 MB)",
    )
    sqlite_postings_cache_bytes: int = Field(
        48 << 20,
        ge=0,
        description="bytes of BM25 postings a SQLite store keeps in memory for large users' query terms (and"
        " small users' phrases), least recently used dropped first; a 100k-turn user's LoCoMo questions"
        " read ~40 MB of them (docs/scale.md)",
    )
    ann_min_vectors: int = Field(
        20_000,
        ge=0,
        description="live vectors from which a user scope's dense search on SQLite goes through an approximate"
        " (HNSW) index, its graph kept beside the file in <file>.ann/ (0: always exact; docs/scale.md)",
    )
    ann_ef_search: int = Field(256, ge=16, le=4096, description="HNSW search breadth of the approximate index")
    ann_background: bool = Field(
        True,
        description="build a scope's approximate index in a background thread (searches stay exact, or on the"
        " previous index, until it is done); false: inside the search that needs it",
    )
    postgres_pool_size: int = Field(16, ge=1, le=256, description="connections a PostgreSQL store keeps open")
    postgres_postings_cache_bytes: int = Field(
        256 << 20,
        ge=0,
        description="bytes of users' BM25 postings a PostgreSQL store's process keeps in memory (a user's"
        " whole lexical index, read at its second search without a write between; least recently used"
        " dropped first; 0: every search scored in SQL; docs/scale.md)",
    )
    async_threads: int = Field(
        4, ge=1, le=256, description="threads an AsyncMemory runs the store and the embedder in (its executor)"
    )
    retrieval: RetrievalConfig = Field(default_factory=lambda: RetrievalConfig())
    strata: StrataConfig = Field(default_factory=lambda: StrataConfig())
    llm: LLMConfig = Field(default_factory=lambda: LLMConfig())

    @classmethod
    def from_env(
        cls, env: dict[str, str] | None = None, *, file: str | Path | None = None, **overrides: Any
    ) -> MemoryConfig:
        """Build from ``OUTCROP_CONFIG`` (a JSON/TOML file; ``file`` instead when given), then
        ``OUTCROP_DB``, ``OUTCROP_EMBEDDER``, ``OUTCROP_TENANT`` and ``OUTCROP_LLM_*`` over it,
        with explicit ``overrides`` winning. The former names ``MEMSTRATA_*`` are read too, with a
        :class:`~outcrop.core.legacy.LegacyNameWarning`."""
        env = with_current_names(os.environ if env is None else env)
        values: dict[str, Any] = {}
        if file is not None or env.get("OUTCROP_CONFIG"):
            values.update(_read_file(Path(file if file is not None else env["OUTCROP_CONFIG"])))
        for key, name in (
            ("store", "OUTCROP_DB"),
            ("embedder", "OUTCROP_EMBEDDER"),
            ("tenant", "OUTCROP_TENANT"),
        ):
            if env.get(name):
                values[key] = env[name]
        llm = {
            k: env[f"OUTCROP_LLM_{k.upper()}"]
            for k in ("base_url", "model", "api_key")
            if env.get(f"OUTCROP_LLM_{k.upper()}")
        }
        if llm:
            values["llm"] = {**values.get("llm", {}), **llm}
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
            problems = describe_errors(exc.errors(), root="configuration")
            raise ConfigError(f"invalid configuration: {problems}") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if path.suffix != ".toml":
        data = parse_json(raw, f"config file {path}", ConfigError)
    else:
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"config file {path} is TOML nested too deep") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold an object at the top level")
    return data
