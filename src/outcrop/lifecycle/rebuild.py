"""``rebuild``: recompute every projection of a tenant (or one user) from the log.

The log is the source of truth (DESIGN.md §1); everything else is a projection. A rebuild
replays the log into turns (:mod:`outcrop.lifecycle.replay`), drops every stored item of the
scope and writes the turns back with their lexical documents (neighbour context included) and
vectors in the active space, in one transaction, and then consolidates each owner scope from
scratch: facts, episodes, topics and profile. Derived ids are deterministic, so the result equals the state
built incrementally (with ``strata.refresh_growth = 0``; with a positive growth threshold the
incremental topics and profile may lag behind, and the rebuild brings them up to date), as long
as turns arrived in time order: facts merge into the earliest statement and link to earlier
facts (strata/links.py), so turns backfilled out of order may merge the other way round.

Item history (``history()``) is kept: it is the record of what happened to each id.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from outcrop.core.documents import dense_text
from outcrop.core.ids import new_id
from outcrop.core.types import Item, Level, Scope
from outcrop.lifecycle.logs import iter_log
from outcrop.lifecycle.replay import Replay, replay, turn_ids
from outcrop.providers.base import Embedder, first_window_only
from outcrop.stores.base import Store, StrataDue, VectorSpace, WriteBatch
from outcrop.strata.consolidate import Consolidator

__all__ = ["RebuildReport", "rebuild", "write_turns"]

_EMBED_BATCH = 256


class RebuildReport(BaseModel):
    """What a rebuild read and wrote."""

    records: int = 0  # log records replayed
    removed: int = 0  # items dropped before the rebuild
    turns: int = 0  # turns written back
    written: dict[str, int] = Field(default_factory=dict)  # items consolidation wrote, per level


def embed_items(embedder: Embedder, items: Sequence[Item]) -> dict[str, np.ndarray]:
    """Vectors of ``items`` (their dense text), in batches, as ingest and the strata make them: a
    turn read whole, a derived item from its first window (:func:`first_window_only`)."""
    derived = first_window_only(embedder)
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(items), _EMBED_BATCH):
        chunk = items[start : start + _EMBED_BATCH]
        for model, part in (
            (embedder, [i for i in chunk if i.level == Level.TURN]),
            (derived, [i for i in chunk if i.level != Level.TURN]),
        ):
            if part:
                embedded = model.embed([dense_text(i) for i in part])
                vectors.update({item.id: embedded[n] for n, item in enumerate(part)})
    return vectors


def write_turns(store: Store, embedder: Embedder, state: Replay, tenant: str, window: int, batch: WriteBatch) -> None:
    """Add the replayed turns, their documents and vectors to ``batch`` and write it."""
    turns = list(state.turns.values())
    batch.space = VectorSpace(embedder.id, embedder.dim)
    batch.tenant = tenant
    batch.items.extend(turns)
    batch.positions.update(state.positions)
    batch.lexical.update(state.documents(window))
    batch.vectors.update(embed_items(embedder, turns))
    store.records.write(batch)


def consolidate_owners(consolidator: Consolidator, owners: Sequence[Scope], report: RebuildReport) -> None:
    for owner in owners:
        result = consolidator.consolidate(owner)
        for level, n in result.written.items():
            report.written[level] = report.written.get(level, 0) + n


def rebuild(
    store: Store, embedder: Embedder, consolidator: Consolidator, scope: Scope, *, window: int
) -> RebuildReport:
    """Recompute every projection of ``scope`` (a tenant, or one user of it) from its log.

    The stored items are dropped and the replayed turns written in one transaction, with a record
    that each owner's strata are to be computed anew (:class:`~outcrop.stores.base.StrataDue`),
    dropped once the consolidation after it is done: a rebuild stopped anywhere leaves the scope
    as it was or its turns whole (same ids) with their strata due for the next open. It used to
    commit the drop first: a stop while the turns were embedded left the scope empty, and the
    next rebuild, no longer finding the turns' ids, gave them new ones."""
    records = list(iter_log(store, scope))
    tenant = Scope(tenant=scope.tenant, user_id=scope.user_id)
    state = replay(records, turn_ids(store, tenant, records))
    report = RebuildReport(records=len(records), turns=len(state.turns))
    stored = [i.id for i in store.records.iter_items(tenant)]
    dues = [StrataDue(id=new_id("d"), scope=owner, turn_ids=()) for owner in state.owners()]
    batch = WriteBatch(removes={tenant: stored} if stored else {}, strata_due=dues)
    write_turns(store, embedder, state, scope.tenant, window, batch)
    report.removed = len(stored)
    consolidate_owners(consolidator, state.owners(), report)
    store.records.clear_strata_due(scope.tenant, [due.id for due in dues])
    return report
