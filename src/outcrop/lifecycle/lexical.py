"""Lexical documents of a session's turns, each with its neighbours, as ingest builds them."""

from __future__ import annotations

from collections.abc import Sequence

from outcrop.core.documents import lexical_document
from outcrop.core.types import Item, Scope
from outcrop.stores.base import LexicalDocument, Store, WriteBatch

__all__ = ["edited_session_documents", "refresh_session_documents", "session_documents"]

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


def edited_session_documents(store: Store, turn: Item, text: str | None, window: int) -> dict[str, LexicalDocument]:
    """The lexical documents an edit of ``turn`` changes, to be written in the edit's transaction:
    the turn's own once it reads ``text`` (with its neighbours' words, as ingest builds it), and
    those of its session neighbours whose context reads it. ``text`` None: a delete (the turn has
    no document; its neighbours' no longer read it)."""
    changed = None if text is None else turn.model_copy(update={"text": text})
    own = {} if changed is None else {turn.id: lexical_document(changed, [])}
    if turn.scope.session_id is None or window == 0:
        return own
    turns = [t for _, t in store.records.session_turns(turn.scope, turn.scope.session_id, 0, _ALL)]
    after = [t if t.id != turn.id else changed for t in turns]
    wanted = session_documents([t for t in after if t is not None], window)
    current = store.lexical.documents(turn.scope, [i for i in wanted if i != turn.id])
    changed_documents = {i: d for i, d in wanted.items() if i != turn.id and current.get(i) != d}
    return {**changed_documents, **{i: wanted.get(i, d) for i, d in own.items()}}
