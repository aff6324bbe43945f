"""Coreference by rules, session by session: who "he", "my dog", "the pup" and "there" are.

Facts already name their speaker and listener ("I" and "you" are resolved when facts are drawn);
what is left is third person and definite descriptions. :class:`Coreference` reads one scope's
facts in time order and keeps, per session, what was last mentioned:

- **animates**: names introduced as someone's pet or relative ("a puppy named Pixie", "Audrey's
  son Jake") or by the recogniser; "he", "she", "him", "her", "his" at the start of a clause
  refer to the last of them mentioned in the last few facts of the same session;
- **pets by owner and kind** (kept across sessions: a pet stays its owner's): "Audrey's pup",
  "the puppy" said by Audrey, "Audrey's dog" mean her last named dog;
- **places**: names after "in", "to", "at", "from"; "there" means the last of them in the session.

:meth:`Coreference.resolve` returns the fact's text with those mentions replaced by their names
(the text relations are matched against, never stored as a fact) and the names it referred to.
Deterministic for the same facts in the same order.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from outcrop.core.payloads import FactPayload
from outcrop.core.types import Item

__all__ = ["PET_KINDS", "Coreference", "Resolved", "name_there", "pet_kind", "place_mentions"]

# what people call their pets → the kind a page and a relation file them under
PET_KINDS = {
    "dog": "dog", "dogs": "dog", "puppy": "dog", "puppies": "dog", "pup": "dog", "pups": "dog", "doggo": "dog",
    "pooch": "dog", "cat": "cat", "cats": "cat", "kitten": "cat", "kittens": "cat", "kitty": "cat", "bunny": "rabbit",
    "rabbit": "rabbit", "hamster": "hamster", "horse": "horse", "pony": "horse", "bird": "bird", "parrot": "bird",
    "fish": "fish", "turtle": "turtle", "snake": "snake", "pet": "pet", "pets": "pet", "guinea pig": "guinea pig",
    "bunnies": "rabbit", "rabbits": "rabbit", "hamsters": "hamster", "horses": "horse", "ponies": "horse",
    "birds": "bird", "parrots": "bird", "turtles": "turtle", "snakes": "snake", "guinea pigs": "guinea pig",
}  # fmt: skip
_PET = "|".join(sorted(PET_KINDS, key=len, reverse=True))
_NAME = r"[A-Z][\w'-]*[\w]"
_PRONOUN = re.compile(r"(^|[,;:!.]\s+|\b(?:and|but|so|because|when|while|as)\s+)(He|She|he|she)\b")
_OBJECT_PRONOUN = re.compile(r"\b(him|his|her)\b")
_THERE = re.compile(
    r"(?<![Oo]ut )(?<![Hh]i )(?<![Hh]ey )(?<!\bhere and )(?<!\bthen and )\b(there)\b(?!['’])"  # not "there's"
    r"(?!\s+(?:is|are|was|were|will|has|have|had|isn['’]t|aren['’]t|wasn['’]t|weren['’]t|won['’]t|hasn['’]t|"
    r"haven['’]t|hadn['’]t|might|may|must|could|should|would|can|seems?|seemed|used|appears?|goes)\b)"  # "there is"
    r"(?!\s+for\s+(?:you|me|him|her|them|us|each|[A-Z]))"  # "be there for Melanie": support, not a place
    r"(?!\s+\()"  # "there (Lisbon)": named already (strata/facts.py)
)
_NAMED_THERE = re.compile(rf"\bthere \(({_NAME}(?:\s+{_NAME})*)\)")
# a place: after "in", "at", "from", "visit", or "to" after a verb of going ("talked to Sarah" names no place)
_GOING = (
    r"(?:go|goes|going|gone|went|move[sd]?|moving|fl(?:y|ies|ew|ying)|trips?|travel(?:s|l?ed|l?ing)?|dr(?:ive|ove|iving)|"
    r"c(?:ome|ame|oming)|back|head(?:s|ed|ing)?|return(?:s|ed|ing)?|arriv(?:e|es|ed|ing)|way|road\s+trip|relocat\w*)"
)
_PLACE = re.compile(
    rf"\b(?:in|at|(?P<origin>from)|visit(?:ed|ing|s)?|{_GOING}\s+(?:back\s+)?to)\s+(?:the\s+)?"
    rf"(?P<name>{_NAME}(?:\s+{_NAME})*)"
)
_RELATIVE = re.compile(
    r"'s\s+(?:\w+\s+)?(?:son|daughter|brother|sister|husband|wife|partner|friend|mom|mother|dad|father|kid|child|"
    rf"grandma|grandpa|cousin|boss|{_PET})\s*,?\s+(?:named\s+|called\s+)?({_NAME})"
)
_NEAR = 4  # facts back in the session a pronoun may reach


# names of times, not places ("in August", "on Friday", "at Christmas", "at Christmas Eve", "on Labor Day")
_CALENDAR = frozenset(
    [*calendar.month_name[1:], *calendar.month_abbr[1:], *calendar.day_name, "Christmas", "Easter", "Thanksgiving",
     "Halloween", "Hanukkah", "Ramadan", "Diwali"]
)  # fmt: skip
_HOLIDAY = re.compile(r"^(?:New Year(?:'s)?|.+\s+(?:Day|Eve))$")


def _is_time(name: str) -> bool:
    return name.split()[0].removesuffix("'s") in _CALENDAR or _HOLIDAY.match(name) is not None


def place_mentions(text: str, entities: Collection[str], people: Collection[str] = ()) -> list[str]:
    """The places ``text`` names that the recogniser found among its ``entities``, where it came
    from first and where it went or stays after ("flew to Lisbon from Boston": Boston, Lisbon): a
    name after "in", "at", "from", "visit", or "to" after a verb of going ("moved to Lisbon"; not
    "talked to Sarah"); not one of ``people``, not a time ("in August", "at Christmas Eve")."""
    found = [
        (m.group("origin") is None, m.group("name"))
        for m in _PLACE.finditer(text)
        if m.group("name") in entities and m.group("name") not in people and not _is_time(m.group("name"))
    ]
    return [name for _, name in sorted(found, key=lambda pair: pair[0])]


def name_there(text: str, place: str) -> str:
    """``text`` with its first "there" said of a place followed by the place's name: "moving there
    (Lisbon)"; not "there is", "there for you", "out there"."""
    return _THERE.sub(lambda _: f"there ({place})", text, count=1)


def pet_kind(word: str) -> str | None:
    """The kind a pet word files under ("pup" → "dog"), None for other words."""
    return PET_KINDS.get(word.lower())


@dataclass
class Resolved:
    """A fact's text with third-person mentions replaced, and the names they referred to."""

    text: str
    names: list[str] = field(default_factory=list)


@dataclass
class _Session:
    animates: list[tuple[int, str]] = field(default_factory=list)  # (fact index in session, name)
    herds: list[tuple[int, str, str]] = field(default_factory=list)  # (index, owner, kind): "Audrey's dogs"
    places: list[tuple[int, str]] = field(default_factory=list)
    seen: int = 0


class Coreference:
    """Reads facts in order (:meth:`resolve` each one once); see the module docstring."""

    def __init__(self, participants: Sequence[str]) -> None:
        self.participants = [p for p in participants if p]
        self.pets: dict[tuple[str, str], str] = {}  # (owner, kind) -> last named pet
        self.owner_of: dict[str, tuple[str, str]] = {}  # pet name -> (owner, kind)
        self.sessions: dict[str | None, _Session] = {}

    def name_pet(self, owner: str, kind: str, name: str) -> None:
        """Record that ``owner`` has a ``kind`` named ``name`` (relations call this as they find one)."""
        self.pets[(owner, kind)] = name
        self.owner_of.setdefault(name, (owner, kind))

    def herd(self, fact: Item) -> str | None:
        """The kind of the pets the fact's speaker last mentioned as a group ("Audrey's dogs")
        nearby in its session, for "their names are …" (None when there is none)."""
        session = self.sessions.get(fact.scope.session_id)
        if session is None or not fact.speaker:
            return None
        near = [k for i, o, k in session.herds if o == fact.speaker and session.seen - 1 - i <= _NEAR]
        return near[-1] if near else None

    def resolve(self, fact: Item) -> Resolved:
        session = self.sessions.setdefault(fact.scope.session_id, _Session())
        index = session.seen
        session.seen += 1
        speaker = fact.speaker or ""
        text = fact.text
        names: list[str] = []

        def pet_for(owner: str, word: str) -> str | None:
            kind = pet_kind(word)
            if kind is None:
                return None
            name = self.pets.get((owner, kind))
            if name is None and kind == "pet":  # "my pet": the only pet the owner has named
                owned = [n for (o, _), n in self.pets.items() if o == owner]
                name = owned[0] if len(set(owned)) == 1 else None
            return name

        def possessive(m: re.Match[str]) -> str:
            if re.search(r"[A-Z][\w'-]*,\s*$", m.string[: m.start()]):
                return m.group(0)  # "Panda, Audrey's dog": named already, before it
            name = pet_for(m.group(1), m.group(2))
            if name is None:
                return m.group(0)
            names.append(name)
            return f"{m.group(1)}'s {m.group(2)} {name}"

        people = "|".join(re.escape(p) for p in sorted(self.participants, key=len, reverse=True))
        if people:  # "Audrey's pup" (not followed by a name already) → "Audrey's pup Pixie"
            text = re.sub(
                rf"\b({people})'s\s+(?:new\s+|little\s+|sweet\s+)?({_PET})\b(?!,?\s+(?:named\s+)?[A-Z])",
                possessive,
                text,
            )
        if speaker:

            def definite(m: re.Match[str]) -> str:
                name = pet_for(speaker, m.group(2))
                if name is None:
                    return m.group(0)
                names.append(name)
                return f"{m.group(1)}{m.group(2)} {name}"

            text = re.sub(rf"\b([Tt]he\s+|[Oo]ur\s+)({_PET})\b(?!,?\s+(?:named\s+)?[A-Z])", definite, text)
        recent = [n for i, n in session.animates if index - i <= _NEAR]
        if recent:
            last = recent[-1]

            def pronoun(m: re.Match[str]) -> str:
                names.append(last)
                return f"{m.group(1)}{last}"

            text = _PRONOUN.sub(pronoun, text)
            if _OBJECT_PRONOUN.search(text):
                names.append(last)
        named = _NAMED_THERE.findall(text)  # the fact named its place: "moving to Lisbon", as a relation reads it
        names += named
        text = _NAMED_THERE.sub(lambda m: f"to {m.group(1)}", text)
        places = [n for i, n in session.places if index - i <= _NEAR]
        if places and _THERE.search(text):
            names.append(places[-1])
            text = _THERE.sub(f"to {places[-1]}", text, count=1)
        self._observe(session, index, fact, text)
        return Resolved(text, list(dict.fromkeys(names)))

    def _observe(self, session: _Session, index: int, fact: Item, text: str) -> None:
        for m in re.finditer(rf"\b([A-Z][\w-]*)'s\s+(?:\w+\s+)?({_PET})\b", text):
            kind = pet_kind(m.group(2))
            if kind and m.group(2).endswith("s") and m.group(1) in self.participants:
                session.herds.append((index, m.group(1), kind))
        entities = set(FactPayload.of(fact).entities) - set(self.participants)
        for place in place_mentions(text, entities, self.participants):
            if place not in self.owner_of:
                session.places.append((index, place))
        for name in entities:
            if name in self.owner_of or re.search(rf"\b(?:named|called)\s+{re.escape(name)}\b", text):
                session.animates.append((index, name))
        for m in _RELATIVE.finditer(text):
            if m.group(1) in entities or m.group(1) in self.owner_of:
                session.animates.append((index, m.group(1)))
