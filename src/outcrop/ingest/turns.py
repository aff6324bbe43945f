"""Ingest turns: append each new input to the log once and project it to an L0 turn item with
its lexical document and vector, in one store transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from outcrop.config import MemoryConfig
from outcrop.core.documents import dense_text, lexical_document
from outcrop.core.ids import content_hash, new_id
from outcrop.core.provenance import Writer
from outcrop.core.time.clock import format_time, now
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope
from outcrop.ingest.messages import IncomingTurn
from outcrop.ingest.provenance import check_reserved, turn_provenance
from outcrop.providers.base import Embedder
from outcrop.stores.base import Store, StrataDue, VectorSpace, WriteBatch

__all__ = ["TURN_PRODUCER", "Ingested", "TurnIngestor", "input_hashes", "readd_hash", "turn_hash"]

TURN_PRODUCER = "ingest.turn@1"


def turn_hash(scope: Scope, turn: IncomingTurn, given_time: datetime | None) -> str:
    """Identity of an input for idempotent ingest: scope, who, what, and the time the caller gave."""
    return content_hash(
        scope.user_id,
        scope.agent_id,
        scope.session_id,
        turn.role,
        turn.speaker,
        turn.content,
        format_time(given_time),
        turn.metadata,
    )


def input_hashes(scope: Scope, turns: Sequence[IncomingTurn]) -> list[str]:
    """The identity of each input of one call (:func:`turn_hash`), a repeat of an input in the call
    told apart by how many came before it: a conversation says "yes" twice, and the second used to
    be taken for the first (one memory for two turns). The first keeps the input's own hash, and a
    call made again gives the same hashes, so a retry still adds nothing."""
    before: Counter[str] = Counter()
    out = []
    for turn in turns:
        digest = turn_hash(scope, turn, turn.timestamp)
        out.append(digest if not before[digest] else content_hash("repeat", digest, before[digest]))
        before[digest] += 1
    return out


def readd_hash(digest: str) -> str:
    """The log hash of an input added again after its turn was deleted: each delete opens one more
    generation of the input's hash, so a re-add is a new record and adding it twice is still idempotent."""
    return content_hash("added-again", digest)


class _Current(NamedTuple):
    digest: str  # the log hash a write of the input uses
    held: str | None  # the live turn holding it already
    again_of: list[str]  # the deleted turns of its earlier generations


@dataclass(frozen=True)
class Ingested:
    """One id per turn given (the existing id for a turn already held), and how many were new."""

    ids: list[str]
    added: int


class TurnIngestor:
    def __init__(self, store: Store, embedder: Embedder, config: MemoryConfig) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config
        self.space = VectorSpace(embedder.id, embedder.dim)

    def add(
        self,
        scope: Scope,
        turns: Sequence[IncomingTurn],
        metadata: dict[str, object],
        memo: dict[str, np.ndarray] | None = None,
        due: str | None = None,
        writer: Writer = Writer.USER,
    ) -> Ingested:
        """Write the turns not already in the log (one transaction); one id per turn, in order.
        ``memo`` (text → vector) lets a retried add reuse the vectors of its first attempt; ``due``
        (an id) records the new turns as awaiting their strata (:class:`StrataDue`) in the same write.
        Each new turn records its writer (its role's, else ``writer``) and its screening flags
        (:mod:`outcrop.ingest.provenance`), in its log record as in its item."""
        check_reserved(metadata)
        for turn in turns:
            check_reserved(turn.metadata)
        hashes = input_hashes(scope, turns)
        current = self._current(scope, hashes)
        recorded = now()
        ids: list[str] = []
        fresh: list[Item] = []
        batch = WriteBatch(space=self.space)
        seen: dict[str, str] = {}
        for turn, given in zip(turns, hashes, strict=True):
            digest, held, again_of = current[given]
            if held is not None:
                ids.append(held)
                continue
            if digest in seen:  # the same input twice in one call
                ids.append(seen[digest])
                continue
            item_metadata = {**metadata, **turn.metadata, **turn_provenance(turn, writer)}
            payload = {
                "role": turn.role,
                "speaker": turn.speaker,
                "content": turn.content,
                "timestamp": format_time(turn.timestamp),
                "metadata": item_metadata,
                **({"again_of": again_of} if again_of else {}),  # the deleted turns it adds again (forget follows)
            }
            log = LogRecord(
                id=new_id("l"), scope=scope, kind="message", payload=payload, content_hash=digest, recorded_at=recorded
            )
            item = Item(
                id=new_id(Level.TURN.prefix),
                level=Level.TURN,
                scope=scope,
                text=turn.content,
                role=turn.role,
                speaker=turn.speaker,
                timestamp=turn.timestamp or recorded,
                metadata=item_metadata,
                sources=[log.id],
                producer=TURN_PRODUCER,
                recorded_at=recorded,
                updated_at=recorded,
            )
            batch.logs.append(log)
            batch.items.append(item)
            batch.versions.append(
                ItemVersion(item_id=item.id, version=1, event="add", text=item.text, log_id=log.id, at=recorded)
            )
            fresh.append(item)
            seen[digest] = item.id
            ids.append(item.id)
        if not fresh:
            return Ingested(ids, 0)
        self._index(scope, fresh, batch, {} if memo is None else memo)
        if due is not None:
            batch.strata_due.append(StrataDue(id=due, scope=scope, turn_ids=tuple(item.id for item in fresh)))
        self.store.records.write(batch)
        return Ingested(ids, len(fresh))

    def _current(self, scope: Scope, hashes: Sequence[str]) -> dict[str, _Current]:
        """For each input hash: the log hash a write of it uses, the live turn already holding it
        (None: write it), and the deleted turns of its earlier generations. An input whose turn was
        deleted is written again under the next generation of its hash (:func:`readd_hash`)."""
        prefix = Level.TURN.prefix + "_"
        current: dict[str, _Current] = {}
        pending = {digest: digest for digest in dict.fromkeys(hashes)}  # input hash -> generation to look up
        earlier: dict[str, list[str]] = {}  # input hash -> the deleted turns of its generations so far
        while pending:
            # each generation with the next one: a generation forgotten since leaves a gap the
            # chain steps over (its later generations still hold the input)
            looked_up = {h for c in pending.values() for h in (c, readd_hash(c))}
            found = self.store.records.items_for_log_hashes(scope, sorted(looked_up))
            later: dict[str, str] = {}
            gaps: dict[str, str] = {}
            for given, candidate in pending.items():
                turns = [i for i in found.get(candidate, []) if i.startswith(prefix)]
                if turns:
                    current[given] = _Current(candidate, turns[0], earlier.get(given, []))
                elif candidate in found:  # logged, but its turn was deleted since: the next generation
                    later[given] = candidate
                elif readd_hash(candidate) in found:  # forgotten, while a later generation is held
                    gaps[given] = readd_hash(candidate)
                else:
                    current[given] = _Current(candidate, None, earlier.get(given, []))
            if later:
                deleted = self.store.records.turns_for_log_hashes(scope, list(later.values()))
                for given, candidate in later.items():
                    earlier.setdefault(given, []).extend(deleted.get(candidate, []))
            pending = {**{given: readd_hash(candidate) for given, candidate in later.items()}, **gaps}
        return current

    def _index(self, scope: Scope, fresh: list[Item], batch: WriteBatch, memo: dict[str, np.ndarray]) -> None:
        """Fill the batch's vectors, then its positions and lexical documents (with neighbours).

        The vectors come first (``memo`` keeps them across the attempts of one add): the session's
        positions are read last, just before the write, so a concurrent writer of the same session
        rarely moves them in between (when it does, the write is refused whole and recomputed)."""
        texts = [dense_text(item) for item in fresh]
        if any(text not in memo for text in texts):  # one call for the whole batch, as the model batches it
            memo.update(zip(texts, self.embedder.embed(texts), strict=True))
        batch.vectors = {item.id: memo[text] for item, text in zip(fresh, texts, strict=True)}
        window = self.config.retrieval.neighbour_window
        if scope.session_id is None or window == 0:
            for item in fresh:
                batch.lexical[item.id] = lexical_document(item, [])
        else:
            start = self.store.records.next_position(scope)
            # Turns up to `window` before the batch gain right-hand neighbours and are re-indexed;
            # `window` more before those are read only as their left-hand context.
            earlier = self.store.records.session_turns(scope, scope.session_id, start - 2 * window, start - 1)
            sequence = [item for _, item in earlier] + fresh
            first_changed = sum(1 for position, _ in earlier if position < start - window)
            for offset, item in enumerate(fresh):
                batch.positions[item.id] = start + offset
            for index in range(first_changed, len(sequence)):
                item = sequence[index]
                neighbours = sequence[max(0, index - window) : index + window + 1]
                document = lexical_document(item, neighbours)
                if index < len(earlier):
                    batch.relexical[item.id] = document
                else:
                    batch.lexical[item.id] = document
