"""Import files as the REST server accepts them: checked line by line, re-scoped to the caller's
tenant, and known to apply in full before anything is written.

:meth:`outcrop.Memory.import_` already refuses a malformed file, skips records the tenant
holds and recomputes the projections. Over HTTP, where one store is shared by every tenant and
the file comes from anyone holding a key, :func:`prepare_import` adds three things:

* **Re-scoping.** Every record lands in the caller's tenant; the header's ``tenant`` and the
  records' user, agent and session names only place records *inside* it. Every log and turn id is
  re-minted (:func:`remint`): deterministically from the caller's tenant and the original id,
  keeping the id's time prefix, so importing the same file twice maps it the same way. Keeping
  an id the store does not hold while re-minting one it holds (on SQLite ids are unique
  store-wide) would tell the caller which ids other tenants hold, so no id is kept, whatever the
  header says; an update or delete keeps its target when the caller's tenant holds that item. A
  restore that keeps every id is an operator's ``outcrop import`` on the server's machine.
* **Every line checked up front**, including what :mod:`outcrop.lifecycle.replay` would only
  find while building turns (a bad payload time, a non-string speaker) and the text rules of
  ``add`` (no NUL, not empty, ``max_text_chars``), so an error always names its line and nothing
  is written.
* **Updates and deletes that cannot apply.** The file's records are replayed the way the import
  will (only records the tenant does not hold yet); an update or delete of a turn that neither
  the file nor the tenant holds is refused (400, naming the line). One of a derived item (a fact,
  episode, topic or profile line edited in the source tenant) that the tenant does not hold is
  dropped and counted: projections are recomputed from the log on import, exactly as
  :func:`outcrop.lifecycle.rebuild.rebuild` does, so such an edit has nothing to apply to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from outcrop.core.ids import remint
from outcrop.core.text import validate_text
from outcrop.core.types import Level, LogRecord, Scope
from outcrop.errors import InvalidInputError, OutcropError
from outcrop.lifecycle.export import parse_jsonl, read_object_line
from outcrop.lifecycle.replay import TURN_KINDS, fallback_turn_id, replay
from outcrop.stores.base import Store

__all__ = ["PreparedImport", "prepare_import", "remint"]

_TURN = Level.TURN.prefix + "_"


@dataclass(frozen=True)
class PreparedImport:
    text: str  # the file to hand to Memory.import_, line for line (dropped lines left blank)
    reminted: bool  # the records written have re-minted log and turn ids (always, when any is written)
    dropped: int  # updates/deletes of derived items the tenant does not hold


@dataclass
class _Line:
    number: int
    obj: dict[str, Any]
    record: LogRecord | None = None
    turn_id: str | None = None
    dropped: bool = False


def _fail(number: int, message: str) -> InvalidInputError:
    if message.startswith("line ") and ": " in message:  # re-number a message of parse_jsonl
        message = message.partition(": ")[2]
    return InvalidInputError(f"line {number}: {message}")


def _json(number: int, raw: str) -> dict[str, Any]:
    try:
        obj = read_object_line(raw)
    except InvalidInputError as exc:
        raise _fail(number, str(exc)) from None
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(number, "text must be valid Unicode (no lone surrogates)") from None
    return obj


def _remap(obj: dict[str, Any], tenant: str, held: set[str]) -> dict[str, Any]:
    """A log line with its ids re-minted for ``tenant``, and its update's or delete's target unless
    the tenant holds it (``held``)."""
    out = dict(obj)
    for key in ("id", "turn_id"):  # an empty id stays empty, to be refused as the import refuses it
        if isinstance(out.get(key), str) and out[key]:
            out[key] = remint(tenant, out[key])
    payload = out.get("payload")
    target = payload.get("item_id") if isinstance(payload, dict) else None
    if isinstance(payload, dict) and isinstance(target, str) and target and target not in held:
        out["payload"] = {**payload, "item_id": remint(tenant, payload["item_id"])}
    return out


def _held_targets(lines: list[_Line], tenant: str, store: Store) -> set[str]:
    """The items the log lines update or delete that ``tenant`` holds."""
    wanted = {
        line.obj["payload"]["item_id"]
        for line in lines
        if line.obj.get("type") == "log"
        and isinstance(line.obj.get("payload"), dict)
        and isinstance(line.obj["payload"].get("item_id"), str)
        and line.obj["payload"]["item_id"]
    }
    if not wanted:
        return set()
    return set(store.records.get_items(Scope(tenant=tenant, user_id=None), sorted(wanted)))


def _check_record(line: _Line, header: str, tenant: str, max_chars: int) -> None:
    """Parse one log line as the import will, replay it alone to surface payload errors, and hold
    its text to the rules ``add`` and ``update`` apply (no NUL, not empty, at most ``max_chars``)."""
    try:
        _, [(record, turn_id)] = parse_jsonl([header, json.dumps(line.obj)], tenant)
        if record.kind in TURN_KINDS:
            for turn in replay([record], {record.id: turn_id} if turn_id else {}).turns.values():
                validate_text(turn.text, max_chars=max_chars)
        elif record.kind == "update":
            validate_text(record.payload.get("text"), max_chars=max_chars)
    except (OutcropError, ValidationError, ValueError, TypeError, OverflowError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(line.number, first) from None
    line.record, line.turn_id = record, turn_id


def prepare_import(body: bytes, tenant: str, store: Store, *, max_chars: int) -> PreparedImport:
    """Check ``body`` (a JSONL export) for an import into ``tenant``; see the module docstring.
    Raises :class:`InvalidInputError` naming the first bad line."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"the body is not UTF-8 (byte {exc.start})") from None
    raws = text.split("\n")  # as the import reads it: only "\n" ends a line
    header_at: int | None = None
    header: dict[str, Any] = {}
    lines: list[_Line] = []
    for index, raw in enumerate(raws):
        if not raw.strip():
            continue
        number = index + 1
        obj = _json(number, raw)
        if header_at is None:
            try:
                header = parse_jsonl([raw], tenant)[0]
            except InvalidInputError as exc:
                raise _fail(number, str(exc)) from None
            header_at = index
            continue
        lines.append(_Line(number, obj))
    if header_at is None:
        raise InvalidInputError("line 1: empty file; expected an outcrop export header")
    header_line = json.dumps(header)
    held = _held_targets(lines, tenant, store)
    for line in lines:
        kind = line.obj.get("type")
        if kind == "log":
            line.obj = _remap(line.obj, tenant, held)
            _check_record(line, header_line, tenant, max_chars)
        elif kind == "item":
            try:
                parse_jsonl([header_line, json.dumps(line.obj)], tenant)
            except InvalidInputError as exc:
                raise _fail(line.number, str(exc)) from None
        else:
            raise _fail(line.number, f"unknown line type {kind!r}; expected 'log' or 'item'")
    dropped, written = _drop_unappliable(lines, tenant, store)
    out = list(raws)
    for line in lines:
        out[line.number - 1] = "" if line.dropped else json.dumps(line.obj, ensure_ascii=False)
    return PreparedImport(text="\n".join(out), reminted=written > 0, dropped=dropped)


def _drop_unappliable(lines: list[_Line], tenant: str, store: Store) -> tuple[int, int]:
    """Replay the records the import will write (those whose content hash the tenant does not
    hold, first of each hash); refuse updates/deletes of missing turns, drop those of missing
    derived items, refuse ids repeated in the file. Returns (dropped, records to write)."""
    records = [line for line in lines if line.record is not None]
    whole = Scope(tenant=tenant, user_id=None)
    held = set(store.records.items_for_log_hashes(whole, [line.record.content_hash for line in records if line.record]))
    live: set[str] = set()
    log_ids: set[str] = set()
    turn_ids: set[str] = set()
    outside: list[tuple[_Line, str]] = []
    for line in records:
        record = line.record
        assert record is not None
        if record.content_hash in held:
            continue
        held.add(record.content_hash)
        if record.id in log_ids:
            raise _fail(line.number, f"log id {record.id} appears twice in the file")
        log_ids.add(record.id)
        if record.kind in TURN_KINDS:
            turn = line.turn_id or fallback_turn_id(record.id)
            if turn in turn_ids:
                raise _fail(line.number, f"turn id {turn} appears twice in the file")
            turn_ids.add(turn)
            live.add(turn)
            continue
        target = str(record.payload["item_id"])
        if target in live:
            if record.kind == "delete":
                live.discard(target)
            continue
        outside.append((line, target))
    # held by the record's own user: another user's turn of the tenant is not the record's to
    # edit (it passed here, then the library refused it as a 404 naming a log id not in the file)
    by_user: dict[str | None, list[str]] = {}
    for line, target in outside:
        assert line.record is not None
        by_user.setdefault(line.record.scope.user_id, []).append(target)
    present = {
        (user, target)
        for user, targets in by_user.items()
        for target in store.records.get_items(Scope(tenant=tenant, user_id=user), targets)
    }
    dropped = 0
    for line, target in outside:  # applied in file order after the turns are written
        assert line.record is not None
        held_by = (line.record.scope.user_id, target)
        if held_by in present:
            if line.obj.get("kind") == "delete":
                present.discard(held_by)
            continue
        if target.startswith(_TURN):
            kind = line.obj.get("kind")
            raise _fail(line.number, f"{kind} of turn {target}, which neither the file nor its user holds")
        line.dropped = True
        dropped += 1
    return dropped, len(log_ids) - dropped
