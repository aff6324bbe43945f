"""The focus channel: the question's own words, without its names, as a second dense query.

Embedded whole, "What European countries has Maria been to?" lies near turns that talk to or
about Maria (every turn of a two-person conversation does) and near other questions; its content
words without the participants' names and light verbs, "european countries", lie near what
answers it: "Last year I took a solo trip and took this pic in Spain". :func:`focus_text` gives
those words; :class:`FocusChannel` searches the dense space's stored vectors with their embedding
(one more query embedding of a few words; the pipeline asks the store for the dense and focus
rankings in one pass, ``VectorIndex.search_many``: on PostgreSQL a small scope's exact scan is most
of a dense search), and the relations channel compares the same words with its views' entries
(retrieve/relations.py).

LoCoMo dev (`outcrop eval locomo`, the whole file, the relations channel already matching entries
by meaning): R@10 79.0 → 79.8 at weight 0.2, multi-hop 55.0 → 56.2, open-domain 44.6 → 46.6,
temporal 86.6 → 87.7, single-hop 88.4 → 88.8, adversarial 64.9 → 77.6 (a question naming one
participant about what the other said), coverage @1000 81.0 → 81.3. On the stores of one run,
keeping the names in the text loses (78.5), and weighting the dense channel 0.4 instead of 0.2
loses too (78.2): it is the text without names that finds other turns, not more weight on the
dense ranking (docs/decisions.md, "Fusion and channels").
"""

from __future__ import annotations

from collections.abc import Collection

from outcrop.core.text import FILLER, content_terms, without_possessive
from outcrop.retrieve.channels import ChannelRequest, DenseChannel
from outcrop.retrieve.query import known_speakers
from outcrop.stores.base import ScoredId, Store

__all__ = ["FocusChannel", "focus_text"]

# verbs that carry no content of their own in a question ("what has X done", "where has X been")
_LIGHT = FILLER | frozenset("done do did does doing been has have had gone went go got get".split())


def focus_text(question: str, names: Collection[str]) -> str:
    """The content words of ``question`` without ``names`` (lower case) and light verbs, in order:
    "What martial arts has John done?" → "martial arts"; "" when none is left."""
    skip = {name.lower() for name in names}
    terms = (without_possessive(t) for t in content_terms(question))  # "Maria's dog": Maria's is a name
    return " ".join(t for t in terms if t not in skip and t not in _LIGHT)


class FocusChannel:
    """Dense search with :func:`focus_text` of the query (module docstring)."""

    name = "focus"

    def __init__(self, store: Store, dense: DenseChannel) -> None:
        self.store = store
        self.dense = dense

    def _text(self, request: ChannelRequest) -> str:
        return focus_text(request.query.text, known_speakers(self.store, request.scope, request.query))

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        focus = self._text(request)
        if not focus:
            return []
        vector = self.dense.query_vector(focus)
        return self.store.vectors.search(request.scope, self.dense.space, vector, request.k, request.filters)

    def search_with_dense(self, request: ChannelRequest) -> tuple[list[ScoredId], list[ScoredId]]:
        """The dense channel's ranking and this channel's, as their own searches give them, from one
        pass over the scope's vectors where the store can (``VectorIndex.search_many``: on
        PostgreSQL a small scope's exact scan is most of a dense search's cost)."""
        focus = self._text(request)
        if not focus:
            return self.dense.search(request), []
        queries = [self.dense.query_vector(request.query.text), self.dense.query_vector(focus)]
        dense, focused = self.store.vectors.search_many(
            request.scope, self.dense.space, queries, request.k, request.filters
        )
        return dense, focused
