"""The items instruction screening flagged: list them, and release one from quarantine.

A release marks the item's screening record ``released`` (with the time): its flags stay, for the
record, but it is no longer quarantined (:func:`outcrop.core.provenance.is_quarantined`). Releasing
a turn releases the facts that inherited its flags; a fact released alone stays out of reads
while its turn is quarantined (what carries a quarantined turn stays out). A release is kept on the items, not in the log:
a rebuild or an import screens the log again and quarantines the turn anew.
"""

from __future__ import annotations

from typing import Any

from outcrop.core.provenance import SCREENING_KEY, flags_of
from outcrop.core.time.clock import format_time, now
from outcrop.core.types import Item, Level, Scope
from outcrop.errors import InvalidInputError
from outcrop.stores.base import Store

__all__ = ["flagged_items", "release"]

_LEVELS = (Level.TURN, Level.FACT)  # the levels screening flags (a fact inherits its turn's flags)


def flagged_items(store: Store, scope: Scope, *, released: bool = False, limit: int = 100) -> list[Item]:
    """The turns and facts of ``scope`` that screening flagged, oldest first: those still
    quarantined, or with ``released`` those released too. Reads the scope's turns and facts."""
    found: list[Item] = []
    for item in store.records.iter_items(scope, levels=_LEVELS):
        if flags_of(item) and (released or not item.metadata[SCREENING_KEY].get("released")):
            found.append(item)
            if len(found) >= limit:
                break
    return found


def release(store: Store, scope: Scope, item: Item) -> list[Item]:
    """Release ``item`` (and, for a turn, the facts that inherited its flags) from quarantine;
    returns the items released. An item screening did not flag is refused."""
    if not flags_of(item):
        raise InvalidInputError(f"item {item.id!r} was not flagged by screening; there is nothing to release")
    owner = Scope(tenant=item.scope.tenant, user_id=item.scope.user_id, agent_id=item.scope.agent_id)
    items = [item]
    if item.level == Level.TURN:
        derived = store.records.get_items(owner, store.records.derived_from(owner, [item.id]))
        items += [d for d in derived.values() if flags_of(d) and d.metadata[SCREENING_KEY].get("from") == item.id]
    when = format_time(now())
    updated: dict[str, dict[str, Any]] = {}
    for each in items:
        screening = {**each.metadata[SCREENING_KEY], "released": when}
        updated[each.id] = {**each.metadata, SCREENING_KEY: screening}
    store.records.set_metadata(owner, updated)
    found = store.records.get_items(owner, list(updated))
    return [found[i] for i in updated if i in found]
