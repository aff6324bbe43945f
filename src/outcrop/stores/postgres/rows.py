"""Row statements the records' writes (and erasure) run inside their transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from outcrop.core.types import Item, ItemVersion, LogRecord, Scope
from outcrop.errors import NotFoundError
from outcrop.stores.postgres.lexical import LexicalRow, PostgresLexical, TakenOut
from outcrop.stores.postgres.schema import TEXT_CONFIG
from outcrop.stores.postgres.sqlparts import Conn, pg
from outcrop.stores.sql import LOG_COLUMNS, item_values, log_values, scope_clause

__all__ = [
    "drop_items",
    "drop_points",
    "insert_items",
    "insert_log",
    "insert_logs",
    "insert_version",
    "insert_versions",
    "require",
]


def _as_is(value: Any) -> Any:
    return value  # psycopg adapts datetimes itself


def insert_log(conn: Conn, log: LogRecord) -> None:
    insert_logs(conn, [log])


def insert_logs(conn: Conn, logs: Sequence[LogRecord]) -> None:
    """The log records' rows, in one statement (in their order: ``seq`` follows it)."""
    if not logs:
        return
    columns = list(zip(*(log_values(log, Jsonb, _as_is) for log in logs), strict=True))
    conn.execute(
        f"INSERT INTO log ({LOG_COLUMNS}) SELECT u.id, u.tenant, u.user_id, u.agent_id, u.session_id, u.kind,"
        " u.payload, u.content_hash, u.recorded_at FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::text[], %s::jsonb[], %s::text[], %s::timestamp[]) WITH ORDINALITY"
        " AS u(id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at, n) ORDER BY u.n",
        [list(c) for c in columns],
    )


_ITEM_ARRAYS = (
    "text",  # id
    "text",  # level
    "text",  # tenant
    "text",  # user_id
    "text",  # agent_id
    "text",  # session_id
    "text",  # role
    "text",  # speaker
    "text",  # text
    "timestamp",
    "jsonb",  # metadata
    "text",  # producer
    "int",  # version
    "int",  # position
    "timestamp",  # recorded_at
    "timestamp",  # updated_at
    "text",  # lex_own
    "text",  # lex_context
    "text",  # own, normalised
    "int",  # own_len
    "bool",  # has context
    "text",  # context, normalised
    "int",  # ctx_len
)


def insert_items(
    conn: Conn, items: Sequence[Item], positions: Mapping[str, int], lexical: Mapping[str, LexicalRow]
) -> None:
    """The items' rows with their lexical columns (an item without a document in ``lexical`` has
    none), in one statement and in their order (``seq`` follows it); then their speakers and
    sources. The tenant's lexical statistics are the caller's (:meth:`PostgresLexical.count_in`)."""
    if not items:
        return
    rows = []
    for item in items:
        doc = lexical.get(item.id)
        lex = (
            [None, None, "", 0, False, "", 0]
            if doc is None
            else [doc.own, doc.context, doc.own_norm, doc.own_len, doc.has_context, doc.ctx_norm, doc.ctx_len]
        )
        rows.append([*item_values(item, positions.get(item.id), Jsonb, _as_is), *lex])
    arrays = ", ".join(f"%s::{kind}[]" for kind in _ITEM_ARRAYS)
    conn.execute(
        'INSERT INTO items (id, level, tenant, user_id, agent_id, session_id, role, speaker, text, "timestamp",'
        ' metadata, producer, version, "position", recorded_at, updated_at, lex_own, lex_context, own_tsv, own_len,'
        " ctx_tsv, ctx_len) SELECT u.id, u.level, u.tenant, u.user_id, u.agent_id, u.session_id, u.role, u.speaker,"
        " u.text, u.ts, u.metadata, u.producer, u.version, u.pos, u.recorded_at, u.updated_at, u.lex_own, u.lex_ctx,"
        f" CASE WHEN u.lex_own IS NOT NULL THEN to_tsvector('{TEXT_CONFIG}', u.own_norm) END, u.own_len,"
        f" CASE WHEN u.has_ctx THEN to_tsvector('{TEXT_CONFIG}', u.ctx_norm) END, u.ctx_len"
        f" FROM unnest({arrays}) WITH ORDINALITY AS u(id, level, tenant, user_id, agent_id, session_id, role,"
        " speaker, text, ts, metadata, producer, version, pos, recorded_at, updated_at, lex_own, lex_ctx, own_norm,"
        " own_len, has_ctx, ctx_norm, ctx_len, n) ORDER BY u.n",
        [list(column) for column in zip(*rows, strict=True)],
    )
    speakers = sorted({(i.scope.tenant, i.scope.user_id, i.speaker) for i in items if i.speaker})
    if speakers:
        conn.execute(
            "INSERT INTO scope_speakers SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) ON CONFLICT DO NOTHING",
            [list(c) for c in zip(*speakers, strict=True)],
        )
    links = [(i.scope.tenant, i.id, source) for i in items for source in i.sources]
    if links:
        conn.execute(
            "INSERT INTO item_sources (tenant, item_id, source_id) SELECT * FROM unnest(%s::text[], %s::text[],"
            " %s::text[]) ON CONFLICT DO NOTHING",
            [list(c) for c in zip(*links, strict=True)],
        )


def insert_version(conn: Conn, v: ItemVersion, tenant: str) -> None:
    insert_versions(conn, [v], tenant)


def insert_versions(conn: Conn, versions: Sequence[ItemVersion], tenant: str) -> None:
    """The history entries' rows, in one statement."""
    if not versions:
        return
    conn.execute(
        "INSERT INTO item_versions (item_id, version, event, text, log_id, at, tenant)"
        " SELECT u.*, %s FROM unnest(%s::text[], %s::int[], %s::text[], %s::text[], %s::text[], %s::timestamp[]) AS u",
        [
            tenant,
            [v.item_id for v in versions],
            [v.version for v in versions],
            [v.event for v in versions],
            [v.text for v in versions],
            [v.log_id for v in versions],
            [v.at for v in versions],
        ],
    )


def require(conn: Conn, scope: Scope, item_id: str) -> None:
    """Raise :class:`NotFoundError` unless ``item_id`` is an item in ``scope``."""
    clause, params = scope_clause(scope)
    if conn.execute(f"SELECT 1 FROM items WHERE id = %s AND {pg(clause)}".encode(), [item_id, *params]).fetchone():
        return
    raise NotFoundError(f"no memory item {item_id!r} in this scope")


def drop_items(
    conn: Conn, lexical: PostgresLexical, tenant: str, ids: Sequence[str], taken: list[TakenOut] | None = None
) -> None:
    """Delete the rows of ``ids`` (already checked to be in scope): lexical stats, vectors, sources,
    items and their links. With ``taken`` (a writer that writes the items again in the same
    transaction), their lexemes' and pairs' counts are appended there for its
    :meth:`~PostgresLexical.count_in` instead of taken out now."""
    if taken is None:
        lexical.unindex(conn, tenant, ids)
    else:
        out = lexical.take_out(conn, tenant, ids)
        if out is not None:
            taken.append(out)
    gone = conn.execute(
        "DELETE FROM vectors WHERE tenant = %s AND item_id = ANY(%s) RETURNING space, point", [tenant, list(ids)]
    ).fetchall()
    drop_points(conn, tenant, gone)
    for table in ("item_sources", "items"):
        column = "id" if table == "items" else "item_id"
        conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND {column} = ANY(%s)".encode(), [tenant, list(ids)])
    conn.execute(
        "DELETE FROM item_links WHERE tenant = %s AND (src = ANY(%s) OR dst = ANY(%s))",
        [tenant, list(ids), list(ids)],
    )


def drop_points(conn: Conn, tenant: str, points: Sequence[tuple[str, Any]]) -> None:
    """Delete those of ``points`` (space, point) that no row of ``vectors`` names any more: a
    forgotten item's vector leaves the index's table with it, unless another item holds the same
    vector. The points are locked first, in their own statement: a writer adding one of these
    vectors holds its point until it commits (``vectors._ON_POINT``), so this waits for it, and
    the check that follows, a statement of its own (a new snapshot), sees the writer's row."""
    if not points:
        return
    pairs = sorted(set(points), key=lambda p: (p[0], str(p[1])))
    conn.execute(
        "SELECT 1 FROM vector_points p JOIN unnest(%s::text[], %s::uuid[]) AS g(space, point)"
        " ON p.space = g.space AND p.point = g.point WHERE p.tenant = %s ORDER BY p.space, p.point FOR UPDATE OF p",
        [[s for s, _ in pairs], [p for _, p in pairs], tenant],
    )
    conn.execute(
        "DELETE FROM vector_points p USING unnest(%s::text[], %s::uuid[]) AS g(space, point)"
        " WHERE p.tenant = %s AND p.space = g.space AND p.point = g.point AND NOT EXISTS"
        " (SELECT 1 FROM vectors v WHERE v.tenant = p.tenant AND v.space = p.space AND v.point = p.point)",
        [[s for s, _ in pairs], [p for _, p in pairs], tenant],
    )
