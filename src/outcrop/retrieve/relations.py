"""Relation channel: a query naming a subject and a relation reaches its view, then the view's turns.

"What has Melanie painted?" names Melanie and a word of ``made`` ("painted"); the view "Melanie —
made: a painting of a sunset (said …), a bowl (said …)" (strata/relations.py) joins what she said
she made across sessions, and its source turns are where those statements were said. A view is a
candidate when the query names its subject and either a word of its relation (a cue: "pets",
"events", "painted", "books", "trip", …) or a word of its objects ("LGBTQ" in "What LGBTQ+
events…"); an entity page (strata/entity_pages.py) is one when the query names its entity. Views
naming more of the query rank first.

The channel then lists the source turns of its best ``views`` views that share a word (by stem)
with the query, at most ``turns`` of them, those of the entries whose object the query names first: recall is counted in turns, and a turn
that says "Pixie is such a cuddle bug" only reaches "breeds of Audrey's dogs" through the view
that joined it to the adoption. A view or page is also a hit of its own (a context zooms into its
turns: retrieve/pagezoom.py).

Bounded cost: one read of the scope's views and entity pages (a few dozen items per subject) and
one read of at most ``views`` views' source turns. The channel abstains when filters narrow the
search (a view spans sessions, speakers and time).
"""

from __future__ import annotations

from collections.abc import Iterable

from outcrop.core.text import content_terms, words
from outcrop.core.types import Item, Level
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.query import known_speakers
from outcrop.stores.base import ScoredId, SearchFilters, Store

__all__ = ["CUES", "RelationChannel", "stem"]


def stem(word: str) -> str:
    """A crude stem that meets a word's common forms ("painted", "painting", "paints" → "paint";
    "baked", "bakes" → "bak"; "events" → "event")."""
    w = word.lower()
    for suffix in ("ing", "ed", "ies", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            w = w[: -len(suffix)]
            break
    return w[:-1] if w.endswith("e") and len(w) > 3 else w


def _stems(values: Iterable[str]) -> frozenset[str]:
    return frozenset(stem(v) for v in values)


# words a question uses for each relation
_CUE_WORDS: dict[str, tuple[str, ...]] = {
    "owns": tuple(
        "pet pets dog dogs puppy puppies cat cats kitten bird fish turtle rabbit bunny hamster horse breed "
        "breeds animal animals owns own adopted".split()
    ),
    "family": tuple(
        "family kids children child son sons daughter daughters husband wife partner brother sister siblings "
        "parents mom mother dad father grandma grandmother grandpa relatives cousin married".split()
    ),
    "works_at": tuple("work works worked job jobs company employer employed career hired intern".split()),
    "visited": tuple(
        "visit visited visiting trip trips travel traveled travelled places countries cities been went toured "
        "vacation vacations explored".split()
    ),
    "moved_to": tuple("moved move moving live lives lived relocate relocated".split()),
    "recommended": tuple("recommend recommended recommendation suggest suggested suggestion advice".split()),
    "read": tuple("read reads reading book books novel novels author".split()),
    "made": tuple(
        "made make making painted paint painting paintings baked bake recipes recipe cooked cook built build "
        "wrote write written drew draw drawing created create art artwork crafts pottery knitted sculpture song "
        "songs".split()
    ),
    "gave": tuple("gave give given gift gifts present presents donated".split()),
    "bought": tuple("bought buy buying purchased purchase items ordered".split()),
    "attended": tuple(
        "events event attended attend participated participate joined join activities classes class workshop "
        "workshops conference festival festivals race races concert concerts competition competitions group "
        "groups meetings volunteered hosted organized".split()
    ),
    "met": tuple("met meet meeting people friend friends".split()),
    "plans": tuple("plan plans planned planning future upcoming intend intends going next goal goals".split()),
    "does": tuple(
        "activities activity hobby hobbies partake pastime pastimes sport sports destress de-stress relax unwind fun "
        "weekends exercise outdoors camped camping hiking hikes hike".split()
    ),
    "likes": tuple("like likes love loves enjoy enjoys interests interested passionate fan favorite favourite".split()),
}
CUES: dict[str, frozenset[str]] = {relation: _stems(cues) for relation, cues in _CUE_WORDS.items()}  # by stem


class RelationChannel:
    """Relation views and entity pages the query names, then their source turns (module docstring)."""

    name = "relations"

    def __init__(self, store: Store, views: int = 3, turns: int = 20) -> None:
        self.store = store
        self.views = views
        self.turns = turns

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        filters = request.filters
        if filters is not None and not filters.empty:
            return []
        said = {w.removesuffix("'s").removesuffix("’s") for w in words(request.query.text)}
        people = {s.lower() for s in known_speakers(self.store, request.scope, request.query)}
        terms = {stem(t.removesuffix("'s")) for t in content_terms(request.query.text)} - {stem(p) for p in people}
        if not said or not terms:
            return []
        scored: list[tuple[float, str, Item, frozenset[str]]] = []
        owner = request.scope.owner
        for kind in ("relation", "entity"):
            for view in self.store.records.iter_items(
                owner, levels=[Level.TOPIC], filters=SearchFilters(metadata={"kind": kind})
            ):
                found = _match(view, said, terms)
                if found is not None:
                    scored.append((found[0], view.id, view, found[1]))
        if not scored:
            return []
        scored.sort(key=lambda s: (-s[0], s[1]))
        chosen = scored[: self.views]
        out: list[ScoredId] = [(view_id, score) for score, view_id, _, _ in scored[: request.k]]
        wanted = list(
            dict.fromkeys(source for _, _, view, matched in chosen for source in _sources_first(view, matched))
        )
        turns = self.store.records.get_items(request.scope, wanted)
        ranked: dict[str, tuple[int, int]] = {}
        for order, source in enumerate(wanted):
            turn = turns.get(source)
            if turn is None or turn.level != Level.TURN:
                continue
            overlap = len(terms & _stems(content_terms(turn.text)))
            if overlap:  # a turn that shares no word with the question crowds out better ones (docs/decisions.md)
                ranked[source] = (-overlap, order)
        floor = min(score for score, _, _, _ in chosen)
        picked = sorted(ranked, key=lambda s: ranked[s])[: self.turns]
        out += [(turn_id, floor * 0.5 / (1 + i)) for i, turn_id in enumerate(picked)]
        return out[: request.k]


def _match(view: Item, said: set[str], terms: set[str]) -> tuple[float, frozenset[str]] | None:
    """(score, matched object stems) when ``view`` is one the query names, else None."""
    meta = view.metadata
    if meta.get("kind") == "relation":
        subject = str(meta.get("subject") or "")
        if not subject or not set(words(subject)) <= said:
            return None
        relation = str(meta.get("relation") or "")
        cue = bool(terms & (CUES.get(relation, frozenset()) | _stems(meta.get("forms") or [])))
        objects = _stems(w for e in meta.get("entries") or [] for w in content_terms(str(e.get("object", ""))))
        kinds = _stems(str(e.get("kind") or "") for e in meta.get("entries") or [])
        matched = frozenset(terms & (objects | kinds))
        if not cue and not matched:
            return None
        return float(cue) + 0.5 * len(matched), matched
    name = str(meta.get("name") or "")
    if name and set(words(name)) <= said:
        return 1.0, frozenset()
    return None


def _sources_first(view: Item, matched: frozenset[str]) -> list[str]:
    """The view's source turns, those of entries whose object matched the query first."""
    first: list[str] = []
    if matched:
        for entry in view.metadata.get("entries") or []:
            if matched & _stems(content_terms(f"{entry.get('object', '')} {entry.get('kind') or ''}")):
                first += [str(s) for s in entry.get("sources") or []]
    return list(dict.fromkeys([*first, *view.sources]))
