"""Read a mem0 store into outcrop's export format, for :meth:`Memory.import_` (``outcrop import-mem0``).

Two sources:

* a mem0 local store: the folder of its local Qdrant (``vector_store.config.path``) holding the
  collection (``collection_name``, default ``mem0``), and its history database
  (``history_db_path``, SQLite, table ``history``) when there is one;
* a JSON export: what ``Memory.get_all()`` returned (``{"results": [...]}`` or the list itself),
  saved with ``json.dump``.

Each mem0 memory becomes one turn with its id (``t_<uuid>``: outcrop's turn prefix before mem0's
UUID; ``outcrop.compat.mem0`` shows and takes the bare UUID), its scope (``user_id``, ``agent_id``,
``run_id`` as the session; a memory without a user goes to the user ``default``), its metadata,
role and actor (the speaker), its ``created_at`` as both its time and its log time, and its
history: the text it was added with, then each ``UPDATE`` of the history database, as outcrop
updates at their times. Memories mem0 deleted are not in its vector store; the history database
does not say whose they were, so they are counted (``deleted``), not imported. A JSON export has
no history: each memory comes with its current text.

The log records are deterministic (ids and content hashes derive from mem0's ids and texts), so
importing the same store twice adds nothing the second time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from outcrop.core.jsontext import parse_json
from outcrop.core.time.clock import format_time, parse_time
from outcrop.core.types import DEFAULT_USER
from outcrop.errors import InvalidInputError, install_hint
from outcrop.lifecycle.export import ImportReport

__all__ = [
    "Mem0ImportReport",
    "Mem0Memory",
    "Mem0Source",
    "Mem0StoreError",
    "expiration_date",
    "read_mem0",
    "read_mem0_export",
    "read_mem0_store",
]

_CORE_KEYS = frozenset(
    {"data", "hash", "created_at", "updated_at", "id", "text_lemmatized", "user_id", "agent_id", "run_id"}
)
_ITEM_KEYS = frozenset({"id", "memory", "hash", "metadata", "score", "created_at", "updated_at"})
_SCOPE_KEYS = frozenset({"user_id", "agent_id", "run_id", "actor_id", "role"})
_PAGE = 256


class Mem0StoreError(InvalidInputError):
    """A mem0 store or export cannot be read: a missing folder or collection, a file that is not a
    mem0 export, a memory without text or time."""


class Mem0ImportReport(BaseModel):
    """What an import of a mem0 store did."""

    memories: int  # mem0 memories read (each one turn)
    deleted: int  # memories mem0's history shows deleted: not imported
    imported: ImportReport  # the import of their log records

    def line(self) -> str:
        i = self.imported
        text = (
            f"imported {self.memories} mem0 memories: {i.added} of {i.records} log records written "
            f"({i.skipped} already held), {i.turns} turns"
        )
        if self.deleted:
            text += f"; {self.deleted} memories mem0 had deleted were not imported"
        return text


@dataclass
class Mem0Memory:
    """One mem0 memory as read: its current text and the versions before it."""

    id: str
    text: str
    created_at: datetime
    updated_at: datetime | None
    user_id: str | None
    agent_id: str | None
    run_id: str | None
    role: str | None
    actor_id: str | None
    metadata: dict[str, Any]
    updates: list[tuple[datetime, str]] = field(default_factory=list)  # (when, new text), oldest first
    first_text: str | None = None  # the text it was added with, when the history says it


@dataclass
class Mem0Source:
    """What a mem0 store holds, ready to import."""

    memories: list[Mem0Memory]
    deleted: int = 0  # memories the history shows deleted (not imported: no scope is recorded)

    def export_lines(self, tenant: str) -> Iterator[str]:
        """The store as an outcrop export (see :mod:`outcrop.lifecycle.export`)."""
        yield _line({"format": "outcrop", "version": 1, "tenant": tenant, "user_id": None, "projections": False})
        for memory in sorted(self.memories, key=lambda m: (m.created_at, m.id)):
            yield from _records(memory)

    def as_export(self, tenant: str) -> io.StringIO:
        """:meth:`export_lines` as a text stream for :meth:`outcrop.Memory.import_`."""
        return io.StringIO("".join(self.export_lines(tenant)))

    def report(self, imported: ImportReport) -> Mem0ImportReport:
        return Mem0ImportReport(memories=len(self.memories), deleted=self.deleted, imported=imported)


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(("mem0", *parts)).encode()).hexdigest()


def _records(memory: Mem0Memory) -> Iterator[str]:
    scope = {
        "user_id": memory.user_id or DEFAULT_USER,
        "agent_id": memory.agent_id,
        "session_id": memory.run_id,
    }
    turn = "t_" + memory.id
    first = memory.first_text if memory.first_text is not None else memory.text
    added = format_time(memory.created_at)
    yield _line(
        {
            "type": "log",
            "id": f"l_mem0_{memory.id}_0",
            **scope,
            "kind": "message",
            "payload": {
                "content": first,
                "role": memory.role or "user",
                "speaker": memory.actor_id,
                "metadata": memory.metadata,
                "timestamp": added,
            },
            "content_hash": _hash(memory.id, "add", first),
            "recorded_at": added,
            "turn_id": turn,
        }
    )
    texts = [first]
    versions = list(memory.updates)
    if (versions[-1][1] if versions else first) != memory.text:  # an edit the history does not show
        versions.append((memory.updated_at or memory.created_at, memory.text))
    for n, (when, text) in enumerate(versions, start=1):
        texts.append(text)
        yield _line(
            {
                "type": "log",
                "id": f"l_mem0_{memory.id}_{n}",
                **scope,
                "kind": "update",
                "payload": {"item_id": turn, "text": text},
                "content_hash": _hash(memory.id, "update", str(n), text),
                "recorded_at": format_time(max(when, memory.created_at)),
                "turn_id": None,
            }
        )


def _time(value: Any, what: str) -> datetime:
    try:
        moment = parse_time(value)
    except InvalidInputError as exc:
        raise Mem0StoreError(f"{what}: {exc}") from None
    if moment is None:
        raise Mem0StoreError(f"{what}: no time")
    return moment


def _name(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def expiration_date(value: Any) -> str | None:
    """mem0's ``expiration_date`` as it stores it, ``YYYY-MM-DD``: from a date, a datetime or such a
    string; ``None`` for none; anything else refused with mem0's message."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InvalidInputError("expiration_date must be a valid date in YYYY-MM-DD format.")


def _memory(memory_id: str, text: Any, fields: dict[str, Any], metadata: dict[str, Any]) -> Mem0Memory:
    if not isinstance(text, str) or not text.strip():
        raise Mem0StoreError(f"memory {memory_id}: no text")
    if metadata.get("expiration_date") is not None:  # anything but a date made every read of the scope fail
        try:
            metadata = {**metadata, "expiration_date": expiration_date(metadata["expiration_date"])}
        except InvalidInputError as exc:
            raise Mem0StoreError(f"memory {memory_id}: {exc}") from None
    created = _time(fields.get("created_at"), f"memory {memory_id} created_at")
    updated = fields.get("updated_at")
    return Mem0Memory(
        id=str(memory_id),
        text=text,
        created_at=created,
        updated_at=_time(updated, f"memory {memory_id} updated_at") if updated else None,
        user_id=_name(fields.get("user_id")),
        agent_id=_name(fields.get("agent_id")),
        run_id=_name(fields.get("run_id")),
        role=_name(fields.get("role")),
        actor_id=_name(fields.get("actor_id")),
        metadata=metadata,
    )


def _points(path: Path, collection: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        from qdrant_client import QdrantClient
    except ImportError:
        raise Mem0StoreError(f"reading a mem0 Qdrant folder needs qdrant-client ({install_hint('mem0')})") from None
    if not (path / "collection" / collection).is_dir():
        raise Mem0StoreError(f"{path} holds no mem0 Qdrant collection {collection!r} (collection/{collection}/)")
    try:
        client = QdrantClient(path=str(path))
    except (RuntimeError, ValueError) as exc:  # a folder another process holds open
        raise Mem0StoreError(f"cannot open the Qdrant folder {path}: {exc}") from None
    try:
        offset: Any = None
        while True:
            points, offset = client.scroll(collection, limit=_PAGE, offset=offset, with_payload=True)
            for point in points:
                yield str(point.id), dict(point.payload or {})
            if offset is None:
                return
    finally:
        client.close()


def _history(db: Path) -> dict[str, list[tuple[str, str | None, str | None, str | None]]]:
    """memory id → its rows (event, new text, time, created_at), oldest first."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise Mem0StoreError(f"cannot open the mem0 history database {db}: {exc}") from None
    try:
        rows = conn.execute(
            "SELECT memory_id, event, new_memory, updated_at, created_at FROM history"
            " ORDER BY COALESCE(updated_at, created_at), rowid"
        ).fetchall()
    except sqlite3.Error as exc:
        raise Mem0StoreError(f"{db} is not a mem0 history database: {exc}") from None
    finally:
        conn.close()
    found: dict[str, list[tuple[str, str | None, str | None, str | None]]] = {}
    for memory_id, event, new, updated, created in rows:
        found.setdefault(str(memory_id), []).append((str(event).upper(), new, updated, created))
    return found


def read_mem0_store(path: str | Path, *, collection: str = "mem0", history_db: str | Path | None = None) -> Mem0Source:
    """The memories of a mem0 local store: its Qdrant folder ``path`` and, when given (or found
    as ``history.db`` beside it), its history database. The store must not be open elsewhere
    (a local Qdrant folder admits one client)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise Mem0StoreError(f"no mem0 Qdrant folder at {folder}")
    if history_db is None and (folder / "history.db").is_file():
        history_db = folder / "history.db"
    if history_db is not None and not Path(history_db).expanduser().is_file():
        raise Mem0StoreError(f"no mem0 history database at {history_db}")
    history = _history(Path(history_db).expanduser()) if history_db is not None else {}
    memories = []
    for memory_id, payload in _points(folder, collection):
        metadata = {k: v for k, v in payload.items() if k not in _CORE_KEYS and k not in _SCOPE_KEYS}
        memory = _memory(memory_id, payload.get("data"), payload, metadata)
        rows = history.pop(memory_id, [])
        adds = [new for event, new, _, _ in rows if event == "ADD" and new]
        memory.first_text = adds[0] if adds else None
        memory.updates = [
            (_time(when or created, f"history of {memory_id}"), new)
            for event, new, when, created in rows
            if event == "UPDATE" and new
        ]
        memories.append(memory)
    deleted = sum(1 for rows in history.values() if any(event == "DELETE" for event, _, _, _ in rows))
    return Mem0Source(memories=memories, deleted=deleted)


def read_mem0_export(path: str | Path) -> Mem0Source:
    """The memories of a JSON file holding what mem0's ``get_all`` returned."""
    file = Path(path).expanduser()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise Mem0StoreError(f"cannot read {file}: {exc.strerror}") from None
    data = parse_json(raw, str(file), Mem0StoreError)
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i and "memory" in i for i in items):
        raise Mem0StoreError(
            f"{file} is not a mem0 export: expected get_all's {{'results': [{{'id', 'memory', ...}}]}}"
        )
    return Mem0Source(memories=list(_from_items(items)))


def _from_items(items: Iterable[dict[str, Any]]) -> Iterator[Mem0Memory]:
    for entry in items:
        metadata = dict(entry.get("metadata") or {})
        metadata.update({k: v for k, v in entry.items() if k not in _ITEM_KEYS and k not in _SCOPE_KEYS})
        yield _memory(str(entry["id"]), entry.get("memory"), entry, metadata)


def read_mem0(source: str | Path, *, collection: str = "mem0", history_db: str | Path | None = None) -> Mem0Source:
    """A mem0 store: a JSON file of ``get_all``'s result, or a local Qdrant folder (with its
    history database)."""
    if not isinstance(source, str | os.PathLike) or (
        history_db is not None and not isinstance(history_db, str | os.PathLike)
    ):
        raise Mem0StoreError("a mem0 store is named by a path (of its folder or of a JSON export)")
    path = Path(source).expanduser()
    if path.is_file():
        return read_mem0_export(path)
    return read_mem0_store(path, collection=collection, history_db=history_db)
