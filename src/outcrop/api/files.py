"""``Memory.ingest``: a conversation file, checked whole, then written through the batch path.

The file is read twice and never held: a first pass checks every message (a bad one anywhere
writes nothing) and counts them; the second normalises each session again and hands it to
:meth:`~outcrop.api.engine.Engine.add_many`, which embeds a chunk of sessions at a time. A JSONL
file is streamed line by line (:func:`~outcrop.core.formats.iter_batches`), so its size bounds
neither memory nor the first pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from outcrop.api.engine import Engine
from outcrop.api.reports import IngestReport
from outcrop.core.formats import iter_batches
from outcrop.core.time.clock import memory_time
from outcrop.core.types import Scope
from outcrop.errors import InvalidInputError
from outcrop.ingest.batch import PendingAdd
from outcrop.ingest.messages import normalize_messages

__all__ = ["ingest_file"]

ScopeOf = Callable[[str | None, str | None], Scope]  # (user_id, session_id) → the write scope


def _checked(
    path: str | os.PathLike[str], fmt: str, user_id: str | None, scope_of: ScopeOf, max_chars: int
) -> Iterator[PendingAdd]:
    for number, batch in enumerate(iter_batches(path, fmt, user_id=user_id), start=1):
        try:
            scope = scope_of(batch.user_id, batch.session_id)
            turns = normalize_messages(batch.messages, timestamp=memory_time(batch.timestamp), max_chars=max_chars)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{os.fspath(path)}, session {batch.session_id or number}: {exc}") from None
        yield PendingAdd(scope, turns, dict(batch.metadata))


def ingest_file(
    engine: Engine,
    path: str | os.PathLike[str],
    fmt: str,
    user_id: str | None,
    scope_of: ScopeOf,
    max_chars: int,
    *,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> IngestReport:
    """Check every message of the file, then write it; ``total`` is told the number of messages
    once checked, ``progress`` the number written after each write."""
    batches = messages = 0
    for pending in _checked(path, fmt, user_id, scope_of, max_chars):
        batches += 1
        messages += len(pending.turns)
    if total is not None:
        total(messages)
    report = IngestReport(file=os.fspath(path), batches=batches)

    def step(done: int, added: int) -> None:
        if progress is not None:
            progress(done)

    report.messages, report.added = engine.add_many(_checked(path, fmt, user_id, scope_of, max_chars), step)
    report.already_present = report.messages - report.added
    return report
