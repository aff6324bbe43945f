"""Trait channel: an inference question about a participant reaches what they said about themselves.

"What job might Maria pursue in the future?", "Would Melanie be more interested in going to a
national park or a theme park?", "What attributes describe John?": the turns that answer share no
word with the question; they are where the person said what they want, love, care about and keep
doing. The trait views (strata/traits.py) joined those statements per participant and kind; this
channel runs on inference questions (:func:`outcrop.retrieve.router.asks_about_traits`) that name
a participant, reads the named participants' trait views and lists their statements' turns, ranked
by

- the turn's cosine to the question (the dense channel's stored vectors),
- ``kind_bonus`` when the statement is of a kind the question's words ask about ("job", "career",
  "degree" → wants and plans, work, helping; "enjoy", "interested" → loves and habits;
  "attributes", "religious" → what matters, helping, family; …),
- ``recurrence_bonus`` × the share of the participant's sessions its most recurrent theme came up
  in (what someone keeps coming back to is what describes them).

A turn only this channel ranks never reaches the top ten through fusion (LoCoMo: weight 0.3, 0.6
or 1.0 moved nothing), so the pipeline gives the channel's best ``retrieval.trait_places`` turns
the places after the first ``retrieval.trait_after`` hits (open-domain R@10 36.8 → 42.8 on LoCoMo
dev, nothing else moved: docs/decisions.md). The views it read are hits of their own too, when
the question asks for their kind (a context zooms into their turns: retrieve/pagezoom.py); no
other channel reaches them (they are not indexed). Bounded cost: one read of the scope's trait
views, one of the listed turns' and statements' vectors. Abstains when filters narrow the search.
"""

from __future__ import annotations

import re

import numpy as np

from outcrop.core.text import named_words
from outcrop.core.types import Item, Level
from outcrop.retrieve.channels import ChannelRequest, DenseChannel
from outcrop.retrieve.query import known_speakers
from outcrop.retrieve.router import asks_about_traits
from outcrop.stores.base import ScoredId, SearchFilters, Store

__all__ = ["TraitChannel", "as_statement", "asked_kinds", "is_trait_view"]

# the trait kinds (strata/traits.py) a question's words ask about
_ASKS: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = tuple(
    (frozenset(kinds.split()), re.compile(pattern, re.I))
    for kinds, pattern in (
        (
            "aspiration work helping",
            r"\b(?:careers?|jobs?|pursue|profession|degree|education|educaton|fields?|study|studies|work|future|"
            r"become|after)\b",
        ),
        ("likes habits", r"\b(?:enjoy|interested|likes?|prefer|fan|favou?rite|hobby|hobbies|shop|activity|fun)\b"),
        (
            "character values helping family",
            r"\b(?:attributes|personality|traits|describe|person|considered|character)\b",
        ),
        ("home aspiration", r"\b(?:move|moving|live|lives|country|home|city|state|states|neighbou?rhood)\b"),
        ("family work home", r"\b(?:financial|wealthy|rich|money|afford|income|status)\b"),
        ("values helping", r"\b(?:religious|political|patriotic|leaning|beliefs?|charity|causes?)\b"),
        ("health", r"\b(?:health|condition|allerg\w*|discomfort|stress|diet|injur\w*)\b"),
    )
)


def is_trait_view(item: Item) -> bool:
    """A trait view (strata/traits.py): search shows it only where the traits channel read it, on an
    inference question about its participant; the lexical and dense channels match its many
    statements to questions about any one of them (LoCoMo dev: single-hop R@10 -0.3, multi-hop
    coverage -1.1 when they could)."""
    return item.level == Level.TOPIC and item.metadata.get("kind") == "trait"


_FRAME = re.compile(
    r"^\s*(?:what|which|how|who|where|why|would|could|might|is it likely that|does|did|do|is|was|are)\b\s*|"
    r"\b(?:would|could|might|likely|potentially|probably|be likely to|considered)\b\s*",
    re.I,
)


def as_statement(query: str, person: str) -> str:
    """``query`` as the statement its answer would rest on, in ``person``'s words ("What job might
    Maria pursue in the future?" → "Maria: job I pursue in the future"): the question's frame
    (wh-word, modal, "likely") dropped, the person written as "I" and "my"; no LLM."""
    name = re.escape(person)
    text = re.sub(rf"\b{name}['’]s\b", "my", query.strip().rstrip("?"))
    text = re.sub(rf"\b{name}\b", "I", text)
    text = re.sub(r"\b(?:her|his)\b", "my", text, flags=re.I)
    text = re.sub(r"\b(?:she|he)\b", "I", text, flags=re.I)
    text = _FRAME.sub("", _FRAME.sub("", text))
    return f"{person}: {text.strip()}"


def asked_kinds(query: str) -> frozenset[str]:
    """The trait kinds ``query``'s words ask about (empty: any)."""
    found: set[str] = set()
    for kinds, pattern in _ASKS:
        if pattern.search(query):
            found |= kinds
    return frozenset(found)


class TraitChannel:
    """Trait views of the participants an inference question names, then their turns (module docstring)."""

    name = "traits"
    kind_bonus = 0.2
    recurrence_bonus = 0.1
    fact_weight = 0.5
    statement_weight = 0.0  # measured at 0.5 and 1.0: one question each way (docs/decisions.md)

    def __init__(self, store: Store, turns: int = 20, dense: DenseChannel | None = None, views: int = 2) -> None:
        self.store = store
        self.turns = turns
        self.views = views
        self.dense = dense

    def search(self, request: ChannelRequest) -> list[ScoredId]:
        filters = request.filters
        if filters is not None and not filters.empty:
            return []
        text = request.query.text
        if not asks_about_traits(text):
            return []
        said = named_words(text)
        people = [p for p in known_speakers(self.store, request.scope, request.query) if p and p.lower() in said]
        if not people:
            return []
        asked = asked_kinds(text)
        views = [
            v
            for v in self.store.records.iter_items(
                request.scope.owner, levels=[Level.TOPIC], filters=SearchFilters(metadata={"kind": "trait"})
            )
            if v.metadata.get("subject") in people
        ]
        if not views:
            return []
        entries: dict[str, tuple[float, bool]] = {}  # turn → (recurrence share, of an asked kind)
        facts: dict[str, list[str]] = {}  # turn → its trait statements (facts)
        for view in views:
            for entry in view.metadata.get("entries") or []:
                share = float(entry.get("share") or 0.0)
                match = bool(asked & set(entry.get("kinds") or []))
                for source in entry.get("sources") or []:
                    old = entries.get(str(source), (0.0, False))
                    entries[str(source)] = (max(old[0], share), old[1] or match)
                    facts.setdefault(str(source), []).append(str(entry.get("fact")))
        turns = {
            i for i, t in self.store.records.get_items(request.scope, list(entries)).items() if t.level == Level.TURN
        }
        wanted = sorted(turns | {f for t in turns for f in facts.get(t, [])})
        cosines = self._cosines(request, wanted, people[0])

        def cosine(turn: str) -> float:
            said = max((cosines.get(f, 0.0) for f in facts.get(turn, [])), default=0.0)
            return (1 - self.fact_weight) * cosines.get(turn, 0.0) + self.fact_weight * said

        ranked = {
            turn: cosine(turn) + self.kind_bonus * entries[turn][1] + self.recurrence_bonus * entries[turn][0]
            for turn in turns
        }
        picked = sorted(ranked, key=lambda t: (-ranked[t], t))[: self.turns]
        chosen = sorted(
            (v for v in views if not asked or v.metadata.get("trait") in asked),
            key=lambda v: (-len(v.metadata.get("entries") or []), v.id),
        )[: self.views if asked else 0]
        listed: list[ScoredId] = [(v.id, 1.0 / (1 + i)) for i, v in enumerate(chosen)]
        listed += [(turn, 0.5 / (1 + i)) for i, turn in enumerate(picked)]
        return listed[: request.k]

    def _cosines(self, request: ChannelRequest, ids: list[str], person: str) -> dict[str, float]:
        if self.dense is None or not ids:
            return {}
        vectors = self.store.vectors.vectors_for(request.scope, self.dense.space, ids)
        if not vectors:
            return {}
        query = self.dense.query_vector(request.query.text)
        if self.statement_weight > 0:
            said = self.dense.query_vector(as_statement(request.query.text, person))
            query = (1 - self.statement_weight) * query + self.statement_weight * said
        return {i: float(np.dot(v, query)) for i, v in vectors.items()}
