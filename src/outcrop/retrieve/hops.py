"""Multi-hop retrieval by bridge entities: the first hop's hits → the names they carry → a second hop.

"What did Audrey say about Pixie's vet visit?" and "What are the breeds of Audrey's dogs?" share no
word with "Pixie is such a cuddle bug"; the turn where Audrey adopted "a puppy named Pixie" does
share "dog" with the question. The walk: take the best ``seeds`` fused hits of the first pass, read
the names they carry (capitalised words of their text past a sentence's start, the entities of the
facts drawn from them, the aliases of the entity pages built on them), keep the ``bridges`` names
the seeds carry most (weighted by 1 / rank, never a participant or a word of the query), and search
BM25 for those names alone: the second hop. The entity pages built on the seeds join the ranking
too. Seeds themselves are left out (the first pass has them).

Bounded cost: two store reads (the seeds and what was derived from them) and one BM25 search of at
most ``bridges`` terms. The channel walks the derived levels, so it abstains when filters narrow
the search (a turns-only recipe, a session, a time window).
"""

from __future__ import annotations

import re
from collections import defaultdict

from outcrop.core.payloads import FactPayload, TopicPayload
from outcrop.core.text import FILLER, STOPWORDS, named_words, without_possessive, words
from outcrop.core.types import Item, Level
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.query import known_speakers
from outcrop.stores.base import ScoredId, Store

__all__ = ["HopChannel", "bridge_names", "related_objects"]

_NAME = re.compile(r"\b[A-Z][a-z][\w'’-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)$")
_NOT_NAMES = {"i'm", "i've", "i'll", "i'd", "hey", "wow", "thanks", "yeah", "yes", "oh", "haha", "omg", "ok", "okay"}


def bridge_names(item: Item, derived: list[Item]) -> list[str]:
    """The names ``item`` carries: capitalised words past a sentence's start, its facts'
    entities, its pages' names."""
    found: dict[str, None] = {}
    text = item.text.strip()
    for match in _NAME.finditer(text):
        if not _SENTENCE_START.search(text[: match.start()]):
            found.setdefault(without_possessive(match.group()))
    for child in derived:
        if child.level == Level.FACT:
            found.update(dict.fromkeys(FactPayload.of(child).entities))
        elif child.level == Level.TOPIC:
            page = TopicPayload.from_metadata(child.metadata)
            if page.kind in ("page", "entity"):
                found.update(dict.fromkeys(page.entities))
            elif page.kind == "relation":  # the objects this item's statements relate its subject to
                found.update(dict.fromkeys(related_objects(child, item.id)))
    return list(found)


def related_objects(view: Item, source: str) -> list[str]:
    """The named objects of a relation view's entries said in ``source`` (strata/relations.py):
    "Audrey — owns: dog: Pixie" gives "Pixie" for the turn where she adopted Pixie."""
    out = []
    for entry in view.metadata.get("entries") or []:
        obj = str(entry.get("object") or "").strip('"')
        if obj[:1].isupper() and source in (entry.get("sources") or []) + (entry.get("facts") or []):
            out.append(obj)
    return out


class HopChannel:
    """Second hop through the names the first hop's best hits carry (module docstring)."""

    name = "hops"

    def __init__(self, store: Store, seeds: int = 5, bridges: int = 3) -> None:
        self.store = store
        self.seeds = seeds
        self.bridges = bridges

    def search(self, request: ChannelRequest, first: list[ScoredId] | None = None) -> list[ScoredId]:
        if not first or (request.filters is not None and not request.filters.empty):
            return []
        scope = request.scope
        seed_ids = [item_id for item_id, _ in first[: self.seeds]]
        seeds = self.store.records.get_items(scope, seed_ids)
        derived_ids = self.store.records.derived_from(scope, seed_ids)
        derived = self.store.records.get_items(scope, derived_ids)
        children: dict[str, list[Item]] = defaultdict(list)
        pages: dict[str, float] = {}
        for child in derived.values():
            for source in child.sources:
                if source in seeds:
                    children[source].append(child)
        said = named_words(request.query.text)
        skip = said | {s.lower() for s in known_speakers(self.store, scope, request.query)} | _NOT_NAMES
        weight: dict[str, float] = defaultdict(float)
        for rank, item_id in enumerate(seed_ids):
            item = seeds.get(item_id)
            if item is None:
                continue
            for child in children[item_id]:
                if child.level == Level.TOPIC and TopicPayload.from_metadata(child.metadata).kind in ("page", "entity"):
                    pages[child.id] = max(pages.get(child.id, 0.0), 1.0 / (rank + 1))
            for name in bridge_names(item, children[item_id]):
                parts = [w for w in words(name) if w not in STOPWORDS and w not in FILLER and len(w) > 2]
                if parts and not any(p in skip for p in parts):
                    weight[" ".join(parts)] += 1.0 / (rank + 1)
        chosen = sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[: self.bridges]
        scores: dict[str, float] = {}
        if chosen:
            terms: dict[str, float] = {}
            for name, w in chosen:
                for part in name.split():
                    terms[part] = max(terms.get(part, 0.0), w)
            for item_id, score in self.store.lexical.search(scope, terms, request.k, None):
                if item_id not in seeds:
                    scores[item_id] = score
        top = max(scores.values(), default=1.0)
        for page_id, value in pages.items():  # a page on a seed: as strong as the best second-hop hit
            if page_id not in seeds:
                scores[page_id] = max(scores.get(page_id, 0.0), top * value)
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[: request.k]
