"""Producer protocols for the strata and the drafts they return.

A producer turns finer items into coarser ones. Every producer has an ``id`` (name and version,
e.g. ``"facts.rules@1"``) recorded on what it makes, so provenance says which producer (and, for
LLM producers, which model and prompt version) made an item. The zero-LLM producers in this
package and LLM producers in :mod:`outcrop.llm` are interchangeable behind these protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from outcrop.core.payloads import DateRecord, ProfileValue
from outcrop.core.time.expressions import TimeSpan
from outcrop.core.types import Item

__all__ = [
    "EpisodeDraft",
    "EpisodeSummarizer",
    "FactDraft",
    "FactExtractor",
    "ProfileBuilder",
    "ProfileDraft",
    "Slot",
    "SlotJudge",
    "TopicClusterer",
    "TopicDraft",
    "date_records",
]


@dataclass(frozen=True)
class Slot:
    """A (subject, attribute, value) triple; ``single`` slots hold one current value at a time."""

    subject: str
    attribute: str
    value: str
    single: bool = True


@dataclass
class FactDraft:
    """One atomic statement drawn from one turn."""

    text: str  # self-contained: pronouns resolved, relative dates followed by absolute ones
    source: str  # the turn id
    speaker: str | None
    timestamp: datetime | None
    kind: str = "statement"  # statement, event, preference, plan, relation, state
    dates: list[DateRecord] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    slot: Slot | None = None


def date_records(spans: Sequence[TimeSpan]) -> list[DateRecord]:
    """The :attr:`FactDraft.dates` entries of a fact's resolved time expressions."""
    return [
        DateRecord(
            phrase=s.phrase,
            start=s.start.isoformat(),
            end=s.end.isoformat(),
            granularity=s.granularity,
            label=s.label,
        )
        for s in spans
    ]


class FactExtractor(Protocol):
    """Turns → facts. Must be deterministic for the same input (producers run idempotently)."""

    id: str

    def extract(self, turn: Item, participants: Sequence[str]) -> list[FactDraft]: ...


@dataclass
class EpisodeDraft:
    """A session (or time-bounded stretch) summarised."""

    text: str
    sources: list[str]  # the turns whose content the summary carries
    start: datetime | None
    end: datetime | None
    participants: list[str]
    entities: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)


class EpisodeSummarizer(Protocol):
    id: str

    def summarize(self, turns: Sequence[Item], vectors: np.ndarray, facts: Sequence[Item]) -> EpisodeDraft | None:
        """``turns`` in order with their ``vectors`` (one row each, unit length)."""


@dataclass
class TopicDraft:
    """A cluster of facts across sessions about one subject."""

    key: str  # stable identity of the cluster (its founding fact)
    label: str
    text: str
    facts: list[str]
    sources: list[str]  # turns carried by the facts in ``text``
    start: datetime | None
    end: datetime | None
    entities: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. the producer that labelled it


class TopicClusterer(Protocol):
    id: str

    def cluster(self, facts: Sequence[Item], vectors: np.ndarray) -> list[TopicDraft]:
        """``facts`` of one owner scope in time order with their unit ``vectors``."""


@dataclass
class ProfileDraft:
    """One line of a participant's profile: an attribute with ranked values and their support."""

    subject: str
    attribute: str
    text: str
    values: list[ProfileValue]
    facts: list[str]
    sources: list[str]
    support: int
    metadata: dict[str, Any] = field(default_factory=dict)  # e.g. a reflection verdict


class ProfileBuilder(Protocol):
    id: str

    def build(self, facts: Sequence[Item]) -> list[ProfileDraft]: ...


class SlotJudge(Protocol):
    """Decides, for a new fact's slot value, how it relates to earlier values of the same slot.

    Returns ``{earlier fact id: verdict}`` for the earlier facts it judged, with verdicts
    ``"replaces"`` (the new value retires the earlier one), ``"same"`` (a restatement) or
    ``"both_true"`` (both hold). Facts it does not judge are left to the read-time rule
    (:func:`outcrop.truth.slots.resolve`)."""

    id: str

    def judge(self, draft: FactDraft, earlier: Sequence[Item]) -> dict[str, str]: ...
