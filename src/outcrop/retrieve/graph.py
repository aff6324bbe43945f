"""Entity graph channel: items naming the query's entities, then spreading activation.

Seeds are the items whose text matches the query's named entities (capitalised words and known
participants) lexically. Activation then spreads over provenance edges — ``derived_from`` in both
directions (a turn to the facts, episodes and topics drawn from it, and an item back to its
sources) — and over the links made at ingest between related facts (``Store.links``, scaled by
their weight), losing ``decay`` per hop, for at most ``hops`` hops. The channel costs one lexical
search plus three store reads per hop.
"""

from __future__ import annotations

import re

from outcrop.core.text import without_possessive
from outcrop.retrieve.channels import ChannelRequest
from outcrop.stores.base import ScoredId, Store

__all__ = ["GraphChannel", "query_entities"]

_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]+")
_SKIP = {"What", "When", "Where", "Who", "Why", "How", "Which", "Did", "Does", "Do", "Is", "Was", "Are", "The", "I"}


def query_entities(text: str, speakers: tuple[str, ...]) -> list[str]:
    """Named entities of a query: participants it names plus capitalised words past the first."""
    found = list(speakers)
    for m in _CAPITALISED.finditer(text):
        word = without_possessive(m.group())
        if word not in _SKIP and word not in found and m.start() > 0:
            found.append(word)
    return found


class GraphChannel:
    """Items sharing the query's entities and their provenance neighbours, by spreading activation."""

    name = "graph"

    def __init__(self, store: Store, hops: int = 1, decay: float = 0.5, seeds: int = 20) -> None:
        self.store = store
        self.hops = hops
        self.decay = decay
        self.seeds = seeds

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        entities = query_entities(request.query.text, request.query.speakers)
        if not entities:
            return []
        # seeds match the entities other than the participants when the query names one
        # (a participant's name is on most of their turns and selects nothing)
        others = [e for e in entities if e not in request.query.speakers]
        terms = {e.lower(): 1.0 for e in (others or entities)}
        seeds = self.store.lexical.search(request.scope, terms, self.seeds, request.filters)
        if not seeds:
            return []
        top = seeds[0][1] or 1.0
        activation = {item_id: score / top for item_id, score in seeds}
        frontier = dict(activation)
        for _ in range(self.hops):
            ids = list(frontier)
            spread: dict[str, float] = {}
            items = self.store.records.get_items(request.scope, ids)
            for item_id, item in items.items():
                for source in item.sources:
                    spread[source] = max(spread.get(source, 0.0), frontier[item_id] * self.decay)
            # derived_from does not say which parent a child came from: children get the
            # frontier's best activation, decayed twice so they rank under direct matches
            best_seed = max(frontier.values())
            for child in self.store.records.derived_from(request.scope, ids):
                spread[child] = max(spread.get(child, 0.0), best_seed * self.decay * self.decay)
            # links made at ingest (strata/links.py): related facts, weighted by their similarity
            for link in self.store.records.links(request.scope, ids):
                for here, there in ((link.src, link.dst), (link.dst, link.src)):
                    if here in frontier:
                        value = frontier[here] * self.decay * link.weight
                        spread[there] = max(spread.get(there, 0.0), value)
            frontier = {}
            for item_id, value in spread.items():
                if value > activation.get(item_id, 0.0):
                    activation[item_id] = value
                    frontier[item_id] = value
            if not frontier:
                break
        known = self.store.records.get_items(request.scope, list(activation))  # sources may be log ids
        ranked = sorted(((i, s) for i, s in activation.items() if i in known), key=lambda kv: (-kv[1], kv[0]))
        return ranked[: request.k]
