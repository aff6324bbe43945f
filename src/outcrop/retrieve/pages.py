"""Entity page channel: a query naming a participant and one of their things reaches its page.

"What are the breeds of Audrey's dogs?" names Audrey and "dogs"; the page "Audrey's dogs (Pixie,
…)" (strata/pages.py) joins what she said of them across sessions, in words the question may not
share with any one turn. A page is a candidate when the query names its owner and its thing
(singular or plural) or one of its aliases; pages naming more of the query rank first. The channel
reads the owner scope's pages (a few dozen items) and abstains when filters narrow the search
(a page spans sessions, speakers and time).
"""

from __future__ import annotations

from outcrop.core.payloads import TopicPayload
from outcrop.core.text import named_words
from outcrop.core.types import Level
from outcrop.retrieve.channels import ChannelRequest
from outcrop.stores.base import ScoredId, SearchFilters, Store

__all__ = ["PageChannel"]


class PageChannel:
    name = "pages"

    def __init__(self, store: Store) -> None:
        self.store = store

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        filters = request.filters
        if filters is not None and not filters.empty and filters.levels != (Level.TOPIC,):
            return []
        said = named_words(request.query.text)
        if not said:
            return []
        scored: list[ScoredId] = []
        pages_only = SearchFilters(metadata={"kind": "page"})  # read in SQL: topics that are not pages stay there
        for page in self.store.records.iter_items(request.scope.owner, levels=[Level.TOPIC], filters=pages_only):
            payload = TopicPayload.from_metadata(page.metadata)
            if payload.kind != "page" or not payload.owner or not payload.thing:
                continue
            if payload.owner.lower() not in said:
                continue
            thing = payload.thing in said or any(form in said for form in payload.forms)
            aliases = sum(1 for a in payload.entities[1:] if a.lower() in said)
            if thing or aliases:
                scored.append((page.id, float(thing) + 0.5 * aliases))
        scored.sort(key=lambda s: (-s[1], s[0]))
        return scored[: request.k]
