"""The explain traces search and context attach to what they return: typed, so a reader (and
mypy) knows every key a trace may carry. Every key is optional: a trace holds what applied."""

from __future__ import annotations

from typing import (
    Any,
    NotRequired,  # pydantic validates only typing_extensions' TypedDict on 3.11
)

from typing_extensions import TypedDict

__all__ = ["ChannelRank", "ContextExplain", "Explain", "RerankTrace", "Stats", "StrengthTrace"]


class ChannelRank(TypedDict):
    """How one retrieval channel ranked a hit (rank from 1, the channel's own score)."""

    rank: int
    score: float


class StrengthTrace(TypedDict, total=False):
    """The memory-strength channel: retention after fading, its rank, and reads counted."""

    retention: float
    rank: int
    accesses: int


class RerankTrace(TypedDict):
    """A reranker's judgement of a hit it saw: its new and former rank, and whether it picked it;
    or, when it could not judge (its model failed), only why (``failed``: the fused order stands)."""

    by: str
    rank: NotRequired[int]
    was: NotRequired[int]
    picked: NotRequired[bool]
    failed: NotRequired[str]


class Explain(TypedDict, total=False):
    """How a hit was found and treated."""

    channels: dict[str, ChannelRank]  # channel name -> its rank and score
    rrf: float  # the fused reciprocal-rank score before boosts
    boosts: dict[str, float]  # speaker / time / level factors applied
    route: str  # the query kind the router chose
    query_ms: float  # time spent in retrieval, on the first hit
    strength: StrengthTrace
    reserved: str  # the channel that reserved this place in a context
    rerank: RerankTrace
    zoom_in: list[str]  # a coarse hit's supporting items, best first
    zoom_out: str  # a fine hit's session episode
    superseded_by: str | None  # the fact holding a newer value of this fact's slot
    valid_to: str | None  # when this fact's value stopped holding (ISO date-time)
    profile: bool  # a profile line offered first in a context
    zoom_in_of: bool  # a supporting turn brought in by a coarse hit
    zoom_of_page: str  # a supporting turn packed in place of this entity page (retrieve/pagezoom.py)
    line: str  # what a context's line shows instead of the text: a relation view's brief (retrieve/pagezoom.py)
    whole_scope: bool  # the whole scope fitted the budget: no retrieval


class ContextExplain(TypedDict, total=False):
    """How a context was assembled."""

    route: dict[str, object]  # the router's decision (kind, zoom, peak, level weights)
    confidence: dict[str, float]  # the gate's components
    widened: bool  # retrieval widened its channels after a weak first pass
    whole_scope: bool  # every turn of the scope fitted: no retrieval


class Stats(TypedDict):
    """What ``Memory.stats`` reports: the store and embedder in use, the tenant, counts per level
    (and ``log``), and the LLM's token ledger when one is configured."""

    store: str
    embedder: str
    tenant: str
    counts: dict[str, int]
    llm: NotRequired[dict[str, Any]]
