"""The search pipeline: analyse → channels → weighted RRF → boosts → hits with explain traces."""

from __future__ import annotations

import time
from typing import Any

from memstrata.config import RetrievalConfig
from memstrata.core.types import Hit, Scope
from memstrata.providers.base import Embedder
from memstrata.retrieve.channels import BM25Channel, Channel, ChannelRequest, DenseChannel, RecencyChannel
from memstrata.retrieve.fusion import weighted_rrf
from memstrata.retrieve.query import QueryAnalysis, analyse_query
from memstrata.stores.base import SearchFilters, Store

__all__ = ["Retriever"]


class Retriever:
    def __init__(self, store: Store, embedder: Embedder, config: RetrievalConfig) -> None:
        self.store = store
        self.config = config
        self.channels: list[Channel] = [
            BM25Channel(store, config),
            DenseChannel(store, embedder),
            RecencyChannel(store),
        ]

    @property
    def max_boost(self) -> float:
        """The largest factor all boosts together can apply to one hit."""
        return self.config.speaker_boost

    def analyse(self, scope: Scope, query: str) -> QueryAnalysis:
        return analyse_query(query, self.store.speakers(scope))

    def search(
        self,
        scope: Scope,
        query: str,
        *,
        limit: int,
        filters: SearchFilters | None = None,
        weights: dict[str, float] | None = None,
    ) -> list[Hit]:
        started = time.perf_counter()
        analysis = self.analyse(scope, query)
        weights = weights if weights is not None else self.config.channel_weights
        request = ChannelRequest(scope=scope, query=analysis, filters=filters, k=max(self.config.candidates, limit))
        rankings = {c.name: c.search(request) for c in self.channels if weights.get(c.name, 0.0) > 0}
        fused = weighted_rrf(rankings, weights, self.config.rrf_k)[: request.k]
        if len(fused) > limit:
            # Boosts only multiply scores, so an item whose best boosted score stays under the
            # limit-th unboosted score can never enter the results: no need to load it.
            floor = fused[limit - 1][1] / self.max_boost
            fused = [entry for entry in fused if entry[1] >= floor]
        items = self.store.get_items(scope, [item_id for item_id, _, _ in fused])
        hits = []
        for item_id, score, trace in fused:
            item = items.get(item_id)
            if item is None:
                continue
            explain: dict[str, Any] = {"channels": trace, "rrf": round(score, 6)}
            boosts = {}
            if len(analysis.speakers) == 1 and item.speaker == analysis.speakers[0]:
                boosts["speaker"] = self.config.speaker_boost
            for factor in boosts.values():
                score *= factor
            if boosts:
                explain["boosts"] = boosts
            hits.append(Hit.from_item(item, score, explain))
        hits.sort(key=lambda h: (-h.score, h.id))
        elapsed = (time.perf_counter() - started) * 1000
        for hit in hits:
            hit.explain["query_ms"] = round(elapsed, 2)
        return hits[:limit]
