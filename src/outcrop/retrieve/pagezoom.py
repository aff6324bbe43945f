"""Zoom from an entity page to the turns behind its lines, for a context.

A page (strata/pages.py) lists up to a dozen dated lines about one thing; packed whole it crowds a
1000-token context (LoCoMo: coverage 81.5 → 80.2 with pages on), and when it does not fit, the
turns it carries are lost too (search drops hits whose turns a better hit carries). What a question
needs of a page is the few lines that answer it: in a context, a page is replaced, at its rank, by
its first ``turns`` supporting turns in the order retrieval ranked them for the question
(``explain["zoom_in"]``, retrieve/zoom.py). Search still returns the page itself.

A relation view ("Melanie — does: swimming with family (said 8 May 2023), violin (said …), …")
is a list that a list question asks for whole ("What activities has Melanie done with her
family?"): for such a question (``brief``: a list, no date asked or named) its line in a context is
the view without the dates it was said (``RelationPayload.brief``, a third of the tokens; the hit's
``explain["line"]``, the item unchanged), followed by its supporting turns, which the packer takes
only where the line did not fit (the line carries them). LoCoMo dev: coverage @1000 81.8 → 82.9,
answer words unchanged (docs/decisions.md). For any other question the view gives way to its turns,
whose dates a question about time needs.
"""

from __future__ import annotations

from outcrop.core.payloads import RelationPayload, TopicPayload
from outcrop.core.types import Hit, Level, Scope
from outcrop.retrieve.relations import may_lead
from outcrop.stores.base import Store

__all__ = ["is_page", "zoom_pages"]


# strata/pages.py, strata/relations.py, strata/entity_pages.py, strata/traits.py
_PAGES = frozenset({"page", "relation", "entity", "trait"})


def is_page(hit: Hit) -> bool:
    """A page, a relation view or an entity page: a list of lines a context zooms into."""
    return hit.level == Level.TOPIC and TopicPayload.from_metadata(hit.metadata).kind in _PAGES


def zoom_pages(store: Store, scope: Scope, hits: list[Hit], turns: int, *, brief: bool = False) -> list[Hit]:
    """``hits`` with each page replaced by up to ``turns`` of its supporting turns; with ``brief``, a
    relation view's brief line first (module docstring)."""
    pages = [h for h in hits if is_page(h)]
    if not pages or turns <= 0:
        return hits
    present = {h.id: h for h in hits}
    wanted = {s: page for page in pages for s in page.explain.get("zoom_in", [])[:turns]}
    loaded = store.records.get_items(scope, [s for s in wanted if s not in present])
    out: list[Hit] = []
    placed: set[str] = set()
    for hit in hits:
        group = [hit]
        if hit.id in {p.id for p in pages}:
            group = []
            relation = RelationPayload.of(hit) if brief and may_lead(hit) else None
            if relation is not None and relation.entries:
                group.append(hit.model_copy(update={"explain": {**hit.explain, "line": relation.brief()}}))
            for source in hit.explain.get("zoom_in", [])[:turns]:
                if source in present:
                    group.append(present[source])
                elif source in loaded and loaded[source].level == Level.TURN:
                    group.append(Hit.from_item(loaded[source], hit.score, {"zoom_of_page": hit.id}))
        for one in group:
            if one.id not in placed:
                placed.add(one.id)
                out.append(one)
    return out
