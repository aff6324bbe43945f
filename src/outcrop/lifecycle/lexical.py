"""Lexical documents of a session's turns, each with its neighbours, as ingest builds them."""

from __future__ import annotations

from collections.abc import Sequence

from outcrop.core.documents import lexical_document
from outcrop.core.types import Item, Scope
from outcrop.stores.base import LexicalDocument, Store, WriteBatch

__all__ = ["refresh_session_documents", "session_documents"]

_ALL = 10**9


def session_documents(turns: Sequence[Item], window: int) -> dict[str, LexicalDocument]:
    """Each turn's document with up to ``window`` turns on each side (``turns`` in order)."""
    return {
        item.id: lexical_document(item, list(turns[max(0, i - window) : i + window + 1]) if window else [])
        for i, item in enumerate(turns)
    }


def refresh_session_documents(store: Store, scope: Scope, window: int) -> int:
    """Rewrite the documents of ``scope.session_id``'s turns whose neighbours changed (after
    turns left the session); returns how many were rewritten."""
    if scope.session_id is None or window == 0:
        return 0
    turns = [t for _, t in store.records.session_turns(scope, scope.session_id, 0, _ALL)]
    wanted = session_documents(turns, window)
    current = store.lexical.documents(scope, list(wanted))
    changed = {i: d for i, d in wanted.items() if current.get(i) != d}
    if changed:
        store.records.write(WriteBatch(relexical=changed, tenant=scope.tenant))
    return len(changed)
