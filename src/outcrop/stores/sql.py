"""SQL pieces shared by the SQL backends: scope and filter clauses, row mapping both ways.

Placeholders are written ``?``; a backend with another paramstyle converts them once. Where a
backend stores JSON or times its own way, it passes its encoders.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from outcrop.core.time.clock import format_time
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope, trusted
from outcrop.errors import NotFoundError
from outcrop.stores.base import SearchFilters

__all__ = [
    "ITEM_COLUMNS",
    "LOG_COLUMNS",
    "add_hash_rows",
    "filter_clause",
    "item_values",
    "log_values",
    "logged_version",
    "read_history",
    "row_to_item",
    "row_to_log",
    "scope_clause",
    "slot_fact_ids",
]

ITEM_COLUMNS = (
    "id, level, tenant, user_id, agent_id, session_id, role, speaker, text, timestamp, "
    "metadata, producer, version, recorded_at, updated_at"
)
LOG_COLUMNS = "id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at"

Encode = Callable[[Any], Any]  # a JSON value or a time (or None) as the backend's column takes it
Query = Callable[[str, list[Any]], Sequence[Sequence[Any]]]  # runs ``?`` SQL, returns its rows


USERS_SQL = """
WITH RECURSIVE held(user_id) AS (
    SELECT MIN(user_id) FROM items WHERE tenant = ?
    UNION ALL
    SELECT (SELECT MIN(user_id) FROM items WHERE tenant = ? AND user_id > held.user_id)
    FROM held WHERE held.user_id IS NOT NULL
)
SELECT user_id FROM held WHERE user_id IS NOT NULL LIMIT ?
"""
"""The user ids holding items in one tenant (parameters: tenant, tenant, limit), one index probe
per user (a loose index scan over ``items(tenant, user_id, ...)``), never a scan of the items."""


def scope_clause(scope: Scope, alias: str = "", *, unindexed: bool = False) -> tuple[str, list[Any]]:
    """``tenant`` always; ``user_id``, ``agent_id``, ``session_id`` when set; with ``unindexed``
    each column under SQLite's unary ``+``, which keeps the planner from using it for an index."""
    prefix = ("+" if unindexed else "") + (f"{alias}." if alias else "")
    clauses = [f"{prefix}tenant = ?"]
    params: list[Any] = [scope.tenant]
    for column in ("user_id", "agent_id", "session_id"):
        value = getattr(scope, column)
        if value is not None:
            clauses.append(f"{prefix}{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def filter_clause(
    filters: SearchFilters | None,
    alias: str = "",
    json_text: str = "(SELECT j.value FROM json_each({col}) AS j WHERE j.key = ?)",
) -> tuple[str, list[Any]]:
    """Clauses for :class:`SearchFilters` (empty string when there is nothing to filter)."""
    if filters is None or filters.empty:
        return "", []
    prefix = f"{alias}." if alias else ""
    clauses: list[str] = []
    params: list[Any] = []
    if filters.since:
        clauses.append(f"{prefix}timestamp >= ?")
        params.append(format_time(filters.since))
    if filters.until:
        clauses.append(f"{prefix}timestamp <= ?")
        params.append(format_time(filters.until))
    if filters.speakers:
        clauses.append(f"lower({prefix}speaker) IN ({','.join('?' * len(filters.speakers))})")
        params.extend(s.lower() for s in filters.speakers)
    if filters.session_id:
        clauses.append(f"{prefix}session_id = ?")
        params.append(filters.session_id)
    if filters.as_of:
        clauses.append(f"{prefix}recorded_at <= ?")
        params.append(format_time(filters.as_of))
    if filters.levels:
        clauses.append(f"{prefix}level IN ({','.join('?' * len(filters.levels))})")
        params.extend(level.value for level in filters.levels)
    for key, value in sorted(filters.metadata.items()):
        expression = json_text.format(col=f"{prefix}metadata")
        clauses.append(f"{expression} = ?")
        params.extend([key, value if isinstance(value, str | int | float) else json.dumps(value)])
    return " AND ".join(clauses), params


def _time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def row_to_item(row: Sequence[Any], sources: list[str]) -> Item:
    """Map a row selected with :data:`ITEM_COLUMNS` to an :class:`Item`."""
    metadata = row[10]
    # Rows were validated when they were written: built without validating again (a search loads
    # a hundred items or more; validation, then ``model_construct``'s generic field walk, were
    # each a tenth of a search's time).
    return trusted(
        Item,
        {
            "id": row[0],
            "level": _LEVELS[row[1]],
            "scope": trusted(Scope, {"tenant": row[2], "user_id": row[3], "agent_id": row[4], "session_id": row[5]}),
            "text": row[8],
            "role": row[6],
            "speaker": row[7],
            "timestamp": _time(row[9]),
            "metadata": json.loads(metadata) if isinstance(metadata, str) else (metadata or {}),
            "sources": sources,
            "producer": row[11],
            "version": row[12],
            "recorded_at": _time(row[13]),
            "updated_at": _time(row[14]),
        },
    )


_LEVELS = {level.value: level for level in Level}


def row_to_log(row: Sequence[Any]) -> LogRecord:
    """Map a row selected with :data:`LOG_COLUMNS` to a :class:`LogRecord` (the payload as a JSON
    text or already decoded, the time as ISO text or a datetime)."""
    payload = row[6]
    return LogRecord(
        id=row[0],
        scope=Scope(tenant=row[1], user_id=row[2], agent_id=row[3], session_id=row[4]),
        kind=row[5],
        payload=json.loads(payload) if isinstance(payload, str) else payload,
        content_hash=row[7],
        recorded_at=_time(row[8]),
    )


def log_values(log: LogRecord, encode_json: Encode, encode_time: Encode) -> list[Any]:
    """The values of ``log``'s row, in :data:`LOG_COLUMNS` order."""
    s = log.scope
    return [
        log.id,
        s.tenant,
        s.user_id,
        s.agent_id,
        s.session_id,
        log.kind,
        encode_json(log.payload),
        log.content_hash,
        encode_time(log.recorded_at),
    ]


def item_values(item: Item, position: int | None, encode_json: Encode, encode_time: Encode) -> list[Any]:
    """The values of ``item``'s row: :data:`ITEM_COLUMNS` up to ``version``, then ``position``,
    ``recorded_at`` and ``updated_at`` (the recording time for a new item)."""
    s = item.scope
    return [
        item.id,
        item.level.value,
        s.tenant,
        s.user_id,
        s.agent_id,
        s.session_id,
        item.role,
        item.speaker,
        item.text,
        encode_time(item.timestamp),
        encode_json(item.metadata),
        item.producer,
        item.version,
        position,
        encode_time(item.recorded_at),
        encode_time(item.updated_at or item.recorded_at),
    ]


def logged_version(log: LogRecord, item_id: str, version: int, event: str, text: str | None) -> ItemVersion:
    """The history entry of ``item_id`` that ``log`` makes."""
    return ItemVersion(item_id=item_id, version=version, event=event, text=text, log_id=log.id, at=log.recorded_at)


def read_history(query: Query, scope: Scope, item_id: str, log_join: str) -> list[ItemVersion]:
    """Every version of ``item_id`` in ``scope``'s tenant (and user, when set), oldest first;
    ``log_join`` ties a version to its log record. Raises :class:`NotFoundError` when none."""
    by_user = [] if scope.user_id is None else [scope.user_id]
    rows = query(
        "SELECT v.item_id, v.version, v.event, v.text, v.log_id, v.at FROM item_versions v"
        f" JOIN log l ON {log_join} WHERE v.item_id = ? AND v.tenant = ?"
        + (" AND l.user_id = ?" if by_user else "")
        + " ORDER BY v.at, v.version, CASE v.event WHEN 'add' THEN 0 WHEN 'update' THEN 1 ELSE 2 END",
        [item_id, scope.tenant, *by_user],
    )
    if not rows:
        raise NotFoundError(f"no history for memory item {item_id!r} in this scope")
    return [ItemVersion(item_id=r[0], version=r[1], event=r[2], text=r[3], log_id=r[4], at=r[5]) for r in rows]


def add_hash_rows(found: dict[str, list[str]], rows: Sequence[Sequence[Any]]) -> None:
    """Add (content hash, derived item id or NULL) rows to ``found``: every hash a key, its item
    ids in row order."""
    for content_hash, item_id in rows:
        found.setdefault(content_hash, [])
        if item_id:
            found[content_hash].append(item_id)


def slot_fact_ids(rows: Sequence[Sequence[Any]], keys: Collection[tuple[str, str]]) -> list[str]:
    """The ids among ``rows`` (id, slot subject, slot attribute, whether both are JSON strings)
    whose case-folded (subject, attribute) is one of ``keys``, in row order; a row whose subject or
    attribute is not a string is kept (its slot is the caller's to parse: ``Records.slot_facts``)."""
    wanted = set(keys)
    return [row[0] for row in rows if not row[3] or (row[1].casefold(), row[2].casefold()) in wanted]
