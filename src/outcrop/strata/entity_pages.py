"""Entity pages for salient entities: every dated statement about a pet, a person, a place, an
organisation, a work or an activity, across sessions, with its source turns.

Where :mod:`outcrop.strata.pages` keys a page on "<participant>'s <thing>", an entity page is
keyed on a name: the objects of relations that are names ("Pixie", owned by Audrey; "Google",
where John works; "Lisbon", where Maya moved) and the names the recogniser found in facts. Its
statements are the facts that name it or refer to it ("he", "the pup", "Audrey's dog", "there":
:mod:`outcrop.strata.coref`). A page is kept when its statements come from two sessions at least
(one session needs no join) and number ``min_facts``. Its head says what the entity is and its
relations ("Pixie (Audrey's dog; owned by Audrey since 5 March 2023)"); a statement is no longer
``current`` once the relation it states ended or was called off (a pet that died, a cancelled
plan), and the head says so. Pages are L3 items (``kind: "entity"``,
:class:`outcrop.core.payloads.EntityPayload`) whose sources are the turns of the statements they
show, so forgetting a turn rebuilds the page without its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from outcrop.core.documents import spoken_date
from outcrop.core.payloads import EntityStatement, FactPayload
from outcrop.core.text import STOPWORDS
from outcrop.core.types import Item
from outcrop.strata.base import TopicDraft
from outcrop.strata.relations import Extraction, Relation

__all__ = ["EntityPageBuilder"]

_TYPES = {
    "owns": "pet", "family": "person", "met": "person", "works_at": "organisation", "visited": "place",
    "moved_to": "place", "read": "work", "recommended": "work", "attended": "activity", "made": "work",
}  # fmt: skip
_NOT_ENTITIES = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March",
    "April", "May", "June", "July", "August", "September", "October", "November", "December", "Mom", "Dad", "God",
}  # fmt: skip


@dataclass
class _Entity:
    name: str
    type: str = "thing"
    relations: list[Relation] = field(default_factory=list)  # relations whose object it is
    statements: dict[str, Item] = field(default_factory=dict)


class EntityPageBuilder:
    """``build(facts, participants, extraction)`` → one draft per salient entity."""

    id = "pages.entity@1"

    def __init__(self, min_facts: int = 2, lines: int = 12) -> None:
        self.min_facts = min_facts
        self.lines = lines

    def build(self, facts: Sequence[Item], participants: Sequence[str], found: Extraction) -> list[TopicDraft]:
        people = {p for p in participants if p}
        entities: dict[str, _Entity] = {}
        for r in found.relations:
            if r.status != "asserted" or not r.object[:1].isupper() or r.object in people:
                continue
            name = r.object.strip('"')
            entity = entities.setdefault(name, _Entity(name))
            entity.relations.append(r)
            if entity.type == "thing":
                entity.type = _TYPES.get(r.relation, "thing")
        sessions: dict[str, set[str | None]] = {}
        for fact in facts:
            for name in FactPayload.of(fact).entities:
                if _salient(name, people):
                    sessions.setdefault(name, set()).add(fact.scope.session_id)
        for name, seen in sessions.items():
            if len(seen) >= 2 and _inside(name, facts):
                entities.setdefault(name, _Entity(name))
        if not entities:
            return []
        patterns = {name: re.compile(rf"(?<![\w'-]){re.escape(name)}(?![\w-])") for name in entities}
        for fact in facts:
            referred = set(found.mentions.get(fact.id, []))
            for name, entity in entities.items():
                if name in referred or patterns[name].search(fact.text):
                    entity.statements[fact.id] = fact
        drafts = [self._draft(e, found) for e in entities.values() if self._joins(e)]
        return sorted(drafts, key=lambda d: d.key)

    def _joins(self, entity: _Entity) -> bool:
        sessions = {f.scope.session_id for f in entity.statements.values()}
        return len(entity.statements) >= self.min_facts and len(sessions) >= 2

    def _draft(self, entity: _Entity, found: Extraction) -> TopicDraft:
        ended = _ended(entity, found)
        members = sorted(entity.statements.values(), key=lambda f: (_time(f), f.id))
        if len(members) > self.lines:  # the first said, then the latest
            members = [*members[: self.lines // 2], *members[-(self.lines - self.lines // 2) :]]
        head = self._head(entity, ended)
        said = {f.id: found.resolved.get(f.id, f.text) for f in members}  # "she" written as the name it meant
        lines = "; ".join(f"[{spoken_date(f.timestamp)}] {said[f.id]}" if f.timestamp else said[f.id] for f in members)
        times = [f.timestamp for f in entity.statements.values() if f.timestamp]
        statements = [
            EntityStatement(
                text=said[f.id],
                fact=f.id,
                time=f.timestamp.isoformat() if f.timestamp else None,
                current=not (ended is not None and (_time(f), f.id) < (_time(ended), ended.id)),
                sources=list(f.sources),
            )
            for f in members
        ]
        owners = [r.subject for r in entity.relations]
        return TopicDraft(
            key=f"entity:{entity.name}",
            label=head,
            text=f"{head}: {lines}",
            facts=[f.id for f in entity.statements.values()],
            sources=list(dict.fromkeys(s for f in members for s in f.sources)),
            start=min(times) if times else None,
            end=max(times) if times else None,
            entities=list(dict.fromkeys([entity.name, *owners])),
            metadata={
                "kind": "entity",
                "name": entity.name,
                "type": entity.type,
                "statements": [s.model_dump(mode="json", exclude_none=True) for s in statements],
            },
        )

    @staticmethod
    def _head(entity: _Entity, ended: Item | None) -> str:
        parts: list[str] = []
        seen: set[tuple[str, str, str | None]] = set()
        for r in entity.relations:
            if (r.subject, r.relation, r.kind) in seen:
                continue
            seen.add((r.subject, r.relation, r.kind))
            when = f" since {spoken_date(r.fact.timestamp)}" if r.fact.timestamp else ""
            if r.relation == "owns":
                phrase = f"{r.subject}'s {r.kind or 'pet'}{when}"
            elif r.relation == "family":
                phrase = f"{r.subject}'s {r.kind}"
            else:
                phrase = f"{r.relation.replace('_', ' ')} by {r.subject}"
            parts.append(phrase)
        if ended is not None:
            parts.append(f"ended {spoken_date(ended.timestamp)}" if ended.timestamp else "ended")
        return f"{entity.name} ({'; '.join(parts[:4])})" if parts else entity.name


def _ended(entity: _Entity, found: Extraction) -> Item | None:
    """The fact after which the entity's owning relation no longer holds (a pet that died)."""
    for r in entity.relations:
        fact = found.ended_by(r)
        if fact is not None:
            return fact
    return None


def _inside(name: str, facts: Sequence[Item]) -> bool:
    """Whether ``name`` is written with its capital inside a sentence at least once: a word that
    is only ever capitalised as a sentence's first ("Nature", "Fingers crossed") is no name."""
    inside = re.compile(rf"(?<![.!?:]\s)(?<!^)(?<=\s){re.escape(name)}\b")
    return any(inside.search(re.sub(r"^[A-Z][\w-]*:\s+", "", f.text)) for f in facts)


def _salient(name: str, people: set[str]) -> bool:
    if name in people or name in _NOT_ENTITIES or len(name) < 3 or not name[:1].isupper():
        return False
    return name.lower() not in STOPWORDS and not any(p.startswith(name) for p in people)


def _time(fact: Item) -> datetime:
    return fact.timestamp or datetime.min
