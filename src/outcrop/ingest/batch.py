"""The batch path of ingest: many adds (the sessions of a file, a long list of messages) embedded
together, in large length-sorted batches, before each is written.

An embedder run call by call on one session's few dozen messages spends its time on small,
padded batches; given the texts of a thousand messages at once it sorts them by length and fills
every batch (``Embedder.embed``). :func:`prefetch` embeds the new turns of a run of adds into a
memo (text → vector) that :meth:`~outcrop.ingest.turns.TurnIngestor.add` then reads instead of
embedding. Turns already held are not embedded; a text the memo misses is embedded by the write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from outcrop.core.documents import dense_text
from outcrop.core.provenance import Writer
from outcrop.core.types import Item, Level, Scope
from outcrop.ingest.messages import IncomingTurn
from outcrop.ingest.turns import input_hashes
from outcrop.providers.base import Embedder
from outcrop.stores.base import Store

__all__ = ["CHUNK_MESSAGES", "PendingAdd", "chunks", "prefetch", "split_long"]

CHUNK_MESSAGES = 1024  # messages embedded together (their vectors are held until written: ~1.5 MB at 384-d)


@dataclass(frozen=True)
class PendingAdd:
    """One add of a batch: the turns of one scope (a session), checked and normalised."""

    scope: Scope
    turns: list[IncomingTurn]
    metadata: dict[str, Any] = field(default_factory=dict)
    writer: Writer = Writer.DOCUMENT  # who wrote turns whose role names nobody: a file's, by default


def split_long(adds: Iterable[PendingAdd], most: int = CHUNK_MESSAGES) -> Iterator[PendingAdd]:
    """Each add, with one of more than ``most`` turns (a long session) cut into consecutive adds
    of ``most``: a write is then bounded whatever the session's length. The turns keep their
    order and session positions; a stopped ingest still resumes where it stopped."""
    for add in adds:
        if len(add.turns) <= most:
            yield add
            continue
        for start in range(0, len(add.turns), most):
            yield PendingAdd(add.scope, add.turns[start : start + most], add.metadata, add.writer)


def chunks(adds: Iterable[PendingAdd], messages: int = CHUNK_MESSAGES) -> Iterator[list[PendingAdd]]:
    """Consecutive runs of adds holding about ``messages`` turns each (an add is never split)."""
    run: list[PendingAdd] = []
    size = 0
    for add in adds:
        run.append(add)
        size += len(add.turns)
        if size >= messages:
            yield run
            run, size = [], 0
    if run:
        yield run


def turn_text(scope: Scope, turn: IncomingTurn) -> str:
    """The text a turn's vector is made from (:func:`~outcrop.core.documents.dense_text` of its item)."""
    return dense_text(Item(id="t_", level=Level.TURN, scope=scope, text=turn.content, speaker=turn.speaker))


def prefetch(store: Store, embedder: Embedder, adds: Sequence[PendingAdd], memo: dict[str, np.ndarray]) -> int:
    """Embed, in one call, the texts of the turns of ``adds`` not yet held nor in ``memo``; how many."""
    wanted: dict[str, None] = {}
    for add in adds:
        hashes = input_hashes(add.scope, add.turns)
        held = store.records.items_for_log_hashes(add.scope, hashes)
        prefix = Level.TURN.prefix + "_"
        for turn, digest in zip(add.turns, hashes, strict=True):
            if any(i.startswith(prefix) for i in held.get(digest, [])):
                continue
            text = turn_text(add.scope, turn)
            if text not in memo:
                wanted[text] = None
    texts = list(wanted)
    if texts:
        memo.update(zip(texts, embedder.embed(texts), strict=True))
    return len(texts)
