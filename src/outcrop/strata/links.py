"""New facts meet old ones: near-duplicates merge, related facts link.

For each new fact, in order, the candidates are the ``neighbours`` most similar facts of the owner
scope already stored or drafted earlier in the same batch (cosine of their vectors):

- **merge**: a candidate that says the same thing — same speaker, same resolved dates, no slot or
  the same value of a many-valued slot (a single-valued slot's restatement stays a fact of its
  own for current truth, see ``truth/``) and either the same words or a cosine of at least
  ``duplicate`` — absorbs the new fact: it gains the new source turn
  and a ``restated`` entry (the absorbed fact's id, its turns and time), and no second fact is
  written; deleting the merged fact tombstones the absorbed ids too, so none comes back;
- **link**: otherwise the new fact links to each candidate with a cosine of at least ``similar``
  (kind ``similar``), or of at least ``entity_similar`` when both name the same entity other
  than the participants (kind ``entity``). Links are undirected; their weight is the cosine.

Facts of the same source turn are neither merged nor linked (the turn already joins them), nor
are facts of different agents of one user. The
candidates are the same whether facts arrive one add at a time or all at once (a rebuild), as long
as they arrive in the same order, so a rebuild reproduces the incremental links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from outcrop.core.payloads import FactPayload, Restatement, SlotPayload
from outcrop.core.provenance import carried_turns
from outcrop.core.types import Item, Level, Scope
from outcrop.stores.base import Link, SearchFilters, Store, VectorSpace

__all__ = ["FactLinker", "LinkPlan", "absorbed_ids", "same_words"]

_FACTS = SearchFilters(levels=(Level.FACT,))


def same_words(a: str, b: str) -> bool:
    """Equal up to case, punctuation and spacing."""
    return _words(a) == _words(b)


def _words(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


@dataclass
class LinkPlan:
    """What to write: facts that are new, stored facts that absorbed duplicates, and links."""

    new: list[Item] = field(default_factory=list)
    merged: dict[str, Item] = field(default_factory=dict)  # stored fact id -> its updated copy
    links: list[Link] = field(default_factory=list)


class FactLinker:
    def __init__(
        self,
        store: Store,
        space: VectorSpace,
        *,
        similar: float = 0.8,
        entity_similar: float = 0.6,
        duplicate: float = 0.95,
        neighbours: int = 8,
    ) -> None:
        self.store = store
        self.space = space
        self.similar = similar
        self.entity_similar = entity_similar
        self.duplicate = duplicate
        self.neighbours = neighbours

    def plan(self, owner: Scope, drafts: Sequence[Item], vectors: Mapping[str, np.ndarray]) -> LinkPlan:
        """``drafts``: new facts of ``owner`` (not stored yet), in arrival order, with their vectors."""
        plan = LinkPlan()
        if not drafts:
            return plan
        participants = {p.casefold() for p in self.store.records.speakers(owner)}
        absorbed = self._absorbed(owner, drafts)
        batch: list[Item] = []  # drafts kept so far, each a candidate for the later ones
        batch_vectors: list[np.ndarray] = []
        stored: dict[str, Item] = {}
        for draft in drafts:
            if draft.id in absorbed:
                continue  # merged into a stored fact before (consolidating again)
            vector = np.asarray(vectors[draft.id], dtype=np.float32)
            candidates = self._candidates(owner, vector, batch, batch_vectors, stored, plan)
            source = carried_turns(draft)
            candidates = [
                (c, s)
                for c, s in candidates
                if not source & carried_turns(c) and c.scope.agent_id == draft.scope.agent_id  # one agent's memory
            ]
            twin = next((c for c, s in candidates if self._duplicate(draft, c, s)), None)
            if twin is not None:
                self._absorb(twin, draft, plan)
                continue
            batch.append(draft)
            batch_vectors.append(vector)
            plan.new.append(draft)
            mine = _entities(draft, participants)
            for other, score in candidates:
                if score >= self.similar:
                    kind = "similar"
                elif score >= self.entity_similar and mine & _entities(other, participants):
                    kind = "entity"
                else:
                    continue
                plan.links.append(Link(draft.id, other.id, kind, round(float(score), 4)))
        return plan

    def _candidates(
        self,
        owner: Scope,
        vector: np.ndarray,
        batch: Sequence[Item],
        batch_vectors: Sequence[np.ndarray],
        stored: dict[str, Item],
        plan: LinkPlan,
    ) -> list[tuple[Item, float]]:
        """The ``neighbours`` most similar facts stored or drafted earlier, best first."""
        found = self.store.vectors.search(owner, self.space, vector, self.neighbours, _FACTS)
        missing = [i for i, _ in found if i not in stored]
        if missing:
            stored.update(self.store.records.get_items(owner, missing))
        scored: list[tuple[Item, float]] = [
            (plan.merged.get(i) or stored[i], float(s)) for i, s in found if i in stored
        ]
        if batch:
            sims = np.stack(batch_vectors) @ vector
            scored += [(item, float(s)) for item, s in zip(batch, sims, strict=True)]
        scored.sort(key=lambda pair: (-pair[1], pair[0].id))
        return scored[: self.neighbours]

    def _absorbed(self, owner: Scope, drafts: Sequence[Item]) -> set[str]:
        """Ids of drafts that stored facts absorbed earlier (listed in their ``restated``)."""
        turns = sorted({t for d in drafts for t in carried_turns(d)})
        facts = self.store.records.get_items(owner, self.store.records.derived_from(owner, turns)) if turns else {}
        return {i for fact in facts.values() for i in absorbed_ids(fact)}

    def _duplicate(self, draft: Item, other: Item, score: float) -> bool:
        if draft.speaker != other.speaker or not _mergeable_slots(draft, other):
            return False
        if FactPayload.of(draft).dates != FactPayload.of(other).dates:
            return False
        return score >= self.duplicate or same_words(draft.text, other.text)

    @staticmethod
    def _absorb(twin: Item, draft: Item, plan: LinkPlan) -> None:
        """``twin`` (stored or drafted) gains ``draft``'s sources; a restated fact changes nothing
        when its turn is already among them."""
        if set(draft.sources) <= set(twin.sources):
            return
        drafted = any(twin is item for item in plan.new)
        updated = twin if drafted else plan.merged.get(twin.id) or twin.model_copy(deep=True)
        updated.sources = sorted({*updated.sources, *draft.sources})
        payload = FactPayload.of(updated)
        payload.restated = [
            *payload.restated,
            Restatement(
                id=draft.id,
                sources=sorted(draft.sources),
                timestamp=draft.timestamp.isoformat() if draft.timestamp else None,
            ),
        ]
        updated.metadata = payload.to_metadata()
        if not drafted:
            plan.merged[updated.id] = updated


def _mergeable_slots(a: Item, b: Item) -> bool:
    """No slot on either, or the same value of a many-valued slot ("likes jazz" twice). A
    single-valued slot's restatement stays a fact of its own: Boston, Paris, then Boston again
    must leave current truth at the newest Boston."""
    slot_a, slot_b = FactPayload.of(a).slot, FactPayload.of(b).slot
    if slot_a is None and slot_b is None:
        return True
    if slot_a is None or slot_b is None or slot_a.single or slot_b.single:
        return False
    return _slot_key(slot_a) == _slot_key(slot_b)


def _slot_key(slot: SlotPayload) -> tuple[str, str, str]:
    return (*slot.key, _words(slot.value))


def absorbed_ids(item: Item) -> list[str]:
    """Ids of the facts a merged fact absorbed (its ``restated`` entries)."""
    return [r.id for r in FactPayload.of(item).restated]


def _entities(item: Item, participants: set[str]) -> set[str]:
    return {e.casefold() for e in FactPayload.of(item).entities if e.casefold() not in participants}
