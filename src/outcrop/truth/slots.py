"""Current truth per (subject, attribute) slot, computed at read time.

Facts are never overwritten. Each fact carries event time (``valid_from``: when the statement
became true, i.e. the turn's timestamp; ``valid_to``: when a newer value in the same slot took
over) and system time (``recorded_at``: when memory learned it). A retracted (deleted) fact is
simply absent from the store, so the previous value of its slot becomes current again with no
bookkeeping. Resolution only ever compares facts of the *same* slot: facts in different slots,
or facts without a slot, never affect each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from outcrop.core.payloads import FactPayload, SlotPayload
from outcrop.core.time.clock import to_aware_utc
from outcrop.core.types import Item, Level

__all__ = ["SlotKey", "SlotValue", "resolve", "slot_key", "slot_of", "superseded_ids", "visible_at"]

SlotKey = tuple[str, str]  # (subject, attribute), case-folded


class SlotValue(BaseModel):
    """One fact's place in its slot's history."""

    model_config = ConfigDict(frozen=True)

    fact_id: str
    subject: str
    attribute: str
    value: str
    valid_from: datetime | None
    valid_to: datetime | None
    recorded_at: datetime | None
    sources: tuple[str, ...] = ()
    superseded_by: str | None = None
    single: bool = True

    @property
    def current(self) -> bool:
        return self.superseded_by is None


@dataclass
class _Slot:
    facts: list[tuple[Item, SlotPayload]] = field(default_factory=list)


def _aware(moment: datetime | None) -> datetime | None:
    return to_aware_utc(moment) if moment is not None else None


def slot_of(item: Item) -> SlotPayload | None:
    """The slot a fact fills, or None (other levels, facts without a well-formed slot)."""
    if item.level != Level.FACT or "slot" not in item.metadata:
        return None
    return FactPayload.of(item).slot


def slot_key(item: Item) -> SlotKey | None:
    """The fact's (subject, attribute) slot, or None if it fills no slot."""
    slot = slot_of(item)
    return slot.key if slot is not None else None


def visible_at(item: Item, as_of: datetime | None) -> bool:
    """Whether memory held ``item`` at system time ``as_of`` (None: now)."""
    if as_of is None:
        return True
    recorded = _aware(item.recorded_at)
    return recorded is None or recorded <= _aware(as_of)  # type: ignore[operator]


def _order(item: Item) -> tuple[datetime, datetime, str]:
    floor = datetime.min.replace(tzinfo=UTC)
    return (_aware(item.timestamp) or floor, _aware(item.recorded_at) or floor, item.id)


def resolve(items: Iterable[Item], as_of: datetime | None = None) -> dict[SlotKey, list[SlotValue]]:
    """Each slot's values in event-time order, with validity closed by the next value.

    Only facts recorded by ``as_of`` take part. In a ``single`` slot a later value (by event time,
    then system time) closes the earlier one's ``valid_to`` and supersedes it, unless it repeats the
    same value — a repeat confirms rather than retires. Multi-valued slots (``single`` False) keep
    every value current. A judgement stored on the later fact (``slot.judged``, made at ingest by a
    :class:`~outcrop.strata.base.SlotJudge` for ambiguous pairs) overrides the rule for its pair:
    ``"replaces"`` retires the earlier value, ``"same"`` and ``"both_true"`` keep it current."""
    slots: dict[SlotKey, _Slot] = {}
    for item in items:
        slot = slot_of(item)
        if slot is not None and visible_at(item, as_of):
            slots.setdefault(slot.key, _Slot()).facts.append((item, slot))
    out: dict[SlotKey, list[SlotValue]] = {}
    for key, group in slots.items():
        ordered = sorted(group.facts, key=lambda pair: _order(pair[0]))
        values: list[SlotValue] = []
        for index, (fact, slot) in enumerate(ordered):
            successor: Item | None = None
            for later, later_slot in ordered[index + 1 :]:
                if _retires(later_slot, fact.id, slot):
                    successor = later
                    break
            values.append(
                SlotValue(
                    fact_id=fact.id,
                    subject=slot.subject,
                    attribute=slot.attribute,
                    value=slot.value,
                    valid_from=fact.timestamp,
                    valid_to=successor.timestamp if successor is not None else None,
                    recorded_at=fact.recorded_at,
                    sources=tuple(fact.sources),
                    superseded_by=successor.id if successor is not None else None,
                    single=slot.single,
                )
            )
        out[key] = values
    return out


def _retires(later: SlotPayload, earlier_id: str, earlier: SlotPayload) -> bool:
    verdict = later.judged.get(earlier_id) if later.judged else None
    if verdict is not None:
        return verdict == "replaces"
    return earlier.single and later.value.casefold() != earlier.value.casefold()


def superseded_ids(items: Iterable[Item], as_of: datetime | None = None) -> dict[str, str]:
    """fact id → id of the fact that superseded it, over the given facts as memory held them at ``as_of``."""
    return {
        v.fact_id: v.superseded_by
        for values in resolve(items, as_of).values()
        for v in values
        if v.superseded_by is not None
    }
