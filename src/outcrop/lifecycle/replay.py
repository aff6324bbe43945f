"""Replay the log into turns: the L0 projection, computed from log records alone.

``rebuild`` and ``import`` both start here. A ``message`` record becomes a turn exactly as
:class:`~outcrop.ingest.turns.TurnIngestor` made it (text, speaker, role, time, metadata,
position in its session); an ``update`` record replaces a turn's text, a ``delete`` record drops
it. The one thing the log does not say is the id the turn was given at ingest (ids are made at
write time); :func:`turn_ids` recovers it from the store (the turn's provenance edge, or the
history of turns updated or deleted since), and :func:`replay` takes it as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from outcrop.core.documents import lexical_document
from outcrop.core.ids import derived_id
from outcrop.core.provenance import RESERVED_KEYS, WRITER_KEY, Writer, writer_of_metadata
from outcrop.core.time.clock import parse_time
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope
from outcrop.errors import InvalidInputError, NotFoundError
from outcrop.ingest.messages import IncomingTurn
from outcrop.ingest.provenance import turn_provenance
from outcrop.ingest.turns import TURN_PRODUCER
from outcrop.lifecycle.lexical import session_documents
from outcrop.stores.base import LexicalDocument, Store

__all__ = ["TURN_KINDS", "Replay", "fallback_turn_id", "replay", "turn_ids"]

TURN_KINDS = ("message", "text")


def fallback_turn_id(log_id: str) -> str:
    """The id of a turn whose log record has no recorded turn id (deterministic)."""
    return derived_id(Level.TURN.prefix, "turn-of", log_id)


def turn_ids(store: Store, tenant: Scope, records: Sequence[LogRecord]) -> dict[str, str]:
    """Map each ``message`` record's log id to the id of the turn made from it, as the store
    knows it: a live turn cites its record; a turn updated or deleted since has a history whose
    ``add`` entry names the record."""
    found: dict[str, str] = {}
    prefix = Level.TURN.prefix + "_"
    by_hash = {r.content_hash: r.id for r in records if r.kind in TURN_KINDS}
    for digest, item_ids in store.records.items_for_log_hashes(tenant, list(by_hash)).items():
        turns = [i for i in item_ids if i.startswith(prefix)]
        if digest in by_hash and turns:
            found[by_hash[digest]] = turns[0]
    for record in records:
        target = record.payload.get("item_id")
        if record.kind not in ("update", "delete") or not isinstance(target, str) or target in found.values():
            continue
        try:
            history = store.records.history(tenant, target)
        except NotFoundError:
            continue
        for version in history:
            if version.event == "add":
                found.setdefault(version.log_id, target)
    return found


@dataclass
class Replay:
    """The turns the log yields, and what a fresh store needs to hold them."""

    turns: dict[str, Item] = field(default_factory=dict)  # live turns by id, in ingest order
    positions: dict[str, int] = field(default_factory=dict)
    versions: list[ItemVersion] = field(default_factory=list)
    outside: list[LogRecord] = field(default_factory=list)  # updates/deletes of turns not replayed

    def documents(self, window: int) -> dict[str, LexicalDocument]:
        """Each turn's lexical document with its session neighbours, as ingest builds them."""
        sessions: dict[tuple[Scope, str], list[Item]] = {}
        documents: dict[str, LexicalDocument] = {}
        for item in self.turns.values():
            if item.scope.session_id is None or window == 0:
                documents[item.id] = lexical_document(item, [])
            else:
                sessions.setdefault((item.scope, item.scope.session_id), []).append(item)
        for turns in sessions.values():
            turns.sort(key=lambda t: self.positions[t.id])
            documents.update(session_documents(turns, window))
        return documents

    def owners(self) -> list[Scope]:
        """The (tenant, user, agent) scopes whose strata the turns feed."""
        owners = {
            Scope(tenant=t.scope.tenant, user_id=t.scope.user_id, agent_id=t.scope.agent_id)
            for t in self.turns.values()
        }
        return sorted(owners, key=lambda s: (s.tenant, s.user_id or "", s.agent_id or ""))


def _turn(record: LogRecord, turn_id: str, writer: Writer) -> Item:
    payload = record.payload
    content = payload.get("content", payload.get("text"))
    if not isinstance(content, str):
        raise InvalidInputError(f"log record {record.id}: a {record.kind} needs a string 'content'")
    metadata = payload.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"log record {record.id}: 'metadata' must be an object")
    # screened again (the file an import reads may have lost its flags); the writer recorded is
    # kept, a record written before writers were recorded gets its role's (else ``writer``)
    recorded = writer_of_metadata(metadata)
    role = payload.get("role")
    incoming = IncomingTurn(role if isinstance(role, str) else "", None, content, None)
    metadata = {
        **{k: v for k, v in metadata.items() if k not in RESERVED_KEYS},
        **turn_provenance(incoming, writer),
        **({WRITER_KEY: recorded.value} if recorded is not None else {}),
    }
    when = payload.get("timestamp")
    return Item(
        id=turn_id,
        level=Level.TURN,
        scope=record.scope,
        text=content,
        role=payload.get("role"),
        speaker=payload.get("speaker"),
        timestamp=parse_time(when) if when else record.recorded_at,
        metadata=metadata,
        sources=[record.id],
        producer=TURN_PRODUCER,
        recorded_at=record.recorded_at,
        updated_at=record.recorded_at,
    )


def replay(
    records: Sequence[LogRecord],
    ids: Mapping[str, str],
    first_positions: Mapping[tuple[str, str | None, str], int] | None = None,
    writer: Writer = Writer.USER,
) -> Replay:
    """The turns ``records`` (in append order) yield; ``ids`` maps message log ids to turn ids
    (:func:`fallback_turn_id` for the others). A session's turns are numbered from 0, or from
    ``first_positions[(tenant, user, session)]`` when the store already holds turns of it (an import).
    A record written before writers were recorded gets its role's writer (else ``writer``) and
    is screened now."""
    state = Replay()
    live_positions: dict[tuple[str, str | None, str], set[int]] = {
        key: {start - 1} for key, start in (first_positions or {}).items() if start > 0
    }
    last_version: dict[str, int] = {}
    for record in records:
        if record.kind in TURN_KINDS:
            turn = _turn(record, ids.get(record.id) or fallback_turn_id(record.id), writer)
            state.turns[turn.id] = turn
            s = record.scope
            if s.session_id is not None:
                taken = live_positions.setdefault((s.tenant, s.user_id, s.session_id), set())
                position = max(taken) + 1 if taken else 0
                taken.add(position)
                state.positions[turn.id] = position
            state.versions.append(
                ItemVersion(
                    item_id=turn.id, version=1, event="add", text=turn.text, log_id=record.id, at=record.recorded_at
                )
            )
            last_version[turn.id] = 1
        elif record.kind in ("update", "delete"):
            target = record.payload.get("item_id")
            if not isinstance(target, str):
                raise InvalidInputError(f"log record {record.id}: an {record.kind} needs a string 'item_id'")
            found = state.turns.get(target)
            if found is None:
                state.outside.append(record)
                continue
            if record.kind == "update":
                text = record.payload.get("text")
                if not isinstance(text, str):
                    raise InvalidInputError(f"log record {record.id}: an update needs a string 'text'")
                version = last_version[target] + 1
                last_version[target] = version
                state.turns[target] = found.model_copy(
                    update={
                        "text": text,
                        "version": version,
                        "updated_at": record.recorded_at,
                        "sources": sorted({*found.sources, record.id}),
                    }
                )
                state.versions.append(
                    ItemVersion(
                        item_id=target,
                        version=version,
                        event="update",
                        text=text,
                        log_id=record.id,
                        at=record.recorded_at,
                    )
                )
            else:
                del state.turns[target]
                freed = state.positions.pop(target) if target in state.positions else None
                s = found.scope
                if freed is not None and s.session_id is not None:
                    live_positions[(s.tenant, s.user_id, s.session_id)].discard(freed)
                state.versions.append(
                    ItemVersion(
                        item_id=target,
                        version=last_version[target],
                        event="delete",
                        text=None,
                        log_id=record.id,
                        at=record.recorded_at,
                    )
                )
        else:
            raise InvalidInputError(f"log record {record.id}: unknown kind {record.kind!r}")
    return state
