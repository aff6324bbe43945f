"""Row statements the records' writes (and erasure) run inside their transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from outcrop.core.types import Item, ItemVersion, LogRecord, Scope
from outcrop.errors import NotFoundError
from outcrop.stores.postgres.lexical import PostgresLexical
from outcrop.stores.postgres.sqlparts import Conn, pg
from outcrop.stores.sql import LOG_COLUMNS, item_values, log_values, scope_clause

__all__ = ["drop_items", "insert_item", "insert_log", "insert_version", "require", "sources"]


def _as_is(value: Any) -> Any:
    return value  # psycopg adapts datetimes itself


def insert_log(conn: Conn, log: LogRecord) -> None:
    conn.execute(
        f"INSERT INTO log ({LOG_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        log_values(log, Jsonb, _as_is),
    )


def insert_item(conn: Conn, item: Item, position: int | None) -> None:
    """The item's row, its speaker and its sources (its lexical document and vector are apart)."""
    s = item.scope
    conn.execute(
        'INSERT INTO items (id, level, tenant, user_id, agent_id, session_id, role, speaker, text, "timestamp",'
        ' metadata, producer, version, "position", recorded_at, updated_at)'
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        item_values(item, position, Jsonb, _as_is),
    )
    if item.speaker:
        conn.execute(
            "INSERT INTO scope_speakers VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [s.tenant, s.user_id, item.speaker],
        )
    for source in item.sources:
        conn.execute(
            "INSERT INTO item_sources (tenant, item_id, source_id) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [s.tenant, item.id, source],
        )


def insert_version(conn: Conn, v: ItemVersion, tenant: str) -> None:
    conn.execute(
        "INSERT INTO item_versions (item_id, version, event, text, log_id, at, tenant)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        [v.item_id, v.version, v.event, v.text, v.log_id, v.at, tenant],
    )


def require(conn: Conn, scope: Scope, item_id: str) -> None:
    """Raise :class:`NotFoundError` unless ``item_id`` is an item in ``scope``."""
    clause, params = scope_clause(scope)
    if conn.execute(f"SELECT 1 FROM items WHERE id = %s AND {pg(clause)}".encode(), [item_id, *params]).fetchone():
        return
    raise NotFoundError(f"no memory item {item_id!r} in this scope")


def drop_items(conn: Conn, lexical: PostgresLexical, tenant: str, ids: Sequence[str]) -> None:
    """Delete the rows of ``ids`` (already checked to be in scope): lexical stats, vectors, sources,
    items and their links."""
    lexical.unindex(conn, tenant, ids)
    for table in ("vectors", "item_sources", "items"):
        column = "id" if table == "items" else "item_id"
        conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND {column} = ANY(%s)".encode(), [tenant, list(ids)])
    conn.execute(
        "DELETE FROM item_links WHERE tenant = %s AND (src = ANY(%s) OR dst = ANY(%s))",
        [tenant, list(ids), list(ids)],
    )


def sources(conn: Conn, tenant: str, ids: Sequence[str]) -> dict[str, list[str]]:
    """Item id → its source ids, in order."""
    out: dict[str, list[str]] = {}
    if not ids:
        return out
    rows = conn.execute(
        "SELECT item_id, source_id FROM item_sources WHERE tenant = %s AND item_id = ANY(%s)"
        ' ORDER BY item_id COLLATE "C", source_id COLLATE "C"',
        [tenant, list(ids)],
    ).fetchall()
    for item_id, source in rows:
        out.setdefault(item_id, []).append(source)
    return out
