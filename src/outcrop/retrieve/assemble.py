"""Assemble the cited context for a question: retrieval, the participants' profile lines, the
turns that support coarse hits, current truth, then packing under the token budget.

A small memory needs no retrieval: when every turn of the scope fits the budget (and no filter
narrows it), the whole scope is the context (``complete``).
"""

from __future__ import annotations

from outcrop.config import RetrievalConfig
from outcrop.core.payloads import ProfilePayload
from outcrop.core.time.windows import parse_window
from outcrop.core.types import Context, Hit, Level, Scope
from outcrop.retrieve.context import pack_context
from outcrop.retrieve.pagezoom import zoom_pages
from outcrop.retrieve.pipeline import Retriever
from outcrop.retrieve.quarantine import without_quarantined
from outcrop.retrieve.query import asks_about_time
from outcrop.retrieve.relations import asks_for_a_list
from outcrop.stores.base import SearchFilters, Store
from outcrop.truth.readtime import truth_view

__all__ = ["assemble_context"]

_PROFILE_LINES = 200  # profile lines read per scope (the packer keeps at most a fifth of the budget)
_TOKENS_PER_TURN = 5  # the least a turn line costs ([n], a speaker, a word): the whole-scope pre-check


def assemble_context(
    store: Store,
    retriever: Retriever,
    config: RetrievalConfig,
    scope: Scope,
    query: str,
    max_tokens: int,
    filters: SearchFilters | None = None,
) -> Context:
    """The context for ``query`` in ``scope`` within ``max_tokens`` (``filters.as_of``: as memory
    held it then)."""
    if filters is None or filters.empty:
        whole = _whole_scope(store, scope, query, max_tokens, quarantine=config.quarantine != "off")
        if whole is not None:
            return whole
    moment = filters.as_of if filters is not None else None
    # a context is a set: it fuses what lies beside its first hits too (retrieve/feedback.py), at its
    # own weight (0: off), and only where the dense channel runs
    weights = dict(config.channel_weights)
    weights["feedback"] = config.context_feedback if weights.get("dense", 0.0) > 0 else 0.0
    # and the dense ranking over turns alone, which restating facts do not crowd (retrieve/channels.py)
    weights["dense_turns"] = config.context_dense_turns if weights.get("dense", 0.0) > 0 else 0.0
    retrieval = retriever.retrieve(
        scope,
        query,
        limit=min(1000, max(50, max_tokens // 10)),
        filters=filters,
        weights=weights,
        reserve=config.context_dense_reserve,
        zoom_pages=config.page_zoom > 0,
    )
    analysis = retriever.analyse(scope, query)
    if config.page_zoom > 0:  # a page's lines that answer, not its whole text (retrieve/pagezoom.py)
        brief = asks_for_a_list(query) and not analysis.temporal and parse_window(query) is None
        retrieval.hits = zoom_pages(store, scope, retrieval.hits, config.page_zoom, brief=brief)
    named = analysis.speakers
    profile = [
        Hit.from_item(item, 0.0, {"profile": True})
        for item in store.records.list_items(scope.owner, levels=[Level.PROFILE], limit=_PROFILE_LINES)
        if (not named or item.speaker in named)
        and (moment is None or (item.updated_at or item.recorded_at or moment) <= moment)  # as_of: no later profile
    ]
    profile.sort(key=lambda h: -ProfilePayload.of(h).support)
    wanted = [s for h in retrieval.hits for s in h.explain.get("zoom_in", [])]
    support = {
        item.id: Hit.from_item(item, 0.0, {"zoom_in_of": True})
        for item in store.records.get_items(scope, wanted).values()
    }
    hits = truth_view(store, scope, retrieval.hits, as_of=moment, superseded_weight=config.superseded_weight)
    if config.quarantine != "off":  # flagged items, and what carries them, stay out
        hits = without_quarantined(store, scope, hits)
        profile = without_quarantined(store, scope, profile)
        support = {h.id: h for h in without_quarantined(store, scope, list(support.values()))}
    participants = (analysis.known or ()) if config.context_small_talk else ()
    context = pack_context(
        query,
        hits,
        max_tokens,
        profile=profile,
        support=support,
        participants=participants,
        dates_resolved=analysis.temporal,
    )
    context.confidence = round(retrieval.confidence.score, 4)
    context.answerable = retrieval.answerable and bool(context.items)  # a budget too small for one line
    context.explain = {
        "route": retrieval.route.explain(),
        "confidence": retrieval.confidence.explain(),
        "widened": retrieval.widened,
    }
    return context


def _whole_scope(store: Store, scope: Scope, query: str, max_tokens: int, *, quarantine: bool) -> Context | None:
    turns = store.records.count_level(scope, Level.TURN)
    if turns == 0 or turns * _TOKENS_PER_TURN > max_tokens:
        return None
    items = store.records.list_items(scope, levels=[Level.TURN], limit=turns)
    hits = [Hit.from_item(item, 1.0, {"whole_scope": True}) for item in items]
    if quarantine:
        hits = without_quarantined(store, scope, hits)
    context = pack_context(query, hits, max_tokens, dates_resolved=asks_about_time(query))
    if len(context.items) < len(hits):
        return None
    context.confidence, context.answerable, context.complete = 1.0, True, True
    context.explain = {"whole_scope": True}
    return context
