"""Compute the strata of turns recorded as awaiting them (:class:`~outcrop.stores.base.StrataDue`).

The records come from adds that left their consolidation for later (``strata.mode: deferred``, a
batch ingest) or that a stopped process cut short. The turns of many records of one owner (user,
agent) are consolidated together, in the order they were written: one pass of the fact producer,
one refresh of each session's episode and of the owner's topics and profile, where record by
record would refresh them once per add. A record of turns updated or deleted (through the API, or
an import's edits of turns the store held) has the facts drawn from them drawn again or dropped
first (:func:`follow_edits`): a consolidation alone keeps a fact its turn no longer says. A record
is dropped only once its turns' strata are written; a failure leaves it for the next attempt.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from outcrop.core.types import Scope
from outcrop.errors import WriteConflict
from outcrop.stores.base import Store, StrataDue
from outcrop.strata.consolidate import Consolidator

__all__ = ["DueReport", "consolidate_due", "follow_edits", "retrying"]

log = logging.getLogger("outcrop")

ATTEMPTS = 12  # computations of one write under contention before the conflict reaches the caller
MAX_PAUSE = 0.25  # seconds, the longest pause between two attempts

T = TypeVar("T")


def retrying(write: Callable[[], T]) -> T:
    """``write`` again (recomputed from the store) after a :class:`WriteConflict`, with a short
    jittered pause that grows, up to :data:`ATTEMPTS` times."""
    for attempt in range(ATTEMPTS):
        try:
            return write()
        except WriteConflict:
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, min(MAX_PAUSE, 0.01 * 2**attempt)))
    raise AssertionError("unreachable")


@dataclass
class DueReport:
    """What one pass over due records did: records (adds) and turns caught up, records that failed."""

    adds: int = 0
    turns: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def consolidate_due(store: Store, consolidator: Consolidator, tenant: str, dues: Sequence[StrataDue]) -> DueReport:
    """Consolidate the turns of ``dues`` (records of ``tenant``, oldest first), owner by owner,
    and drop the records of each owner once its strata are written."""
    report = DueReport()
    by_owner: dict[Scope, list[StrataDue]] = {}
    for due in dues:
        by_owner.setdefault(due.scope.owner, []).append(due)
    for owner, records in by_owner.items():
        turn_ids = list(dict.fromkeys(t for due in records for t in due.turn_ids))

        def catch_up(owner: Scope = owner, records: list[StrataDue] = records, turn_ids: list[str] = turn_ids) -> None:
            if any(due.whole for due in records):
                consolidator.consolidate(owner)
            elif turn_ids:
                consolidator.after_add(owner, turn_ids)
            follow_edits(consolidator, records)  # after: a turn added, then edited, is drawn once

        try:
            retrying(catch_up)
        except Exception as exc:  # a fault in a derived level never closes the store
            # the turns are stored and searchable; their record stays for the next attempt (an open,
            # the worker). Any exception, not only ours: a fault in a producer that some stored text
            # trips must not make every later open of the tenant fail
            log.warning("the strata of %d turns could not be computed: %s: %s", len(turn_ids), type(exc).__name__, exc)
            report.failed += len(records)
            report.errors.append(str(exc))
            continue
        store.records.clear_strata_due(tenant, [due.id for due in records])
        report.adds += len(records)
        report.turns += len(turn_ids)
    return report


def follow_edits(consolidator: Consolidator, dues: Sequence[StrataDue]) -> None:
    """The strata of the turns that ``dues`` name as deleted or updated brought in line: the facts
    drawn from them dropped, or drawn again from the new text, and what drew on those facts
    refreshed (:meth:`Consolidator.after_change`)."""
    for due in dues:
        if due.removed:
            consolidator.after_change(due.scope, due.removed, removed=True)
        if due.edited:
            consolidator.after_change(due.scope, due.edited, removed=False)
