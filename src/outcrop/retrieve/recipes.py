"""Named retrieval recipes: ways to search, chosen by name through ``Memory.search(recipe=...)``.

The default recipe is the whole engine (every channel fused over every level, routed, zoomed,
gated). The others are the references the evaluation measures the engine against, and what a
caller reaches for when it wants a narrower search:

===============  ===========================================================================
recipe           what it searches
===============  ===========================================================================
``default``      the full pipeline with the configured channel weights, every level
``turns``        the full pipeline, L0 turns only (the engine without its strata)
``bm25``         the pipeline with BM25 alone, turns only
``dense``        the pipeline with the dense channel alone, turns only
``plain-hybrid`` the textbook turn-level hybrid: reciprocal-rank fusion (k = 60, equal weights)
                 of BM25 over each turn's own text (speaker and date, no neighbouring turns, no
                 feedback terms) and the dense cosine; no boosts, routing, strata or gate
===============  ===========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from outcrop.core.text import query_terms
from outcrop.core.types import Hit, Level, Scope
from outcrop.errors import InvalidInputError
from outcrop.providers.base import Embedder, first_window_only
from outcrop.retrieve.fusion import weighted_rrf
from outcrop.stores.base import SearchFilters, Store, VectorSpace

__all__ = ["RECIPES", "Recipe", "plain_hybrid", "recipe"]

_PLAIN_DEPTH = 100  # candidates per channel before fusion
_PLAIN_RRF_K = 60


@dataclass(frozen=True)
class Recipe:
    """A named search: channel weights for the pipeline (None: the configured ones) and the
    levels it draws from (empty: all), or ``plain`` for :func:`plain_hybrid` instead of the pipeline."""

    name: str
    description: str
    channels: dict[str, float] | None = None
    levels: tuple[Level, ...] = ()
    plain: bool = False

    def narrow(self, filters: SearchFilters | None) -> SearchFilters | None:
        """``filters`` restricted to this recipe's levels (a caller's own level filter wins)."""
        if not self.levels or (filters is not None and filters.levels):
            return filters
        return replace(filters or SearchFilters(), levels=self.levels)


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("default", "the full pipeline over every level"),
        Recipe("turns", "the full pipeline over L0 turns only", levels=(Level.TURN,)),
        Recipe("bm25", "BM25 alone over turns", channels={"bm25": 1.0}, levels=(Level.TURN,)),
        Recipe("dense", "the dense channel alone over turns", channels={"dense": 1.0}, levels=(Level.TURN,)),
        Recipe("plain-hybrid", "reciprocal-rank fusion of plain BM25 and dense over turns", plain=True),
    )
}


def recipe(name: str) -> Recipe:
    """The recipe called ``name``; :class:`InvalidInputError` names the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise InvalidInputError(f"unknown recipe {name!r}; expected one of: {', '.join(RECIPES)}") from None


def plain_hybrid(store: Store, embedder: Embedder, scope: Scope, query: str, limit: int) -> list[Hit]:
    """The ``plain-hybrid`` recipe (module docstring): what a turn-level hybrid retriever without
    any of outcrop's machinery finds."""
    turns = SearchFilters(levels=(Level.TURN,))
    terms = dict.fromkeys(query_terms(query), 1.0)
    lexical = store.lexical.search(scope, terms, _PLAIN_DEPTH, turns, 0.0)
    space = VectorSpace(embedder.id, embedder.dim)
    vector = first_window_only(embedder).embed([query])[0]  # a query from its first window, as the pipeline's
    dense = store.vectors.search(scope, space, vector, _PLAIN_DEPTH, turns)
    fused = weighted_rrf({"bm25": lexical, "dense": dense}, {"bm25": 1.0, "dense": 1.0}, _PLAIN_RRF_K)[:limit]
    items = store.records.get_items(scope, [item_id for item_id, _, _ in fused])
    return [Hit.from_item(items[i], score, {"channels": trace}) for i, score, trace in fused if i in items]
