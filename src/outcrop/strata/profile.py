"""L4 profile without an LLM: per participant, the slots their facts fill, counted and dated.

A multi-valued attribute ("likes", "activities", "plans", "relation_*") lists its values ranked by
support (how many facts state them) and recency; a single-valued one ("lives_in", "occupation")
shows its current value (the latest) and the earlier ones. Each line cites the facts and turns
behind the values it shows, and only those.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from outcrop.core.documents import spoken_date
from outcrop.core.payloads import FactPayload, ProfileValue
from outcrop.core.text import content_terms
from outcrop.core.types import Item
from outcrop.strata.base import ProfileDraft

__all__ = ["SlotProfile"]

_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+|\s*&\s*")
# A value that says nothing on a profile line, though its fact reads well: one that opens with a verb
# (the sentence's own clause: "doing something Gina loves is awesome"), names its object by a pronoun
# ("make it", "holding them", "Nate is loving it"), opens with a word of time or a vague noun ("every
# day", "the thought"), or is a verb after "to" that wants more ("what Nate likes to hear"; "likes to
# hike" says something). LoCoMo's profiles showed all of these ("Nate likes: every day, turtles,
# holding them, ..., hear, help, ...").
_CLAUSE_VERBS = frozenset(
    "is are was were has had makes made keeps kept brings brought gives gave helps means feels".split()
)
_VAGUE_OPENERS = frozenset("every thought idea lot way thing things time moment".split())
_PRONOUN_OBJECT = re.compile(r"\b(?:it|them|him)\b|\b(?:this|that|these|those)$")  # lower case: "It" is a title
_WANTING_MORE = frozenset(
    "hear help try see know say do get go come check share talk chat think find give take keep let show tell ask "
    "meet use hang catch start".split()
)
# A value cut short: it ends on a word that cannot end a phrase ("Nate's reccomendation Nate gave a"),
# on a verb after "to" that wants more ("teaching people how to make"), on a verb and particle that
# want an object ("check out"; "work out" says something), or opens with a preposition ("on a book").
_CUT_SHORT = re.compile(
    r"\b(?:a|an|the|to|of|at|for|with|about|from|into|onto|how|what|which|my|his|her|their|our|your|its|some|any|"
    r"this|and|or|but)$|\bto (?:" + "|".join(sorted(_WANTING_MORE | {"make"})) + r")$|"
    r"\b(?:check|figure|find|try|pick|sort|look|point) (?:out|up)$|^(?:on|in|at|for|with|about|from|of|to|into) "
)  # lower case only: "Into the Wild", "Pieces of Her" are titles
_TITLE = re.compile(r'"[^"]+"')
_NAMES = {
    "lives_in": "lives in",
    "occupation": "works as",
    "employer": "works at",
    "likes": "likes",
    "dislikes": "dislikes",
    "plans": "plans to",
    "activities": "has taken up",
    "read": "has read",
    "watched": "has watched",
    "visited": "has been to",
    "plays": "plays",
    "identity": "is",
    "partner": "partner",
}


@dataclass
class _Value:
    text: str
    facts: list[Item] = field(default_factory=list)

    @property
    def first(self) -> datetime | None:
        return min((f.timestamp for f in self.facts if f.timestamp), default=None)

    @property
    def last(self) -> datetime | None:
        return max((f.timestamp for f in self.facts if f.timestamp), default=None)


def _says_nothing(value: str, fact: Item) -> bool:
    """Whether ``value`` says nothing alone on a profile line (see ``_CLAUSE_VERBS``)."""
    if _TITLE.fullmatch(value):
        return False  # a quoted title is what it says ('"It Ends with Us"')
    words = value.split()
    first = words[0].lower().rstrip(",;:")
    if first in _CLAUSE_VERBS or first in _VAGUE_OPENERS or _PRONOUN_OBJECT.search(value) or _CUT_SHORT.search(value):
        return True
    if len(words) != 1 or first not in _WANTING_MORE:
        return False
    lone_verb = rf"\b(?:loves?|likes?|enjoys?|adores?|going|planning|hoping|wanting) to {re.escape(value)}\b"
    return re.search(lone_verb, fact.text, re.I) is not None


def _attribute_name(attribute: str) -> str:
    if attribute in _NAMES:
        return _NAMES[attribute]
    if attribute.startswith("relation_"):
        return f"{attribute.removeprefix('relation_').replace('_', ' ')}"
    if attribute.startswith("favorite_"):
        return f"favorite {attribute.removeprefix('favorite_').replace('_', ' ')}"
    return attribute.replace("_", " ")


class SlotProfile:
    id = "profile.slots@1"

    def __init__(self, values_per_line: int = 12) -> None:
        self.values_per_line = values_per_line

    def build(self, facts: Sequence[Item]) -> list[ProfileDraft]:
        groups: dict[tuple[str, str], tuple[bool, dict[str, _Value]]] = {}
        for fact in facts:
            slot = FactPayload.of(fact).slot
            if slot is None:
                continue
            key = (slot.subject, slot.attribute)
            single, values = groups.setdefault(key, (slot.single, {}))
            value = slot.value.replace("“", '"').replace("”", '"')
            whole = single or _TITLE.fullmatch(value) is not None  # a quoted title is one value
            parts = [value] if whole else [p for p in _SPLIT.split(value) if p.strip()]
            for part in parts:
                text = part.strip().rstrip("!.").strip()
                norm = text.lower()
                if len(norm) < 2 or not content_terms(text) or _says_nothing(text, fact):
                    continue  # "", "a", a list's stray "and"; "make it", "every day"
                values.setdefault(norm, _Value(text)).facts.append(fact)
        drafts = [
            self._line(subject, attribute, single, values)
            for (subject, attribute), (single, values) in groups.items()
            if values  # a slot whose values were all too short to keep ("", "a") makes no line
        ]
        return sorted(drafts, key=lambda d: (d.subject, -d.support, d.attribute))

    def _line(self, subject: str, attribute: str, single: bool, values: dict[str, _Value]) -> ProfileDraft:
        def latest(v: _Value) -> datetime:
            return v.last or datetime.min

        if single:
            ranked = sorted(values.values(), key=lambda v: (latest(v), v.text), reverse=True)
        else:
            ranked = sorted(values.values(), key=lambda v: (-len(v.facts), -latest(v).timestamp(), v.text))
        shown = ranked[: self.values_per_line]
        name = _attribute_name(attribute)
        if single:
            current = shown[0]
            text = f"{subject} {name}: {current.text}"
            if current.last:
                text += f" (as of {spoken_date(current.last)})"
            if len(shown) > 1:
                text += "; earlier: " + ", ".join(v.text for v in shown[1:])
        else:
            text = f"{subject} {name}: " + ", ".join(
                f"{v.text} (×{len(v.facts)})" if len(v.facts) > 1 else v.text for v in shown
            )
        shown_facts = [f for v in shown for f in v.facts]
        return ProfileDraft(
            subject=subject,
            attribute=attribute,
            text=text,
            values=[
                ProfileValue(
                    value=v.text,
                    support=len(v.facts),
                    first_seen=v.first.isoformat() if v.first else None,
                    last_seen=v.last.isoformat() if v.last else None,
                )
                for v in shown
            ],
            facts=list(dict.fromkeys(f.id for f in shown_facts)),
            sources=list(dict.fromkeys(s for f in shown_facts for s in f.sources)),
            support=sum(len(v.facts) for v in values.values()),
        )
