"""Row writers and clauses the SQLite seams share inside one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from outcrop.core.time.clock import format_time
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope
from outcrop.stores.base import SearchFilters
from outcrop.stores.sql import LOG_COLUMNS, filter_clause, item_values, log_values, scope_clause
from outcrop.stores.sqlite.connection import chunks
from outcrop.stores.sqlite.driver import sqlite3

__all__ = ["by_ids", "by_ids_order", "drop_links", "insert_item", "insert_log", "insert_version", "where"]


def by_ids(scope: Scope, alias: str = "") -> tuple[str, list[Any]]:
    """The scope's conditions for rows found by their ids (``id IN (...)``): as
    :func:`~outcrop.stores.sql.scope_clause`, each column under a unary ``+`` so that SQLite does
    not use it for an index. The store has no ``ANALYZE`` statistics, so SQLite's planner took the
    scope's index (``tenant, user_id, ...``) for ``id IN (...) AND tenant = ? AND user_id = ?`` and
    walked every item of the user (10-30 ms a call for a 100k-item user) where the unique index
    on ``id`` seeks each id."""
    return scope_clause(scope, alias, unindexed=True)


def by_ids_order(scope: Scope) -> str:
    """The order in which SQLite returned rows of a scope read by ids before :func:`by_ids`: the
    scope index it walked (a session's by position, a user's by time, NULLs first, then rowid),
    or the id index for a whole tenant. Callers that keep row order (dicts of items, writes in
    row order) keep it unchanged with this."""
    if scope.user_id is None:
        return "ORDER BY id"
    if scope.session_id is not None:
        return "ORDER BY position, rowid"
    return "ORDER BY timestamp, rowid"


def where(
    scope: Scope, filters: SearchFilters | None, levels: Sequence[Level] = (), alias: str = ""
) -> tuple[str, list[Any]]:
    """The scope, filter and level conditions on ``items`` (aliased ``alias``)."""
    clause, params = scope_clause(scope, alias)
    extra, extra_params = filter_clause(filters, alias)
    if extra:
        clause, params = f"{clause} AND {extra}", [*params, *extra_params]
    if levels:
        prefix = f"{alias}." if alias else ""
        clause += f" AND {prefix}level IN ({','.join('?' * len(levels))})"
        params.extend(level.value for level in levels)
    return clause, params


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def insert_log(db: sqlite3.Connection, log: LogRecord) -> None:
    db.execute(
        f"INSERT INTO log ({LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", log_values(log, _json, format_time)
    )


def insert_item(db: sqlite3.Connection, item: Item, position: int | None) -> int:
    """The item's row, its sources and its speaker; returns its rowid (the index key)."""
    s = item.scope
    cursor = db.execute(
        "INSERT INTO items (id, level, tenant, user_id, agent_id, session_id, role, speaker, text, timestamp,"
        " metadata, producer, version, position, recorded_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        item_values(item, position, _json, format_time),
    )
    if item.speaker:
        db.execute("INSERT OR IGNORE INTO scope_speakers VALUES (?, ?, ?)", (s.tenant, s.user_id, item.speaker))
    db.executemany(
        "INSERT OR IGNORE INTO item_sources (item_id, source_id) VALUES (?, ?)",
        [(item.id, source) for source in item.sources],
    )
    return int(cursor.lastrowid or 0)


def insert_version(db: sqlite3.Connection, v: ItemVersion, tenant: str) -> None:
    db.execute(
        "INSERT INTO item_versions (item_id, version, event, text, log_id, at, tenant) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (v.item_id, v.version, v.event, v.text, v.log_id, format_time(v.at), tenant),
    )


def drop_links(db: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> None:
    """Remove every link with an end among ``ids`` (their items are going)."""
    for chunk in chunks(ids, 400):
        marks = ",".join("?" * len(chunk))
        db.execute(
            f"DELETE FROM item_links WHERE tenant = ? AND (src IN ({marks}) OR dst IN ({marks}))",
            [tenant, *chunk, *chunk],
        )
