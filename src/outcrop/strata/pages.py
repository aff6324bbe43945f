"""Entity pages without an LLM: what a participant said about one thing of theirs, across sessions.

A page joins what turn-level retrieval cannot: "What are the breeds of Audrey's dogs?" needs the
turn where she adopted a puppy named Pixie, the one where Pixie is "such a cuddle bug" and the one
about the dog park, said weeks apart and sharing few words with the question. Facts already carry
resolved names ("my dogs" is "Audrey's dogs" in the fact), so a page is keyed by a participant's
possession or relation, ``(owner, thing)``, found in the facts:

- **keys**: "Audrey's dogs", "John's team", "Melanie's kids" (a participant's name, an
  optional modifier, a noun), and "a puppy named Pixie" said by Audrey (``named``/``called``);
- **aliases**: the names a key is given ("Audrey's puppy, Pixie", "a puppy named Pixie"), so a
  fact that only says "Pixie is such a cuddle bug" joins Audrey's dog page;
- **members**: the owner's facts that name the thing (singular or plural) or one of its aliases,
  and anyone's facts that say "<owner>'s <thing>".

A page is kept when its key itself is said in two sessions at least (one session needs no join;
a phrase said once is more often a turn of speech than a thing), and its members number at least
``min_facts``; aliases are names the entity recogniser found in the fact; its text is the owner and thing with their aliases, then up to
``lines`` member facts under their dates (those naming the key or an alias first, then the rest,
shown in time order). Pages are L3 items (``Level.TOPIC`` with ``kind: "page"`` in their payload)
whose sources are the turns of the facts they show; deterministic for the same facts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from outcrop.core.documents import spoken_date
from outcrop.core.payloads import FactPayload
from outcrop.core.text import STOPWORDS
from outcrop.core.types import Item
from outcrop.strata.base import TopicDraft

__all__ = ["EntityPages", "singular"]

_MODIFIERS = {
    "new", "little", "old", "first", "own", "favorite", "favourite", "two", "three", "four", "beloved", "sweet",
    "best", "big", "small", "other", "younger", "older", "oldest", "youngest", "local", "current", "latest",
    "furry", "fur", "lovely", "dear", "adorable", "amazing", "whole", "entire", "great", "wonderful", "five", "both",
    "awesome", "cute", "beautiful", "special", "usual", "next", "last", "daily", "weekly",
}  # fmt: skip
_NOT_THINGS = {
    *STOPWORDS, "way", "thing", "things", "time", "times", "day", "days", "lot", "part", "side", "own", "life",
    "mind", "heart", "words", "advice", "help", "support", "idea", "ideas", "story", "stories", "experience",
    "journey", "opinion", "favorite", "favourite", "turn", "place", "feelings", "thoughts", "fault", "name",
    "happy", "face", "free", "outdoor", "future", "comfort", "week", "love", "bond", "worries", "spirits",
    "attention", "behalf", "sake", "perspective", "passion", "dream", "dreams", "goal", "goals", "success",
}  # fmt: skip
_NAME = r"[A-Z][\w'-]+"
_NAMED = re.compile(rf"\b(?:a|an|the|my|our|new)\s+(?:\w+\s+)?([a-z]{{3,}})\s+(?:named|called)\s+({_NAME})")


def singular(word: str) -> str:
    """A noun's singular by rule ("puppies" → "puppy", "dogs" → "dog", "class" stays)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@dataclass
class _Page:
    owner: str
    thing: str  # singular head noun
    shown_as: str  # the phrase as first said ("dance studio", "dogs")
    aliases: dict[str, None] = field(default_factory=dict)
    members: dict[str, tuple[Item, bool]] = field(default_factory=dict)  # fact id -> (fact, names the key)
    said_in: set[str | None] = field(default_factory=set)  # sessions whose facts name the key itself


class EntityPages:
    """``build(facts, participants)`` → one draft per page (see the module docstring)."""

    id = "pages.entities@1"

    def __init__(self, min_facts: int = 2, lines: int = 12) -> None:
        self.min_facts = min_facts
        self.lines = lines

    def build(self, facts: Sequence[Item], participants: Sequence[str]) -> list[TopicDraft]:
        people = sorted({p for p in participants if p}, key=len, reverse=True)
        if not people:
            return []
        possessive = re.compile(rf"\b({'|'.join(re.escape(p) for p in people)})'s\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")
        pages: dict[tuple[str, str], _Page] = {}
        named_by: dict[str, tuple[str, str] | None] = {}  # alias -> its page key (None: ambiguous)

        def page(owner: str, thing: str, shown: str) -> _Page:
            return pages.setdefault((owner, thing), _Page(owner, thing, shown))

        def alias(key: tuple[str, str], name: str) -> None:
            if name in people or name in STOPWORDS:
                return
            pages[key].aliases.setdefault(name)
            named_by[name] = key if named_by.get(name, key) == key else None

        for fact in facts:
            entities = set(FactPayload.of(fact).entities)
            for owner, first, second in possessive.findall(fact.text):
                head, shown = _head(first, second)
                if head is None:
                    continue
                key = (owner, singular(head))
                found = page(owner, key[1], shown)
                found.members[fact.id] = (fact, True)
                found.said_in.add(fact.scope.session_id)
                after = fact.text.split(f"{owner}'s {first} {second}".strip(), 1)[-1]
                name = re.match(rf"\s*,?\s*({_NAME})", after)
                if name and name.group(1) in entities:
                    alias(key, name.group(1))
            if fact.speaker in people:
                for noun, name in _NAMED.findall(fact.text):
                    if noun not in _NOT_THINGS and name in entities:
                        key = (fact.speaker, singular(noun))
                        found = page(fact.speaker, key[1], noun)
                        found.members[fact.id] = (fact, True)
                        found.said_in.add(fact.scope.session_id)
                        alias(key, name)
        pages = {key: p for key, p in pages.items() if len(p.said_in) >= 2}  # said of in two sessions at least
        if not pages:
            return []
        for fact in facts:
            words = set(re.findall(r"[a-z][\w-]*", fact.text.lower()))
            for key, found in pages.items():
                if fact.id in found.members:
                    continue
                owner_speaks = fact.speaker == found.owner
                names_it = any(named_by.get(a) == key and a in fact.text for a in found.aliases)
                if names_it and (owner_speaks or found.owner in fact.text):
                    found.members[fact.id] = (fact, True)
                elif owner_speaks and (found.thing in words or _plural(found.thing) in words):
                    found.members[fact.id] = (fact, False)
        drafts = [self._draft(p) for p in pages.values() if self._joins(p)]
        return sorted(drafts, key=lambda d: d.key)

    def _joins(self, found: _Page) -> bool:
        sessions = {f.scope.session_id for f, _ in found.members.values()}
        return len(found.members) >= self.min_facts and len(sessions) >= 2

    def _draft(self, found: _Page) -> TopicDraft:
        members = sorted(found.members.values(), key=lambda m: (_time(m[0]), m[0].id))
        keyed = [f for f, named in members if named]
        rest = [f for f, named in members if not named]
        shown = sorted([*keyed, *rest][: self.lines], key=lambda f: (_time(f), f.id))
        label = f"{found.owner}'s {found.shown_as}"
        if found.aliases:
            label += f" ({', '.join(found.aliases)})"
        lines = "; ".join(f"[{spoken_date(f.timestamp)}] {f.text}" if f.timestamp else f.text for f in shown)
        times = [f.timestamp for f, _ in members if f.timestamp]
        return TopicDraft(
            key=f"page:{found.owner}:{found.thing}",
            label=label,
            text=f"{label}: {lines}",
            facts=[f.id for f, _ in members],
            sources=list(dict.fromkeys(s for f in shown for s in f.sources)),
            start=min(times) if times else None,
            end=max(times) if times else None,
            entities=[found.owner, *found.aliases],
            metadata={
                "kind": "page",
                "owner": found.owner,
                "thing": found.thing,
                "forms": sorted({_plural(found.thing), found.shown_as} - {found.thing}),
            },
        )


def _head(first: str, second: str) -> tuple[str | None, str]:
    """The noun a possessive names, past one modifier ("Audrey's new puppy" → "puppy"). A compound
    ("dance studio") keys on its first word: without a tagger, "kids love" and "dance studio" look
    alike, and the first word is the safer key."""
    if first in _MODIFIERS and second:
        first = second
    if first in _NOT_THINGS or len(first) < 3 or not first.isalpha():
        return None, first
    return first, first


def _plural(noun: str) -> str:
    if noun.endswith("y") and len(noun) > 2 and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun.endswith(("ch", "sh", "s", "x")):
        return noun + "es"
    return noun + "s"


def _time(fact: Item) -> datetime:
    return fact.timestamp or datetime.min
