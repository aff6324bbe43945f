"""The search pipeline: analyse → channels → weighted RRF → route levels → boosts → de-duplicate
across levels → zoom → confidence gate (widen when low) → hits with explain traces."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from outcrop.config import RetrievalConfig
from outcrop.core.explain import Explain
from outcrop.core.time.clock import now as wall_now
from outcrop.core.types import Hit, Item, Level, Scope
from outcrop.providers.base import Embedder, first_window_only
from outcrop.retrieve.channels import (
    BM25Channel,
    Channel,
    ChannelRequest,
    DenseChannel,
    RecencyChannel,
    TurnDenseChannel,
)
from outcrop.retrieve.feedback import FeedbackChannel
from outcrop.retrieve.focus import FocusChannel
from outcrop.retrieve.fusion import weighted_rrf
from outcrop.retrieve.gate import Confidence, estimate_confidence
from outcrop.retrieve.graph import GraphChannel
from outcrop.retrieve.hops import HopChannel
from outcrop.retrieve.pages import PageChannel
from outcrop.retrieve.pagezoom import is_page
from outcrop.retrieve.query import QueryAnalysis, analyse_query
from outcrop.retrieve.relations import RelationChannel, asks_for_a_list, may_lead
from outcrop.retrieve.reserve import reserve_places
from outcrop.retrieve.reuse import active_reuse
from outcrop.retrieve.router import QueryKind, Route, is_coarse, route
from outcrop.retrieve.temporal import TemporalChannel, newest_time
from outcrop.retrieve.traits import TraitChannel, is_trait_view
from outcrop.retrieve.zoom import annotate_zoom, deduplicate, has_time
from outcrop.stores.base import SearchFilters, Store
from outcrop.truth.strength import AccessTracker, apply_strength

__all__ = ["ANSWERABLE_AT", "Retrieval", "Retriever", "keep_first"]


@dataclass
class Retrieval:
    """What one search found: hits best first, the route taken and the confidence estimate."""

    hits: list[Hit]
    route: Route
    confidence: Confidence
    widened: bool = False

    @property
    def answerable(self) -> bool:
        return self.confidence.score >= ANSWERABLE_AT


ANSWERABLE_AT = 0.5


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig) -> None:
        self.store = store
        self.config = config
        # a query is read from its first window: a 32,000-character one costs 39 ms, not 1.1 s
        self.dense = DenseChannel(store, first_window_only(embedder))
        # relation views and entity pages the query names, then their turns (strata/relations.py)
        self.relations = RelationChannel(
            store,
            views=config.relation_views,
            turns=config.relation_turns,
            dense=self.dense,
            entry_weight=config.relation_entry_weight,
            entry_floor=config.relation_entry_floor,
        )
        # the question's words without its names, a second dense query (retrieve/focus.py)
        self.focus = FocusChannel(store, self.dense)
        # an inference question's participant: their trait views' turns (strata/traits.py)
        self.traits = TraitChannel(store, turns=config.trait_turns, dense=self.dense, views=config.trait_views)
        self.channels: list[Channel] = [
            BM25Channel(store, config),
            self.dense,
            RecencyChannel(store),
            TemporalChannel(store, config),  # abstains on queries without a time constraint
            GraphChannel(store),  # runs only when channel_weights names "graph"
            PageChannel(store),  # entity pages the query names (strata/pages.py)
            self.relations,
            self.traits,
            self.focus,
            TurnDenseChannel(store, self.dense),  # in contexts by default (retrieval.context_dense_turns)
        ]
        # a second hop through the names the first pass's best hits carry (runs when "hops" has a weight)
        self.hops = HopChannel(store, seeds=config.hop_seeds, bridges=config.hop_bridges)
        # the query's vector moved toward the first pass's best hits (runs when "feedback" has a
        # weight: in contexts by default, retrieval.context_feedback)
        self.feedback = FeedbackChannel(store, self.dense, docs=config.feedback_docs, shift=config.feedback_shift)
        self.accesses: AccessTracker | None = None  # set by Memory: reads slow fading (truth/strength.py)

    @property
    def max_boost(self) -> float:
        """The largest factor all boosts together can apply to one hit."""
        return self.config.speaker_boost * self.config.time_boost * 1.3 * 1.3

    def analyse(self, scope: Scope, query: str) -> QueryAnalysis:
        known = tuple(self.store.records.speakers(scope))
        return replace(analyse_query(query, known), known=known, lists=asks_for_a_list(query))

    def search(
        self,
        scope: Scope,
        query: str,
        *,
        limit: int,
        filters: SearchFilters | None = None,
        weights: dict[str, float] | None = None,
    ) -> list[Hit]:
        widen = self.config.widen_search
        return self.retrieve(scope, query, limit=limit, filters=filters, weights=weights, widen=widen).hits

    def retrieve(
        self,
        scope: Scope,
        query: str,
        *,
        limit: int,
        filters: SearchFilters | None = None,
        weights: dict[str, float] | None = None,
        widen: bool = True,
        reserve: int = 0,
        zoom_pages: bool = False,
    ) -> Retrieval:
        """``zoom_pages``: entity pages do not hide the turns they carry (a context packs some of
        those turns in a page's place: retrieve/pagezoom.py). ``widen``: run a deeper second pass when the confidence gate is under its threshold.
        ``reserve``: places after the first ``config.reserve_after`` hits kept for the dense
        channel's best matches (retrieve/reserve.py); for contexts, which are sets, not rankings."""
        started = time.perf_counter()
        if (weights if weights is not None else self.config.channel_weights).get(self.dense.name, 0.0) > 0:
            self.dense.prefetch(query)  # embedded beside the statements that come first
        analysis = self.analyse(scope, query)
        clock = self._clock(scope) if self.config.strength_weight > 0 else None  # once, for both passes
        result = self._pass(
            scope, analysis, limit, filters, weights, self.config.candidates, clock, reserve, zoom_pages
        )
        if widen and not result.confidence.score >= self.config.gate_threshold and self.config.gate_widen > 1:
            depth = self.config.candidates * self.config.gate_widen
            wider = self._pass(scope, analysis, limit, filters, weights, depth, clock, reserve, zoom_pages)
            wider.widened = True
            result = wider
        elapsed = (time.perf_counter() - started) * 1000
        for hit in result.hits:
            hit.explain["query_ms"] = round(elapsed, 2)
        result.hits = self._reorder(query, result.hits)
        return result

    def _reorder(self, query: str, hits: list[Hit]) -> list[Hit]:
        """The final order of ``hits``: as fused here; a subclass may rerank them."""
        return hits

    def _pass(
        self,
        scope: Scope,
        analysis: QueryAnalysis,
        limit: int,
        filters: SearchFilters | None,
        weights: dict[str, float] | None,
        depth: int,
        clock: datetime | None,
        reserve: int = 0,
        zoom_pages: bool = False,
    ) -> Retrieval:
        weights = weights if weights is not None else self.config.channel_weights
        request = ChannelRequest(scope=scope, query=analysis, filters=filters, k=max(depth, limit))
        reuse = active_reuse()  # an evaluation asking the same query several ways (retrieve/reuse.py)
        # the dense and focus queries share one pass over the scope's vectors (an evaluation's reuse
        # keeps each channel's own ranking: the same rankings either way)
        joint = None
        if not reuse and weights.get(self.dense.name, 0.0) > 0 and weights.get(self.focus.name, 0.0) > 0:
            joint = dict(zip((self.dense.name, self.focus.name), self.focus.search_with_dense(request), strict=True))
        rankings = {
            c.name: joint[c.name]
            if joint is not None and c.name in joint
            else reuse.ranking(c, request, partial(c.search, request))
            if reuse
            else c.search(request)
            for c in self.channels
            if weights.get(c.name, 0.0) > 0
        }
        # channels that start from the first pass's fused order: the bridge-entity hop, dense feedback
        second = [c for c in (self.hops, self.feedback) if weights.get(c.name, 0.0) > 0]
        if second:
            first = [(item_id, score) for item_id, score, _ in weighted_rrf(rankings, weights, self.config.rrf_k)]
            for channel in second:
                rankings[channel.name] = channel.search(request, first)
        dense_order = [item_id for item_id, _ in rankings.get("dense", [])[:reserve]]
        # an inference question's trait turns: places in the first hits (retrieve/traits.py)
        trait_order = [i for i, _ in rankings.get(self.traits.name, []) if i.startswith(Level.TURN.prefix + "_")]
        trait_order = trait_order[: self.config.trait_places]
        # the relations channel's views (a list question): the first that may lead are placed among
        # the first hits below, so fusion's cut must not drop one that no other channel ranks high
        # (docs/decisions.md)
        view_order = [i for i, _ in rankings.get(self.relations.name, []) if i.startswith(Level.TOPIC.prefix + "_")]
        views_read: dict[str, Item] = {}
        if view_order and self.config.relation_view_place:
            views_read = self.store.records.get_items(scope, view_order)
            view_order = [i for i in view_order if i in views_read and may_lead(views_read[i])]
            view_order = view_order[: self.config.relation_view_count]
        reserved = set(dense_order) | set(trait_order) | set(view_order)
        fused = [
            entry
            for position, entry in enumerate(weighted_rrf(rankings, weights, self.config.rrf_k))
            if position < request.k or entry[0] in reserved
        ]
        # Load generously: dedup across levels may drop hits, and boosts reorder within a bound.
        keep = limit * 3
        if len(fused) > keep:
            floor = fused[keep - 1][1] / self.max_boost
            fused = [entry for entry in fused if entry[1] >= floor or entry[0] in reserved]
        items = views_read | self.store.records.get_items(scope, [i for i, _, _ in fused if i not in views_read])
        fine = [score for item_id, score, _ in fused if item_id in items and not is_coarse(items[item_id].level)]
        chosen_route = route(analysis.text, fine)
        hits = []
        without: dict[str, float] = {}  # each hit's score without the relations channel's turns
        relation_weight = weights.get(self.relations.name, 0.0)
        lifted = False
        for item_id, score, trace in fused:
            item = items.get(item_id)
            if item is None or (is_trait_view(item) and self.traits.name not in trace):
                continue  # a trait view answers the inference questions the traits channel reads it for
            explain: Explain = {"channels": trace, "rrf": round(score, 6)}
            boosts = self._boosts(item, analysis, chosen_route)
            # a view may lead (it carries the list); a turn the channel lists may not displace the best match
            ranked = trace.get(self.relations.name) if item.level == Level.TURN else None
            base = score - (relation_weight / (self.config.rrf_k + ranked["rank"]) if ranked else 0.0)
            lifted = lifted or ranked is not None
            for factor in boosts.values():
                score *= factor
                base *= factor
            if boosts:
                explain["boosts"] = boosts
            hits.append(Hit.from_item(item, score, explain))
            without[item_id] = base
        hits.sort(key=lambda h: (-h.score, h.id))
        if clock is not None:
            hits = self._strengthen(scope, analysis, hits, clock)
        if lifted:  # the relations channel listed a turn: it does not take the first place
            hits = keep_first(hits, without, self.config.relation_keep_first)
        if trait_order:
            hits = reserve_places(hits, trait_order, self.config.trait_after, self.traits.name)
        views = [i for i, _ in rankings.get(self.relations.name, []) if i in items and may_lead(items[i])]
        if self.config.relation_view_place:  # the list's best views join the first places (a context's too)
            for n, view_id in enumerate(views[: self.config.relation_view_count]):
                hits = place_view(hits, view_id, self.config.relation_view_place + 2 * n)
        if dense_order:
            hits = reserve_places(hits, dense_order, self.config.reserve_after, "dense")
        hits = deduplicate(hits, limit, transparent=is_page if zoom_pages else None)
        # in fused order: zoom_in lists a coarse hit's supporting turns as the query ranked them
        # (the store returns items in its own row order)
        annotate_zoom(hits, {item_id: items[item_id] for item_id, _, _ in fused if item_id in items})
        for hit in hits:
            hit.explain["route"] = chosen_route.kind.value
        confidence = estimate_confidence(analysis, hits)
        return Retrieval(hits, chosen_route, confidence)

    def _strengthen(self, scope: Scope, analysis: QueryAnalysis, hits: list[Hit], clock: datetime) -> list[Hit]:
        """The forgetting curve (truth/strength.py): older, never-read, unimportant items score lower;
        faded ones leave the results unless the query quotes a phrase or names a time."""
        ids = [h.id for h in hits if h.timestamp is not None]
        accesses = self.accesses.counts(scope, ids) if self.accesses is not None else {}
        return apply_strength(
            hits,
            analysis.text,
            clock,
            accesses=accesses,
            weight=self.config.strength_weight,
            faded_below=self.config.faded_below,
            half_life_days=self.config.half_life_days,
            rrf_k=self.config.rrf_k,
        )

    def _clock(self, scope: Scope) -> datetime | None:
        """Now, on the configured clock: the newest item time of the user's memory, or the wall clock."""
        if self.config.strength_clock == "wall":
            return wall_now()
        return newest_time(self.store, scope.owner)

    def _boosts(self, item: Item, analysis: QueryAnalysis, chosen: Route) -> dict[str, float]:
        boosts: dict[str, float] = {}
        if analysis.subject is not None and item.speaker == analysis.subject:
            boosts["speaker"] = self.config.speaker_boost
        if chosen.kind == QueryKind.WHEN and has_time(item):
            boosts["time"] = self.config.time_boost
        level_weight = chosen.weights.get(item.level, 1.0)
        if level_weight != 1.0:
            boosts["level"] = level_weight
        return boosts


def place_view(hits: list[Hit], view_id: str, place: int) -> list[Hit]:
    """``hits`` with ``view_id`` moved up to ``place`` (1-based) when it ranks below it: on a list
    question the relations channel's best view carries the list's turns (docs/decisions.md)."""
    index = next((i for i, h in enumerate(hits) if h.id == view_id), None)
    if index is None or index < place:
        return hits
    view = hits[index]
    rest = [h for h in hits if h.id != view_id]
    return [*rest[: place - 1], view, *rest[place - 1 :]]


def keep_first(hits: list[Hit], without: dict[str, float], first: int) -> list[Hit]:
    """``hits`` with the ``first`` best of them by ``without`` (their scores without what the
    relations channel gave turns) moved to the front, in that order: the channel lists a view's
    turns for a list question, and one of them must not displace the best match of the question's
    own words (R@1 +1.3 on LoCoMo dev; docs/decisions.md)."""
    if first <= 0 or not hits:
        return hits
    pinned = sorted(hits, key=lambda h: (-without.get(h.id, h.score), h.id))[:first]
    ids = {h.id for h in pinned}
    return [*pinned, *(h for h in hits if h.id not in ids)]
