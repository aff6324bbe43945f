"""outcrop's records in mem0 2.0.x shapes: memory items, search results, history rows, and the
mapping between mem0 ids and outcrop ids.

A memory is an outcrop turn. Its mem0 fields come from the turn: ``memory`` its text, ``hash``
the MD5 of the text (as mem0 computes it), ``created_at`` its time, ``updated_at`` its last edit,
``actor_id`` its speaker (mem0's message ``name``), ``role`` its role, the scope's ids, and
``metadata`` the caller's metadata without outcrop's own keys. The user ``"default"`` is
outcrop's name for "no user": a memory added with only an ``agent_id`` or ``run_id`` shows none.

A memory imported from mem0 keeps its UUID as ``t_<uuid>`` (outcrop's turn prefix); the shim
shows and accepts the bare UUID, so ids a mem0 application stored keep working.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from outcrop.core.types import DEFAULT_USER, Item, ItemVersion, Scope

__all__ = [
    "INTERNAL_KEYS",
    "from_mem0_id",
    "history_rows",
    "iso",
    "memory_item",
    "to_mem0_id",
    "user_metadata",
]

INTERNAL_KEYS = frozenset({"writer", "screening", "expiration_date"})
"""Metadata keys outcrop (or the shim: ``expiration_date`` is shown beside ``metadata``, as mem0
does) keeps on a turn that are not the caller's metadata."""

_TURN = "t_"


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def to_mem0_id(item_id: str) -> str:
    """The id mem0 code sees: an imported memory's original UUID, else outcrop's id."""
    rest = item_id[len(_TURN) :]
    return rest if item_id.startswith(_TURN) and _is_uuid(rest) else item_id


def from_mem0_id(memory_id: str) -> str:
    """The outcrop id of a memory id mem0 code hands back."""
    return _TURN + memory_id.lower() if _is_uuid(memory_id) else memory_id


def iso(moment: datetime | None) -> str | None:
    """An ISO-8601 time with its UTC offset, as mem0 writes ``created_at``/``updated_at``."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def user_metadata(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """The caller's metadata of a turn (``None`` when there is none, as mem0 returns it)."""
    own = {k: v for k, v in metadata.items() if k not in INTERNAL_KEYS}
    return own or None


def _ids(scope: Scope) -> dict[str, str]:
    ids: dict[str, str] = {}
    if scope.user_id is not None and scope.user_id != DEFAULT_USER:
        ids["user_id"] = scope.user_id
    if scope.agent_id is not None:
        ids["agent_id"] = scope.agent_id
    if scope.session_id is not None:
        ids["run_id"] = scope.session_id
    return ids


def memory_item(item: Item, *, score: float | None = None, with_score: bool = True) -> dict[str, Any]:
    """mem0's memory item for a turn: ``get`` has ``score: None``, ``get_all`` no ``score``,
    ``search`` the hit's score."""
    out: dict[str, Any] = {
        "id": to_mem0_id(item.id),
        "memory": item.text,
        "hash": hashlib.md5(item.text.encode()).hexdigest(),
        "metadata": user_metadata(item.metadata),
    }
    if with_score:
        out["score"] = score
    out["created_at"] = iso(item.timestamp or item.recorded_at)
    out["updated_at"] = iso(item.updated_at or item.recorded_at)
    out.update(_ids(item.scope))
    if item.speaker is not None:
        out["actor_id"] = item.speaker
    if item.role is not None:
        out["role"] = item.role
    if item.metadata.get("expiration_date") is not None:
        out["expiration_date"] = item.metadata["expiration_date"]
    return out


_EVENTS = {"add": "ADD", "update": "UPDATE", "delete": "DELETE"}


def history_rows(versions: Sequence[ItemVersion], actor: str | None, role: str | None) -> list[dict[str, Any]]:
    """mem0's history rows of a memory, oldest first: each version with the text before and
    after it, and the memory's ``actor`` (speaker) and ``role``."""
    rows: list[dict[str, Any]] = []
    previous: str | None = None
    created = iso(versions[0].at) if versions else None
    for version in versions:
        event = _EVENTS.get(version.event, version.event.upper())
        new = None if event == "DELETE" else version.text
        rows.append(
            {
                "id": version.log_id,
                "memory_id": to_mem0_id(version.item_id),
                "old_memory": previous,
                "new_memory": new,
                "event": event,
                "created_at": created,
                "updated_at": iso(version.at),
                "is_deleted": event == "DELETE",
                "actor_id": actor,
                "role": role,
            }
        )
        previous = new if new is not None else previous
    return rows
