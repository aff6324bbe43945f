"""Typed payloads of the derived levels: what a fact, episode, topic or profile line carries.

An item's ``metadata`` is its payload as stored (JSON), so stores and exports stay level-agnostic;
code that reads a derived item's fields reads them through these models (``FactPayload.of(item)``)
instead of re-validating ``metadata.get("slot")`` by hand in every module. Reading is lenient:
an ill-formed field written by an older version or an LLM producer reads as absent (a fact whose
slot lacks a subject fills no slot), never as an error at query time. Writing goes through
:meth:`Payload.to_metadata`, which leaves out empty optional fields so the stored shape is the
one earlier versions wrote.

Fields a producer adds beyond these (an LLM producer's ``producer`` fallback, a reflection
verdict) are kept as extras and round-trip unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_serializer,
)

from outcrop.core.documents import spoken_date
from outcrop.core.types import Hit, Item, Level

__all__ = [
    "UNGROUPED_KINDS",
    "DateRecord",
    "EntityPayload",
    "EntityStatement",
    "EpisodePayload",
    "FactPayload",
    "Payload",
    "ProfilePayload",
    "ProfileValue",
    "RelationEntry",
    "RelationPayload",
    "Restatement",
    "SlotPayload",
    "TopicPayload",
    "relation_object",
    "relation_text",
]


def _or_default(default: Callable[[], Any]) -> WrapValidator:
    """A field validator that reads an ill-formed value as the field's default."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            return default()

    return WrapValidator(validate)


def _valid_items(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A list field keeps its well-formed entries and drops the rest."""
    if not isinstance(value, list):
        return []
    kept = []
    for entry in value:
        try:
            kept.extend(handler([entry]))
        except ValidationError:
            continue
    return kept


_Lenient = WrapValidator(_valid_items)


class Payload(BaseModel):
    """Base of the payloads: extras allowed and kept, validation on assignment."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    always_stored: ClassVar[frozenset[str]] = frozenset()  # fields stored even when empty

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> Self:
        return cls.model_validate(metadata)

    def to_metadata(self) -> dict[str, Any]:
        """The payload as stored: optional declared fields left out when empty (``None``, ``[]``,
        ``{}``); extras as they came."""
        optional = type(self).model_fields.keys() - self.always_stored
        dumped = self.model_dump(mode="json")
        return {k: v for k, v in dumped.items() if k not in optional or v not in (None, [], {})}


class SlotPayload(BaseModel):
    """The (subject, attribute, value) a fact fills; ``judged`` holds a slot judge's verdicts
    (earlier fact id → ``"replaces"``, ``"same"`` or ``"both_true"``)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    subject: Annotated[str, Field(min_length=1)]
    attribute: Annotated[str, Field(min_length=1)]
    value: str = ""
    single: bool = True
    judged: dict[str, str] | None = None
    judged_by: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(subject, attribute), case-folded: facts with the same key fill the same slot."""
        return self.subject.casefold(), self.attribute.casefold()

    def to_metadata(self) -> dict[str, Any]:
        dumped = self.model_dump(mode="json")
        return {k: v for k, v in dumped.items() if v is not None}


class DateRecord(BaseModel):
    """One resolved time expression of a fact (ISO dates)."""

    model_config = ConfigDict(extra="allow")

    phrase: str
    start: str
    end: str
    granularity: str
    label: str = ""


class Restatement(BaseModel):
    """A fact merged into another one: its id, its turns and its time."""

    model_config = ConfigDict(extra="allow")

    id: Annotated[str, Field(min_length=1)]
    sources: list[str] = Field(default_factory=list)
    timestamp: str | None = None


class FactPayload(Payload):
    kind: str = "statement"
    entities: Annotated[list[str], _Lenient] = Field(default_factory=list)
    dates: Annotated[list[DateRecord], _Lenient] = Field(default_factory=list)
    slot: Annotated[SlotPayload | None, _or_default(lambda: None)] = None
    restated: Annotated[list[Restatement], _Lenient] = Field(default_factory=list)

    always_stored = frozenset({"kind", "entities"})

    @field_serializer("slot")
    def _slot(self, slot: SlotPayload | None) -> dict[str, Any] | None:
        return slot.to_metadata() if slot is not None else None

    @classmethod
    def of(cls, item: Item | Hit) -> FactPayload:
        """The payload of a fact (an item or a hit); an empty one for other levels."""
        return cls.from_metadata(item.metadata) if item.level == Level.FACT else cls()


class EpisodePayload(Payload):
    start: str | None = None
    end: str | None = None
    participants: Annotated[list[str], _Lenient] = Field(default_factory=list)
    entities: Annotated[list[str], _Lenient] = Field(default_factory=list)

    always_stored = frozenset({"start", "end", "participants", "entities"})


class TopicPayload(Payload):
    kind: str | None = None  # None: a cluster of facts; "page": an entity page (strata/pages.py)
    owner: str | None = None  # a page's participant
    thing: str | None = None  # a page's thing, singular
    forms: Annotated[list[str], _Lenient] = Field(default_factory=list)  # other words for it (plural, as said)
    label: str = ""
    start: str | None = None
    end: str | None = None
    entities: Annotated[list[str], _Lenient] = Field(default_factory=list)
    facts: Annotated[list[str], _Lenient] = Field(default_factory=list)

    always_stored = frozenset({"label", "start", "end", "entities", "facts"})


class ProfileValue(BaseModel):
    """One value of a profile line with its support."""

    model_config = ConfigDict(extra="allow")

    value: str
    support: int = 0
    first_seen: str | None = None
    last_seen: str | None = None


class ProfilePayload(Payload):
    subject: str = ""
    attribute: str = ""
    values: Annotated[list[ProfileValue], _Lenient] = Field(default_factory=list)
    support: int = 0
    facts: Annotated[list[str], _Lenient] = Field(default_factory=list)

    always_stored = frozenset({"subject", "attribute", "values", "support", "facts"})

    @classmethod
    def of(cls, item: Item | Hit) -> ProfilePayload:
        return cls.from_metadata(item.metadata) if item.level == Level.PROFILE else cls()


class RelationEntry(BaseModel):
    """One object a subject has under a relation ("owns" → "Pepper", kind "dog"), with the facts
    and turns that say so. ``status``: ``asserted``; ``negated`` (only ever said not to hold: "I
    don't own a dog"); ``ended`` (held, then stopped: a pet that died); ``cancelled`` (a plan called
    off). ``first_seen``/``last_seen`` are when it was said; ``when`` the time it names (a plan's)."""

    model_config = ConfigDict(extra="allow")

    object: str
    kind: str | None = None
    status: str = "asserted"
    first_seen: str | None = None
    last_seen: str | None = None
    when: str | None = None
    ended: str | None = None  # when it ended or was cancelled (said)
    to: str | None = None  # the other party ("recommended … to Caroline", "gave … to Ann")
    facts: Annotated[list[str], _Lenient] = Field(default_factory=list)
    sources: Annotated[list[str], _Lenient] = Field(default_factory=list)


class RelationPayload(TopicPayload):
    """A relation view (``kind: "relation"``, strata/relations.py): every object one subject has
    under one relation, in the order first said."""

    subject: str = ""
    relation: str = ""
    entries: Annotated[list[RelationEntry], _Lenient] = Field(default_factory=list)

    @classmethod
    def of(cls, item: Item | Hit) -> RelationPayload:
        """The payload of a relation view; an empty one for any other item."""
        if item.level != Level.TOPIC or item.metadata.get("kind") != "relation":
            return cls()
        return cls.from_metadata(item.metadata)

    def brief(self) -> str:
        """The view's line without the dates it was said: "Audrey — owns: dog: Pepper, Pixie; cat:
        Mochi (ended)". Each object keeps what it is ("not", ended, cancelled), its other party ("to
        Caroline") and the time a plan names ("for August 2024"), as the stored text does."""
        objects = []
        for entry in self.entries:
            notes = [f"to {entry.to}"] if entry.to else []
            when = _moment(entry.when)
            if when is not None:
                notes.append(f"for {spoken_date(when)}")
            if entry.ended is not None or entry.status in ("ended", "cancelled"):
                notes.append("cancelled" if entry.status == "cancelled" else "ended")
            objects.append((entry.kind, relation_object(entry.object, notes, negated=entry.status == "negated")))
        return relation_text(self.label, objects)


UNGROUPED_KINDS = frozenset({"place", "person"})  # a relation view names these objects without their kind


def _moment(text: str | None) -> datetime | None:
    """An ISO date-time as stored; None for one that is absent or ill-formed (read as absent)."""
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def relation_object(name: str, notes: Sequence[str], *, negated: bool = False) -> str:
    """One object of a relation view as its text shows it: ``Pepper (since 8 May 2023)``, ``not a
    parrot`` (``negated``: only ever said not to hold)."""
    shown = f"not {name}" if negated else name
    return f"{shown} ({', '.join(notes)})" if notes else shown


def relation_text(label: str, objects: Sequence[tuple[str | None, str]]) -> str:
    """A relation view's text: ``label: kind: object, object; kind: object``, its objects in the
    order given, grouped by kind (a place or a person is named without its kind)."""
    by_kind: dict[str | None, list[str]] = {}
    for kind, shown in objects:
        by_kind.setdefault(kind, []).append(shown)
    parts = [f"{k}: {', '.join(v)}" if k and k not in UNGROUPED_KINDS else ", ".join(v) for k, v in by_kind.items()]
    return f"{label}: {'; '.join(parts)}" if parts else label


class EntityStatement(BaseModel):
    """One dated line of an entity page: a fact about the entity, with its turns; ``current`` is
    False once a later statement superseded it (the relation it states ended or was cancelled)."""

    model_config = ConfigDict(extra="allow")

    text: str
    fact: str
    time: str | None = None
    current: bool = True
    sources: Annotated[list[str], _Lenient] = Field(default_factory=list)


class EntityPayload(TopicPayload):
    """An entity page (``kind: "entity"``, strata/entity_pages.py): a salient entity (a pet, a
    person, a place, an organisation, a work, an activity) and its dated statements."""

    name: str = ""
    type: str = "thing"
    statements: Annotated[list[EntityStatement], _Lenient] = Field(default_factory=list)

    @classmethod
    def of(cls, item: Item | Hit) -> EntityPayload:
        """The payload of an entity page; an empty one for any other item."""
        if item.level != Level.TOPIC or item.metadata.get("kind") != "entity":
            return cls()
        return cls.from_metadata(item.metadata)
