"""Quarantine: keep the items instruction screening flagged out of what reads return.

With ``retrieval.quarantine`` set to ``"context"`` (or ``"search"``, which also covers search),
an item flagged at write time and not released since is left out, and so is a derived item
(fact, episode, topic, profile line) that carries such a turn: a summary quoting an injected turn
would carry the injection into the prompt. Nothing is deleted; ``Memory.flagged`` lists the items
and ``Memory.release`` lets one back in (docs/reliability.md, "Memory poisoning").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from outcrop.core.provenance import is_quarantined, read_turns
from outcrop.core.types import Hit, Item, Level, Scope
from outcrop.stores.base import Store

__all__ = ["quarantined_ids", "without_quarantined"]

H = TypeVar("H", Hit, Item)


def quarantined_ids(store: Store, scope: Scope, hits: Sequence[Hit | Item]) -> set[str]:
    """The ids among ``hits`` to keep out: flagged and not released, or derived from a turn that is."""
    out = {hit.id for hit in hits if is_quarantined(hit)}
    derived = [hit for hit in hits if hit.level != Level.TURN and hit.id not in out]
    wanted = sorted({turn for hit in derived for turn in read_turns(hit)})
    if wanted:
        owner = Scope(tenant=scope.tenant, user_id=scope.user_id, agent_id=scope.agent_id)  # any session
        flagged = {i for i, turn in store.records.get_items(owner, wanted).items() if is_quarantined(turn)}
        out |= {hit.id for hit in derived if read_turns(hit) & flagged}
    return out


def without_quarantined(store: Store, scope: Scope, hits: Sequence[H]) -> list[H]:
    """``hits`` in order, less the quarantined ones."""
    out = quarantined_ids(store, scope, hits)
    return [hit for hit in hits if hit.id not in out] if out else list(hits)
