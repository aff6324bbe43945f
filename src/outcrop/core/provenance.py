"""Provenance shared by every layer: which verbatim turns an item stands for."""

from __future__ import annotations

from outcrop.core.types import Hit, Item, Level

__all__ = ["carried_turns"]


def carried_turns(hit: Hit | Item) -> frozenset[str]:
    """The L0 turns ``hit`` carries: a turn itself; a derived item's turn sources (a fact its source
    turn, an episode, topic or profile line the turns whose content its text carries)."""
    if hit.level == Level.TURN:
        return frozenset({hit.id})
    return frozenset(s for s in hit.sources if s.startswith(Level.TURN.prefix + "_"))
