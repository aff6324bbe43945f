"""Apply time and truth to retrieved hits at read time, against a store.

Two jobs, both computed from what is stored (nothing is rewritten):

- ``as_of``: judge each slot's current value from the facts recorded by then, and hide any item
  memory had not yet recorded at that moment (the store's filters already keep them out of every
  channel, :attr:`SearchFilters.as_of`; this guards what channels reach through links);
- current truth: a fact whose (subject, attribute) slot holds a newer value is dropped
  (``superseded_weight`` 0), demoted, or only annotated (1.0) with ``explain["superseded_by"]``.

Only the facts of the slots some hit fills are read (``Records.slot_facts``), and only when one
does, so searches over memories without slot facts cost one ``get_items`` call at most (and
nothing when ``as_of`` is None).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from outcrop.core.payloads import FactPayload
from outcrop.core.time.clock import to_aware_utc
from outcrop.core.types import Hit, Level, Scope
from outcrop.stores.base import Store
from outcrop.truth.slots import slot_of
from outcrop.truth.timeline import apply_truth

__all__ = ["truth_view"]


def truth_view(
    store: Store,
    scope: Scope,
    hits: Sequence[Hit],
    *,
    as_of: datetime | None = None,
    superseded_weight: float = 1.0,
) -> list[Hit]:
    """``hits`` as memory held them at ``as_of`` (None: now), with superseded slot values handled."""
    if as_of is not None:
        as_of = to_aware_utc(as_of)
    kept = list(hits)
    if as_of is not None:
        items = store.records.get_items(scope, [h.id for h in kept])
        kept = [
            h
            for h in kept
            if h.id not in items or (recorded := items[h.id].recorded_at) is None or to_aware_utc(recorded) <= as_of
        ]
    keys = {slot.key for h in kept if h.level == Level.FACT and (slot := FactPayload.of(h).slot) is not None}
    if not keys:
        return kept
    # Slots resolve apart (truth/slots.py): the facts of the hits' slots judge them as all the
    # scope's facts would, and a user's other slots are never read.
    facts = store.records.slot_facts(scope.owner, sorted(keys))
    slot_facts = [f for f in facts if (slot := slot_of(f)) is not None and slot.key in keys]
    return apply_truth(kept, slot_facts, as_of=as_of, demote=superseded_weight)
