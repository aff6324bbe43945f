"""Relation channel: a query naming a subject and a relation reaches its view, then the view's turns.

"What has Melanie painted?" names Melanie and a word of ``made`` ("painted"); the view "Melanie —
made: a painting of a sunset (said …), a bowl (said …)" (strata/relations.py) joins what she said
she made across sessions, and its source turns are where those statements were said. A view is a
candidate when the query names its subject and either a word of its relation (a cue: "pets",
"events", "painted", "books", "trip", …) or a word of its objects ("LGBTQ" in "What LGBTQ+
events…"); an entity page (strata/entity_pages.py) is one when the query names its entity. Views
naming more of the query rank first.

A participant's pictures (the ``shared`` view) are listed only when the question matches them (a
cue such as "photo", or an object: "painted" → "painting of a sunset"), and then only the matched
entries' turns. The pipeline moves the channel's best view other than those up to
``retrieval.relation_view_place`` (:func:`may_lead`).

The channel runs only on list and aggregate questions ("which …", "what has X painted", "what
books has X read": :func:`outcrop.retrieve.router.asks_for_many`; or naming a plural cue: "the names
of Audrey's dogs", :func:`asks_for_a_list`); a question after one fact or a
date keeps the other channels' turn ranking. It then lists at most ``turns`` source turns of its
best ``views`` views and of every other view of a subject the query names, ranked by what the
question asks of them: a turn's cosine to the question (the dense channel's stored vectors, not
word overlap), plus 0.2 when it is said under an entry whose object the query names ("cats" →
the entry "Mochi", kind cat) and 0.05 when it shares a word with the question; a turn under
cosine 0.3 sharing no word is left out. Recall is counted in turns, and a turn that says "Pixie
is such a cuddle bug" only reaches "breeds of Audrey's dogs" through the view that joined it to
the adoption.

Words that name no view by form may name an entry by meaning: "What martial arts has John done?"
shares no word or cue with "John — does: kickboxing, taekwondo, surfing". The question's content
words without its names ("martial arts": :func:`outcrop.retrieve.focus.focus_text`) are embedded and compared with each entry's object
(the embedder's space; objects' vectors kept in memory by text, embedded in one call the first time
a subject is asked about): a view of a named subject with an entry at ``entry_floor`` or more joins
the candidates at that cosine, and a listed turn gains ``entry_weight`` times the margin by which
its best entry's cosine passes the floor (LoCoMo dev: multi-hop R@10 53.6 → 55.0, no category
lower; the plateau is wide: floors 0.3–0.5 and weights 0.3–3 give +0.9 to +1.4).

A view or page is also a hit of its own (a context zooms into its turns:
retrieve/pagezoom.py). The pipeline keeps its first hit without the turns this channel lifted
(``retrieval.relation_keep_first``: a listed turn must not displace the best match of the
question's own words).

Bounded cost: one read of the scope's views and entity pages (a few dozen items per subject), one
read of the named subjects' views' source turns and one of their vectors. The channel abstains when filters narrow the
search (a view spans sessions, speakers and time).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence

import numpy as np

from outcrop.core.text import content_terms, named_words, words
from outcrop.core.types import Hit, Item, Level, Scope
from outcrop.providers.base import Embedder
from outcrop.retrieve.channels import ChannelRequest, DenseChannel
from outcrop.retrieve.focus import focus_text
from outcrop.retrieve.query import known_speakers
from outcrop.retrieve.router import QueryKind, asks_for_many, classify
from outcrop.stores.base import ScoredId, SearchFilters, Store

__all__ = ["CUES", "RelationChannel", "asks_for_a_list", "may_lead", "stem"]


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
    "shared": tuple("photo photos picture pictures pic pics image images shared showed".split()),
}
# views whose turns are listed only when the question matches them (a cue or an object), never for
# naming their subject alone: every picture a participant shared would crowd the list
_MATCHED_ONLY = frozenset({"shared"})
CUES: dict[str, frozenset[str]] = {relation: _stems(cues) for relation, cues in _CUE_WORDS.items()}  # by stem
# the plural cues that name things ("dogs", "books", "countries"), not verbs ("owns", "likes"): a
# question naming one asks for a list whatever its wording ("What are the names of Audrey's dogs?")
_VERB_CUES = frozenset("owns works lives loves likes enjoys reads plans intends".split())
_PLURAL_CUES = frozenset(
    w for cues in _CUE_WORDS.values() for w in cues if w.endswith("s") and not w.endswith("ss") and w not in _VERB_CUES
)


def asks_for_a_list(query: str) -> bool:
    """Whether the channel runs for ``query``: a list or aggregate question by its wording
    (:func:`outcrop.retrieve.router.asks_for_many`), or one that names a plural cue and no date
    (LoCoMo dev: multi-hop R@10 +0.4, no category lower; docs/decisions.md)."""
    if asks_for_many(query):
        return True
    return classify(query) != QueryKind.WHEN and not _PLURAL_CUES.isdisjoint(named_words(query))


class RelationChannel:
    """Relation views and entity pages the query names, then their source turns (module docstring)."""

    name = "relations"
    # a turn's score: its cosine to the question, plus these when it shares a word with the
    # question / is said under an entry whose object the question names
    overlap_bonus = 0.05
    object_bonus = 0.2
    least_cosine = 0.3  # turns under this cosine (and sharing no word) are not listed

    def __init__(
        self,
        store: Store,
        views: int = 3,
        turns: int = 20,
        dense: DenseChannel | None = None,
        entry_weight: float = 1.0,
        entry_floor: float = 0.4,
    ) -> None:
        self.store = store
        self.views = views
        self.turns = turns
        self.dense = dense
        self.entry_weight = entry_weight
        self.entry_floor = entry_floor
        self._phrases = _PhraseVectors()

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        filters = request.filters
        if filters is not None and not filters.empty:
            return []
        if not asks_for_a_list(request.query.text):  # one fact or a date: the other channels' turn ranking
            return []
        said = named_words(request.query.text)
        people = {s.lower() for s in known_speakers(self.store, request.scope, request.query)}
        terms = {stem(t.removesuffix("'s")) for t in content_terms(request.query.text)} - {stem(p) for p in people}
        if not said or not terms:
            return []
        scored: list[tuple[float, str, Item, frozenset[str]]] = []
        named: list[Item] = []  # views of a subject the query names, matched or not
        owner = request.scope.owner
        for kind in ("relation", "entity"):
            for view in self.store.records.iter_items(
                owner, levels=[Level.TOPIC], filters=SearchFilters(metadata={"kind": kind})
            ):
                found = _match(view, said, terms)
                if found is not None:
                    scored.append((found[0], view.id, view, found[1]))
                elif _names_subject(view, said) and view.metadata.get("relation") not in _MATCHED_ONLY:
                    named.append(view)
        entry_cosines: dict[str, float] = {}
        if self.entry_weight > 0:
            focus = focus_text(request.query.text, people)
            by_view = self._entry_cosines(request.scope, focus, [view for _, _, view, _ in scored] + named)
            for view in list(named):
                best = max(by_view.get(view.id, {}).values(), default=0.0)
                if best >= self.entry_floor:
                    scored.append((best, view.id, view, frozenset()))
                    named.remove(view)
            for supported in by_view.values():
                for source, near in supported.items():
                    entry_cosines[source] = max(entry_cosines.get(source, 0.0), near)
        if not scored:
            return []
        scored.sort(key=lambda s: (-s[0], s[1]))
        chosen = scored[: self.views]
        views: list[ScoredId] = [(view_id, score) for score, view_id, _, _ in scored[: request.k]]
        matched_sources = {s for _, _, view, matched in chosen for s in _matched_sources(view, matched)}
        in_matched = {source for _, _, view, matched in chosen for source in _listed(view, matched)}
        wanted = list(dict.fromkeys([*in_matched, *(source for view in named for source in view.sources)]))
        turns = {i: t for i, t in self.store.records.get_items(request.scope, wanted).items() if t.level == Level.TURN}
        cosines = self._cosines(request, list(turns))
        ranked: dict[str, float] = {}
        for source, turn in turns.items():
            overlap = bool(terms & _stems(content_terms(turn.text)))
            cosine = cosines.get(source)
            if cosine is None:  # no vector (another embedder's space): word overlap alone
                if overlap:
                    ranked[source] = self.overlap_bonus + self.object_bonus * (source in matched_sources)
                continue
            if cosine < self.least_cosine and not overlap:
                continue
            ranked[source] = cosine + self.overlap_bonus * overlap + self.object_bonus * (source in matched_sources)
            ranked[source] += self.entry_weight * max(0.0, entry_cosines.get(source, 0.0) - self.entry_floor)
        floor = min(score for score, _, _, _ in chosen)
        picked = sorted(ranked, key=lambda s: (-ranked[s], s))[: self.turns]
        listed = [(turn_id, floor * 0.5 / (1 + i)) for i, turn_id in enumerate(picked)]
        return (views + listed)[: request.k]

    def _cosines(self, request: ChannelRequest, ids: list[str]) -> dict[str, float]:
        """Each turn's cosine to the question, from the stored vectors of the dense channel's space."""
        if self.dense is None or not ids:
            return {}
        vectors = self.store.vectors.vectors_for(request.scope, self.dense.space, ids)
        if not vectors:
            return {}
        query = self.dense.query_vector(request.query.text)
        return {i: float(np.dot(v, query)) for i, v in vectors.items()}

    def _entry_cosines(self, scope: Scope, focus: str, views: Sequence[Item]) -> dict[str, dict[str, float]]:
        """view id → {source turn: the best cosine of ``focus`` to an entry's object it supports}."""
        if self.dense is None or not focus:
            return {}
        entries = [
            (view.id, str(entry.get("object") or ""), [str(s) for s in entry.get("sources") or []])
            for view in views
            if view.metadata.get("kind") == "relation" and view.metadata.get("relation") not in _MATCHED_ONLY
            for entry in view.metadata.get("entries") or []
        ]
        if not entries:
            return {}
        vectors = self._phrases.get(self.dense.embedder, scope.tenant, [obj for _, obj, _ in entries])
        query = self.dense.query_vector(focus)
        found: dict[str, dict[str, float]] = {}
        for view_id, obj, sources in entries:
            cosine = float(np.dot(vectors[obj], query))
            into = found.setdefault(view_id, {})
            for source in sources:
                into[source] = max(into.get(source, -1.0), cosine)
        return found


class _PhraseVectors:
    """Embeddings of short phrases (views' entry objects: a few words each, repeated across
    questions), the last ``size`` kept (~1.5 KB each); the missing ones are embedded in one call.
    Kept per tenant: a phrase another tenant's views hold is no faster to ask about (what a
    tenant's search costs must not tell what another tenant's memory holds)."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._held: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # a server's searches share the channel

    def get(self, embedder: Embedder, tenant: str, phrases: Sequence[str]) -> dict[str, np.ndarray]:
        wanted = list(dict.fromkeys(phrases))
        with self._lock:
            out = {p: self._held[(tenant, embedder.id, p)] for p in wanted if (tenant, embedder.id, p) in self._held}
        missing = [p for p in wanted if p not in out]
        if missing:  # embedded outside the lock: another search may embed the same phrase meanwhile
            out.update(zip(missing, (np.asarray(v, dtype=np.float32) for v in embedder.embed(missing)), strict=True))
        with self._lock:
            for phrase in wanted:
                self._held[(tenant, embedder.id, phrase)] = out[phrase]
                self._held.move_to_end((tenant, embedder.id, phrase))
            while len(self._held) > self.size:
                self._held.popitem(last=False)
        return out


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


def _names_subject(view: Item, said: set[str]) -> bool:
    meta = view.metadata
    subject = str(meta.get("subject") or meta.get("name") or "")
    return bool(subject) and set(words(subject)) <= said


def may_lead(view: Item | Hit) -> bool:
    """Whether a view may be moved up among the first hits (``retrieval.relation_view_place``), or
    shown whole as its brief line in a context: a relation view or entity page, but not a
    participant's pictures, whose many turns are no list the question asked for."""
    return view.level == Level.TOPIC and view.metadata.get("relation") not in _MATCHED_ONLY


def _listed(view: Item, matched: frozenset[str]) -> list[str]:
    """The source turns of a chosen view the channel may list: all of them, but of a view listed
    only when matched (a participant's pictures) only the entries the question named."""
    if view.metadata.get("relation") in _MATCHED_ONLY and matched:
        return _matched_sources(view, matched)
    return list(view.sources)


def _matched_sources(view: Item, matched: frozenset[str]) -> list[str]:
    """The source turns of the view's entries whose object (or kind) the query names."""
    found: list[str] = []
    for entry in view.metadata.get("entries") or [] if matched else []:
        if matched & _stems(content_terms(f"{entry.get('object', '')} {entry.get('kind') or ''}")):
            found += [str(s) for s in entry.get("sources") or []]
    return found
