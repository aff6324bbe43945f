"""Row writers and clauses the SQLite seams share inside one transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from outcrop.core.time.clock import format_time
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope
from outcrop.stores.base import SearchFilters
from outcrop.stores.sql import filter_clause, scope_clause
from outcrop.stores.sqlite.connection import chunks

__all__ = ["drop_links", "insert_item", "insert_log", "insert_version", "where"]


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


def insert_log(db: sqlite3.Connection, log: LogRecord) -> None:
    s = log.scope
    db.execute(
        "INSERT INTO log (id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            log.id,
            s.tenant,
            s.user_id,
            s.agent_id,
            s.session_id,
            log.kind,
            json.dumps(log.payload, ensure_ascii=False),
            log.content_hash,
            format_time(log.recorded_at),
        ),
    )


def insert_item(db: sqlite3.Connection, item: Item, position: int | None) -> int:
    """The item's row, its sources and its speaker; returns its rowid (the index key)."""
    s = item.scope
    cursor = db.execute(
        "INSERT INTO items (id, level, tenant, user_id, agent_id, session_id, role, speaker, text, timestamp,"
        " metadata, producer, version, position, recorded_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.id,
            item.level.value,
            s.tenant,
            s.user_id,
            s.agent_id,
            s.session_id,
            item.role,
            item.speaker,
            item.text,
            format_time(item.timestamp),
            json.dumps(item.metadata, ensure_ascii=False),
            item.producer,
            item.version,
            position,
            format_time(item.recorded_at),
            format_time(item.updated_at or item.recorded_at),
        ),
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
