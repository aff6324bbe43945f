"""SQL pieces shared by the SQL backends: scope and filter clauses, row mapping.

Placeholders are written ``?``; a backend with another paramstyle converts them once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from outcrop.core.time.clock import format_time
from outcrop.core.types import Item, Level, Scope
from outcrop.stores.base import SearchFilters

__all__ = ["ITEM_COLUMNS", "filter_clause", "row_to_item", "scope_clause"]

ITEM_COLUMNS = (
    "id, level, tenant, user_id, agent_id, session_id, role, speaker, text, timestamp, "
    "metadata, producer, version, recorded_at, updated_at"
)


def scope_clause(scope: Scope, alias: str = "") -> tuple[str, list[Any]]:
    """``tenant`` always; ``user_id``, ``agent_id``, ``session_id`` when set."""
    prefix = f"{alias}." if alias else ""
    clauses = [f"{prefix}tenant = ?"]
    params: list[Any] = [scope.tenant]
    for column in ("user_id", "agent_id", "session_id"):
        value = getattr(scope, column)
        if value is not None:
            clauses.append(f"{prefix}{column} = ?")
            params.append(value)
    return " AND ".join(clauses), params


def filter_clause(
    filters: SearchFilters | None, alias: str = "", json_text: str = "json_extract({col}, '$.' || ?)"
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
    # Rows were validated when they were written: construct without validating again (searches
    # load a hundred items or more; validation was a tenth of a search's time).
    return Item.model_construct(
        id=row[0],
        level=Level(row[1]),
        scope=Scope.model_construct(tenant=row[2], user_id=row[3], agent_id=row[4], session_id=row[5]),
        role=row[6],
        speaker=row[7],
        text=row[8],
        timestamp=_time(row[9]),
        metadata=json.loads(metadata) if isinstance(metadata, str) else (metadata or {}),
        producer=row[11],
        version=row[12],
        recorded_at=_time(row[13]),
        updated_at=_time(row[14]),
        sources=sources,
    )
