"""Export a memory to JSONL and import it back, into the same store or another one.

Format (version 1), one JSON object per line, keys sorted, UTF-8, ``\\n`` line ends:

* line 1, the header: ``{"format": "outcrop", "version": 1, "tenant": ..., "user_id": ...,
  "projections": false}``;
* one ``{"type": "log", ...}`` line per log record, in append order: ``id``, ``user_id``,
  ``agent_id``, ``session_id``, ``kind``, ``payload``, ``content_hash``, ``recorded_at`` and
  ``turn_id`` (the id the record's turn was given, so ids in updates, deletes and callers'
  references stay valid after an import);
* with ``projections=True``, one ``{"type": "item", ...}`` line per stored item (turns, facts,
  episodes, topics, profile), level by level and by id, without store-local write times.

The log is the content; projections are a convenience for readers of the file. An import
replays the log and recomputes every projection (``item`` lines are checked, not loaded), so a
file imports the same into SQLite or PostgreSQL. Records whose content hash the target already
holds are skipped: importing a file twice adds nothing. The whole file is parsed and checked
before anything is written; a malformed line raises :class:`~outcrop.errors.InvalidInputError`
naming its line number, and the log records, the turns and the file's updates and deletes of
turns the target held are then written in one transaction, the turns marked as awaiting their
strata until the consolidation after the import has computed them (a stopped process leaves them
due for the next open).
Export is deterministic: export → import → export gives the same bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from pydantic import BaseModel

from outcrop.core.documents import lexical_document
from outcrop.core.ids import new_id, remint
from outcrop.core.jsontext import RepeatedKeyError, unique_keys
from outcrop.core.legacy import EXPORT_FORMATS, LEGACY_NAME, NAME, LegacyNameWarning
from outcrop.core.provenance import Writer
from outcrop.core.text import validate_text
from outcrop.core.time.clock import format_time, memory_time
from outcrop.core.types import Item, Level, LogRecord, Scope
from outcrop.core.values import validate_id, validate_metadata, validate_name
from outcrop.errors import InvalidInputError, NotFoundError, StoreError
from outcrop.lifecycle.lexical import refresh_session_documents
from outcrop.lifecycle.logs import iter_log
from outcrop.lifecycle.rebuild import RebuildReport, consolidate_owners, embed_items, write_turns
from outcrop.lifecycle.replay import TURN_KINDS, fallback_turn_id, replay, turn_ids
from outcrop.providers.base import Embedder
from outcrop.stores.base import HeldEdit, Store, StrataDue, WriteBatch
from outcrop.strata.consolidate import Consolidator
from outcrop.strata.due import follow_edits, retrying

__all__ = [
    "FORMAT",
    "VERSION",
    "ExportReport",
    "ImportReport",
    "Sources",
    "export_jsonl",
    "import_jsonl",
    "parse_jsonl",
    "read_object_line",
]

FORMAT = NAME
VERSION = 1
_KINDS = (*TURN_KINDS, "update", "delete")
_MAX_TEXT = 10_000_000  # an export's text was checked on its way in; this bounds a hand-made file

Target = str | os.PathLike[str] | IO[str]
"""Where an export goes or an import comes from: a file path, or an open text stream."""

Sources = Target | Sequence[Target]
"""What an import reads: one export, or several imported as one (all of them, or nothing)."""


class ExportReport(BaseModel):
    records: int = 0
    items: int = 0
    path: str | None = None


class ImportReport(BaseModel):
    records: int = 0  # log records in the file
    added: int = 0  # written to the log
    skipped: int = 0  # already in the store (same content hash)
    turns: int = 0
    written: dict[str, int] = {}  # derived items consolidation wrote, per level


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


@contextmanager
def _opened(target: Target, mode: str) -> Iterator[IO[str]]:
    if not isinstance(target, str | os.PathLike) and not hasattr(target, "write" if mode == "w" else "read"):
        what = "an export's target" if mode == "w" else "an import's source"
        raise InvalidInputError(f"{what} must be a file path or a text stream, not {type(target).__name__}")
    if isinstance(target, str | os.PathLike) and mode == "w":
        with _written_whole(Path(target)) as handle:
            yield handle
    elif isinstance(target, str | os.PathLike):
        try:
            with open(Path(target), mode, encoding="utf-8", newline="\n") as handle:
                yield handle
        except OSError as exc:
            raise InvalidInputError(f"cannot open {os.fspath(target)}: {exc.strerror}") from None
    else:
        yield target


@contextmanager
def _written_whole(path: Path) -> Iterator[IO[str]]:
    """A file written beside ``path`` and moved over it once whole: an export cut short (a full
    disk, a stop) used to leave the lines written so far, which read as a whole export when the
    cut fell between lines; now it leaves ``path`` as it was."""
    if path.is_dir():
        raise InvalidInputError(f"cannot open {os.fspath(path)}: Is a directory")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise InvalidInputError(f"cannot open {os.fspath(path)}: {exc.strerror}") from None
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(name, path)
    except OSError as exc:
        raise StoreError(f"cannot write {os.fspath(path)}: {exc.strerror}; nothing was written") from None
    finally:
        if os.path.exists(name):
            os.unlink(name)


def _item_line(item: Item, position: int | None) -> dict[str, Any]:
    data = item.model_dump(mode="json", exclude={"scope", "recorded_at", "updated_at"})
    s = item.scope
    return {
        "type": "item",
        **data,
        "user_id": s.user_id,
        "agent_id": s.agent_id,
        "session_id": s.session_id,
        "position": position,
    }


def export_jsonl(store: Store, scope: Scope, target: Target, *, projections: bool = False) -> ExportReport:
    """Write ``scope``'s log (and with ``projections`` its items) to ``target``; see the module doc."""
    records = list(iter_log(store, scope))
    tenant = Scope(tenant=scope.tenant, user_id=scope.user_id)
    ids = turn_ids(store, tenant, records)
    report = ExportReport(
        records=len(records), path=os.fspath(target) if isinstance(target, str | os.PathLike) else None
    )
    with _opened(target, "w") as out:
        header = {
            "format": FORMAT,
            "version": VERSION,
            "tenant": scope.tenant,
            "user_id": scope.user_id,
            "projections": projections,
        }
        out.write(_line(header))
        for r in records:
            s = r.scope
            out.write(
                _line(
                    {
                        "type": "log",
                        "id": r.id,
                        "user_id": s.user_id,
                        "agent_id": s.agent_id,
                        "session_id": s.session_id,
                        "kind": r.kind,
                        "payload": r.payload,
                        "content_hash": r.content_hash,
                        "recorded_at": format_time(r.recorded_at),
                        "turn_id": ids.get(r.id),
                    }
                )
            )
        if projections:
            for level in Level:
                items = sorted(store.records.iter_items(tenant, levels=[level]), key=lambda i: i.id)
                positions = store.records.positions(tenant, [i.id for i in items]) if level == Level.TURN else {}
                for item in items:
                    out.write(_line(_item_line(item, positions.get(item.id))))
                report.items += len(items)
    return report


# -- import ---------------------------------------------------------------------------------------
def _str(obj: dict[str, Any], key: str, *, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{key!r} must be a non-empty string")
    return value


def _record(obj: dict[str, Any], tenant: str) -> tuple[LogRecord, str | None]:
    kind = _str(obj, "kind")
    if kind not in _KINDS:
        raise InvalidInputError(f"unknown record kind {kind!r}")
    payload = obj.get("payload")
    if not isinstance(payload, dict):
        raise InvalidInputError("'payload' must be an object")
    _check_payload(str(kind), payload)
    recorded = memory_time(_str(obj, "recorded_at"))  # a turn without a time of its own takes it
    assert recorded is not None
    record = LogRecord(
        id=validate_id(obj.get("id"), "'id'"),
        scope=Scope(
            tenant=tenant,
            user_id=validate_name(obj.get("user_id"), "'user_id'"),
            agent_id=_name(obj, "agent_id"),
            session_id=_name(obj, "session_id"),
        ),
        kind=str(kind),
        payload=payload,
        content_hash=str(_str(obj, "content_hash")),
        recorded_at=recorded,
    )
    turn_id = obj.get("turn_id")
    return record, None if turn_id is None else validate_id(turn_id, "'turn_id'")


def _name(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return None if value is None else validate_name(value, repr(key))


def _check_payload(kind: str, payload: dict[str, Any]) -> None:
    """A record's payload holds what ``add`` (or ``update``, ``delete``) would have accepted: text
    with no NUL or lone surrogate, names, plain-JSON metadata, a time memory can reason about."""
    if kind in TURN_KINDS:
        validate_text(payload.get("content", payload.get("text")), max_chars=_MAX_TEXT, what="text")
        for key in ("speaker", "role"):
            if payload.get(key) is not None:
                validate_name(payload[key], repr(key))
        validate_metadata(payload.get("metadata") or {}, "'metadata'")
        if payload.get("timestamp") is not None:
            memory_time(payload["timestamp"])
        return
    validate_id(payload.get("item_id"), "'item_id'")
    if kind == "update":
        validate_text(payload.get("text"), max_chars=_MAX_TEXT, what="text")


def read_object_line(raw: str) -> dict[str, Any]:
    """One line of an export file as a JSON object; :class:`InvalidInputError` saying why it is
    not one (not JSON, nested too deeply, a key named twice, not an object)."""
    try:
        obj = json.loads(raw, object_pairs_hook=unique_keys)
    except RepeatedKeyError as exc:
        raise InvalidInputError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"not JSON ({exc.msg})") from None
    except RecursionError:
        raise InvalidInputError("JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise InvalidInputError("a line must be a JSON object")
    return obj


def parse_jsonl(
    lines: Iterable[str], tenant: str, first: dict[tuple[str, str], str] | None = None
) -> tuple[dict[str, Any], list[tuple[LogRecord, str | None]]]:
    """The header and the log records of an export file, every line checked; raises
    :class:`InvalidInputError` naming the first bad line. ``first`` (("log" | "turn", id) → the
    content hash of the record that has it) carries the ids of files read before, so that one id
    claimed by two records of different content is refused across the files of one import too."""
    header: dict[str, Any] | None = None
    records: list[tuple[LogRecord, str | None]] = []
    first = {} if first is None else first
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = read_object_line(raw)
            if header is None:
                if obj.get("format") not in EXPORT_FORMATS:
                    raise InvalidInputError(f"not an outcrop export (header 'format' must be {FORMAT!r})")
                if obj.get("version") != VERSION or isinstance(obj.get("version"), bool):  # True == 1
                    raise InvalidInputError(f"unsupported export version {obj.get('version')!r}; this reads {VERSION}")
                if obj["format"] == LEGACY_NAME:
                    warnings.warn(
                        "importing an export written under outcrop's former name (memstrata)",
                        LegacyNameWarning,
                        stacklevel=2,
                    )
                header = obj
            elif obj.get("type") == "log":
                record, turn_id = _record(obj, tenant)
                _once(record, turn_id, first)
                records.append((record, turn_id))
            elif obj.get("type") == "item":
                _str(obj, "id")
                Level(str(obj.get("level")))
            else:
                raise InvalidInputError(f"unknown line type {obj.get('type')!r}; expected 'log' or 'item'")
        except (InvalidInputError, ValueError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidInputError(f"line {number}: {message}") from None
    if header is None:
        raise InvalidInputError("line 1: empty file; expected an outcrop export header")
    return header, records


def _once(record: LogRecord, turn_id: str | None, first: dict[tuple[str, str], str]) -> None:
    """Refuse an id a record of other content has already taken in the file (the same record twice
    is one record: the import skips what it holds by content hash)."""
    ids = [("log", record.id)]
    if record.kind in TURN_KINDS:
        ids.append(("turn", turn_id or fallback_turn_id(record.id)))
    for key in ids:
        if first.setdefault(key, record.content_hash) != record.content_hash:
            raise InvalidInputError(f"{key[0]} id {key[1]} appears twice in the file")


def _check_outside(store: Store, records: Sequence[LogRecord]) -> None:
    """Before anything is written: every update or delete of a turn the import does not bring
    names a turn the target holds when its turn comes, in the file's order (a missing one, or one
    the file deleted before, refuses the whole import, not its tail)."""
    wanted: dict[Scope, list[LogRecord]] = {}
    for record in records:
        if str(record.payload["item_id"]).startswith(Level.TURN.prefix + "_"):
            wanted.setdefault(Scope(tenant=record.scope.tenant, user_id=record.scope.user_id), []).append(record)
    for owner, found in wanted.items():
        live = set(store.records.get_items(owner, [str(r.payload["item_id"]) for r in found]))
        for record in found:
            target = str(record.payload["item_id"])
            if target not in live:
                raise NotFoundError(f"log record {record.id}: no turn {target!r} to {record.kind}")
            if record.kind == "delete":
                live.discard(target)


def _held_edits(store: Store, embedder: Embedder, records: Sequence[LogRecord]) -> list[HeldEdit]:
    """The file's updates and deletes of turns the target held before the import (checked by
    :func:`_check_outside`), in the file's order, to be written with its turns: one transaction.
    A derived item's delete or edit is not among them: its record goes into the imported log (a
    tombstone the consolidation after the import honours) and the item is drawn anew."""
    edits: list[HeldEdit] = []
    for record in records:
        item_id = str(record.payload["item_id"])
        if not item_id.startswith(Level.TURN.prefix + "_"):
            continue
        owner = Scope(tenant=record.scope.tenant, user_id=record.scope.user_id)
        if record.kind != "update":
            edits.append(HeldEdit(owner, item_id, record))
            continue
        current = store.records.get_items(owner, [item_id]).get(item_id)
        if current is None:  # checked before: only a concurrent delete gets here
            raise NotFoundError(f"log record {record.id}: no turn {item_id!r} to {record.kind}")
        changed = current.model_copy(update={"text": record.payload["text"]})
        vector = embed_items(embedder, [changed])[item_id]
        edits.append(HeldEdit(owner, item_id, record, changed.text, lexical_document(changed, []), vector))
    return edits


def _edit_dues(edits: Sequence[HeldEdit], tenant: str) -> list[StrataDue]:
    """Records that the turns the import updates or deletes have their strata to follow (one per
    session written to), in the import's transaction: a stop before the consolidation after it
    leaves the work to the next open, which does what the import does after its write (the owner's
    strata anew, then the edited turns' facts drawn again)."""
    by_session: dict[Scope, tuple[dict[str, None], dict[str, None]]] = {}
    for edit in edits:
        edited, removed = by_session.setdefault(edit.log.scope.model_copy(update={"tenant": tenant}), ({}, {}))
        (removed if edit.text is None else edited)[edit.item_id] = None
    return [
        StrataDue(id=new_id("d"), scope=scope, turn_ids=(), edited=tuple(edited), removed=tuple(removed), anew=True)
        for scope, (edited, removed) in by_session.items()
    ]


def _refresh_edited_sessions(store: Store, edits: Sequence[HeldEdit], window: int) -> None:
    """The lexical documents of the sessions whose turns the import updated or deleted: a turn's
    document reads its neighbours' text (as an update or delete through the API does)."""
    sessions = {e.log.scope for e in edits if e.log.scope.session_id is not None}
    for session in sorted(sessions, key=lambda s: (s.user_id or "", s.agent_id or "", s.session_id or "")):
        refresh_session_documents(store, session, window)


def _own_ids(
    store: Store, tenant: str, records: list[LogRecord], ids: dict[str, str]
) -> tuple[list[LogRecord], dict[str, str]]:
    """The records and turn ids with every id another tenant holds re-minted for ``tenant``
    (:func:`~outcrop.core.ids.remint`), and the references to them in updates and deletes: where
    ids are unique store-wide (SQLite), keeping such an id made the import fail, which told the
    importer that another tenant holds it. The import now behaves the same either way."""
    turns = {r.id: ids.get(r.id) or fallback_turn_id(r.id) for r in records if r.kind in TURN_KINDS}
    taken = store.records.taken_elsewhere(tenant, [*(r.id for r in records), *turns.values()])
    if not taken:
        return records, ids

    def mapped(old: str) -> str:
        return remint(tenant, old) if old in taken else old

    out: list[LogRecord] = []
    for record in records:
        payload = record.payload
        target = payload.get("item_id")
        if record.kind in ("update", "delete") and isinstance(target, str):
            payload = {**payload, "item_id": mapped(target)}
        out.append(record.model_copy(update={"id": mapped(record.id), "payload": payload}))
    return out, {mapped(log_id): mapped(turn_id) for log_id, turn_id in turns.items()}


def _owner_key(owner: Scope) -> tuple[str, str]:
    return (owner.user_id or "", owner.agent_id or "")


def _parse_sources(source: Sources, tenant: str) -> list[tuple[LogRecord, str | None]]:
    """The log records of every export ``source`` names, in order, each file checked whole before
    anything is written (an error in the second of several files names that file)."""
    many = isinstance(source, list | tuple)
    sources: list[Target] = list(source) if isinstance(source, list | tuple) else [cast(Target, source)]
    if many and not sources:
        raise InvalidInputError("no export to import")
    parsed: list[tuple[LogRecord, str | None]] = []
    first: dict[tuple[str, str], str] = {}
    for one in sources:
        try:
            with _opened(one, "r") as handle:
                try:
                    parsed.extend(parse_jsonl(handle, tenant, first)[1])
                except UnicodeDecodeError:
                    raise InvalidInputError("the file is not UTF-8 text") from None
        except InvalidInputError as exc:
            if not many or not isinstance(one, str | os.PathLike):
                raise
            raise InvalidInputError(f"{os.fspath(one)}: {exc}") from None
    return parsed


def import_jsonl(
    store: Store, embedder: Embedder, consolidator: Consolidator, tenant: str, source: Sources, *, window: int
) -> ImportReport:
    """Load an export, or several as one, into ``tenant`` of ``store``; see the module docstring."""
    parsed = _parse_sources(source, tenant)
    # computed again from the store when a concurrent writer took an id first (WriteConflict):
    # ids another tenant holds are checked before the write, not in its transaction
    written = retrying(lambda: _write(store, embedder, tenant, parsed, window))
    report = written.report
    if not written.wrote:
        return report
    _refresh_edited_sessions(store, written.edits, window)
    rebuilt = RebuildReport()
    consolidate_owners(consolidator, sorted(written.owners, key=_owner_key), rebuilt)
    follow_edits(consolidator, written.dues)  # a consolidation keeps the facts an edited turn no longer says
    store.records.clear_strata_due(tenant, [due.id for due in written.dues])
    report.written = rebuilt.written
    return report


@dataclass
class _Written:
    """What an import wrote: its report so far, its edits of turns held, the records of strata due,
    and the owners whose strata it changes."""

    report: ImportReport
    wrote: bool = False  # anything new: the owners are consolidated after it
    edits: list[HeldEdit] = field(default_factory=list)
    dues: list[StrataDue] = field(default_factory=list)
    owners: set[Scope] = field(default_factory=set)


def _write(
    store: Store, embedder: Embedder, tenant: str, parsed: list[tuple[LogRecord, str | None]], window: int
) -> _Written:
    """The parsed records the store does not hold yet, their turns and their edits of turns held,
    written in one transaction."""
    report = ImportReport(records=len(parsed))
    hashes = [r.content_hash for r, _ in parsed]
    present = set(store.records.items_for_log_hashes(Scope(tenant=tenant, user_id=None), hashes))
    fresh: list[LogRecord] = []
    ids: dict[str, str] = {}
    for record, turn_id in parsed:
        if record.content_hash in present:
            continue
        present.add(record.content_hash)
        fresh.append(record)
        if turn_id is not None:
            ids[record.id] = turn_id
    report.added, report.skipped = len(fresh), len(parsed) - len(fresh)
    if not fresh:
        return _Written(report)
    fresh, ids = _own_ids(store, tenant, fresh, ids)
    sessions = {r.scope for r in fresh if r.kind in TURN_KINDS and r.scope.session_id is not None}
    starts = {(s.tenant, s.user_id, str(s.session_id)): store.records.next_position(s) for s in sessions}
    state = replay(fresh, ids, starts, Writer.IMPORT)  # after the turns the store holds of those sessions
    report.turns = len(state.turns)
    # an update or delete of a turn held already is logged by the write that applies it (below);
    # a derived item's delete or edit is logged here, as its tombstone
    _check_outside(store, state.outside)
    edits = _held_edits(store, embedder, state.outside)
    applied = {edit.log.id for edit in edits}
    logs = [r for r in fresh if r.id not in applied]
    # the turns of each owner await their strata until the consolidation after the write is done,
    # and the turns held that the file edits await theirs: a process stopped before then leaves
    # them due, and the next open computes them
    by_owner: dict[Scope, list[str]] = {}
    for turn in state.turns.values():
        by_owner.setdefault(turn.scope.owner, []).append(turn.id)
    dues = [StrataDue(id=new_id("d"), scope=owner, turn_ids=tuple(ids)) for owner, ids in by_owner.items()]
    dues += _edit_dues(edits, tenant)
    batch = WriteBatch(logs=logs, versions=state.versions, strata_due=dues, edits=edits)
    write_turns(store, embedder, state, tenant, window, batch)  # the log, the turns and the edits: one transaction
    owners = set(state.owners())
    owners.update(Scope(tenant=tenant, user_id=r.scope.user_id, agent_id=r.scope.agent_id) for r in state.outside)
    return _Written(report, True, edits, dues, owners)
