"""L1 facts with an LLM: structured extraction per turn, falling back to the rules per turn.

A turn too short to state anything is left to the rules (no call). When the call fails or the
reply stays unusable after its repair round, the failure is in the ledger and the turn's facts
come from the zero-LLM extractor, recorded as such in their ``producer``: ingestion never stops
and the raw log is untouched. Relative dates are resolved against the turn's time twice over: the
model is asked to, and the rule resolver annotates whatever relative phrase it left. Entities
come from the fallback's recognizer run on each fact's text (spaCy when installed), merged with any
the model listed, so the model spends no output tokens on them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from outcrop.core.documents import spoken_date
from outcrop.core.payloads import DateRecord
from outcrop.core.text import content_terms
from outcrop.core.time.expressions import annotate
from outcrop.core.types import Item
from outcrop.errors import LLMError
from outcrop.llm.base import LLM
from outcrop.llm.prompts import facts as prompt
from outcrop.llm.structured import generate
from outcrop.strata.base import FactDraft, FactExtractor, Slot, date_records
from outcrop.strata.entities import EntityRecognizer, RuleEntities

__all__ = ["LLMFactExtractor", "ProducedFactDraft"]

_ATTRIBUTE = re.compile(r"[^a-z0-9]+")
_SINGLE = {"lives_in", "job", "occupation", "employer", "relationship_status", "age"}  # one current value


@dataclass
class ProducedFactDraft(FactDraft):
    """A draft that names its own producer (the fallback's, when the LLM failed for its turn)."""

    producer: str = ""


class LLMFactExtractor:
    """Turn → facts with :data:`outcrop.llm.prompts.facts.PROMPT`."""

    version = 2

    def __init__(self, llm: LLM, fallback: FactExtractor, *, min_terms: int = 3, max_tokens: int = 200) -> None:
        self.llm = llm
        self.fallback = fallback
        self.recognizer: EntityRecognizer = getattr(fallback, "entities", None) or RuleEntities()
        self.min_terms = min_terms
        self.max_tokens = max_tokens
        self.id = f"facts.llm@{self.version}:{llm.model}:{prompt.PROMPT.id}"
        self.failures = 0

    def extract(self, turn: Item, participants: Sequence[str]) -> list[FactDraft]:
        if len(set(content_terms(turn.text))) < self.min_terms:
            return self._fallback(turn, participants)
        try:
            reply = generate(
                self.llm,
                prompt.PROMPT,
                prompt.messages(turn.text, turn.speaker, turn.timestamp, list(participants)),
                max_tokens=self.max_tokens,
                item=turn.id,
            ).value
        except LLMError:
            self.failures += 1  # recorded in the ledger with the turn id
            return self._fallback(turn, participants)
        drafts: list[FactDraft] = []
        seen: set[str] = set()
        for fact in reply.facts:
            draft = self._draft(turn, participants, fact)
            key = " ".join(draft.text.lower().split()) if draft else ""
            if draft is not None and key not in seen:
                seen.add(key)
                drafts.append(draft)
        return drafts

    def _fallback(self, turn: Item, participants: Sequence[str]) -> list[FactDraft]:
        return [
            ProducedFactDraft(**{**vars(d), "producer": self.fallback.id})
            for d in self.fallback.extract(turn, participants)
        ]

    def _draft(self, turn: Item, participants: Sequence[str], fact: prompt.ExtractedFact) -> FactDraft | None:
        text = " ".join(fact.text.split())
        if len(content_terms(text)) < 2:
            return None
        speaker = turn.speaker
        if speaker and not any(p in text for p in participants if p):
            text = f"{speaker}: {text}"
        dates: list[DateRecord] = []
        if turn.timestamp:
            text, spans = annotate(text, turn.timestamp)
            dates = date_records(spans)
        happened = _iso_day(fact.date)
        if happened and not dates:
            label = spoken_date(_at_noon(happened))
            if label not in text and happened.isoformat() not in text:
                text = f"{text.rstrip('.')} (on {label})."
            iso = happened.isoformat()
            dates.append(DateRecord(phrase="", start=iso, end=iso, granularity="day", label=label))
        named = [e.strip() for e in fact.entities if e.strip() and len(e) <= 80]
        entities = list(dict.fromkeys([*named, *self.recognizer.entities(text)]))
        for person in participants:
            if person and person in text and person not in entities:
                entities.insert(0, person)
        slot = None
        if fact.attribute and fact.value and (fact.subject or speaker):
            attribute = _ATTRIBUTE.sub("_", fact.attribute.lower()).strip("_")
            if attribute:
                slot = Slot(str(fact.subject or speaker), attribute, fact.value.strip(), single=attribute in _SINGLE)
        return ProducedFactDraft(
            text=text,
            source=turn.id,
            speaker=speaker,
            timestamp=turn.timestamp,
            kind="event" if dates else ("state" if slot else "statement"),
            dates=dates,
            entities=entities[:10],
            slot=slot,
            producer=self.id,
        )


def _iso_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2100 else None


def _at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12)
