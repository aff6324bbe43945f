"""Reading the log through the Store protocol: every record of a scope, in append order."""

from __future__ import annotations

from collections.abc import Iterator

from outcrop.core.types import LogRecord, Scope
from outcrop.stores.base import Store

__all__ = ["PAGE", "iter_log", "log_texts"]

PAGE = 1000


def iter_log(store: Store, scope: Scope) -> Iterator[LogRecord]:
    """Every log record in ``scope``, oldest first, read a page at a time (each from where the
    last ended: a user's whole log costs what that user's records cost)."""
    after: str | None = None
    while True:
        page = store.records.log_records(scope, limit=PAGE, after=after)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id


def log_texts(record: LogRecord) -> list[str]:
    """The content a record carries that a person wrote: message text and speaker, update text."""
    payload = record.payload
    texts = [payload.get("content"), payload.get("text"), payload.get("speaker")]
    return [t for t in texts if isinstance(t, str) and t.strip()]
