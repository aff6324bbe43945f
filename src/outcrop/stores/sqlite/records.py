"""The log and the items projected from it, on SQLite: writes in one ``BEGIN IMMEDIATE``
transaction each (rows, lexical documents and vectors together), reads restricted to the scope."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from outcrop.core.documents import LexicalDocument
from outcrop.core.time.clock import format_time
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope
from outcrop.errors import NotFoundError, StoreError, WriteConflict
from outcrop.stores.base import HeldEdit, Link, ScoredId, SearchFilters, StrataDue, VectorSpace, WriteBatch
from outcrop.stores.sql import (
    ITEM_COLUMNS,
    LOG_COLUMNS,
    USERS_SQL,
    add_hash_rows,
    logged_version,
    read_history,
    row_to_item,
    row_to_log,
    scope_clause,
    slot_fact_ids,
)
from outcrop.stores.sqlite.connection import SQLiteConnection, chunks
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.lexical import SQLiteLexical
from outcrop.stores.sqlite.rows import by_ids, by_ids_order, drop_links, insert_item, insert_log, insert_version, where
from outcrop.stores.sqlite.vectors import SQLiteVectors

__all__ = ["SQLiteRecords"]

_PAGE = 500  # rows per page of iter_items


class SQLiteRecords:
    """See :class:`outcrop.stores.base.Records`."""

    def __init__(self, connection: SQLiteConnection, lexical: SQLiteLexical) -> None:
        self._conn = connection
        self._lexical = lexical

    # -- writes ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        try:
            with self._conn.transaction() as db:
                if batch.space is not None:
                    SQLiteVectors.ensure_space(db, batch.space)
                for scope, ids in batch.removes.items():
                    self._remove_rows(db, scope, ids)
                replaced = set(batch.replaces)
                for item in batch.items:
                    if item.id in replaced:
                        self._remove_rows(db, item.scope, [item.id])
                for log in batch.logs:
                    insert_log(db, log)
                indexed: dict[str, list[tuple[int, LexicalDocument]]] = {}  # per tenant, indexed together
                for item in batch.items:
                    rowid = insert_item(db, item, batch.positions.get(item.id))
                    if item.id in batch.lexical:
                        indexed.setdefault(item.scope.tenant, []).append((rowid, batch.lexical[item.id]))
                    if item.id in batch.vectors and batch.space is not None:
                        SQLiteVectors.insert(db, rowid, item.scope, batch.space, batch.vectors[item.id])
                for item_tenant, documents in indexed.items():
                    self._lexical.put_many(db, item_tenant, documents, replace=False)
                tenant = batch.tenant or (
                    batch.items[0].scope.tenant if batch.items else next((s.tenant for s in batch.removes), "")
                )
                db.executemany(
                    "INSERT OR REPLACE INTO item_links (tenant, src, dst, kind, weight) VALUES (?, ?, ?, ?, ?)",
                    [(tenant, link.src, link.dst, link.kind, link.weight) for link in batch.links],
                )
                for version in batch.versions:
                    insert_version(db, version, tenant)
                relexed: list[tuple[int, LexicalDocument]] = []
                for item_id, document in batch.relexical.items():
                    row = db.execute(
                        "SELECT rowid FROM items WHERE id = ? AND tenant = ?", (item_id, tenant)
                    ).fetchone()
                    if row is not None:
                        relexed.append((row[0], document))
                self._lexical.put_many(db, tenant, relexed)
                db.executemany(
                    "INSERT INTO strata_due (tenant, id, due) VALUES (?, ?, ?)",
                    [(due.scope.tenant, due.id, due.to_json()) for due in batch.strata_due],
                )
                for edit in batch.edits:
                    if edit.text is None:
                        self._delete(db, edit.scope, edit.item_id, edit.log)
                    else:
                        self._update(db, edit, batch.space)
        except sqlite3.IntegrityError as exc:
            raise WriteConflict(f"write rejected by the store: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from None

    def strata_due(self, tenant: str) -> list[StrataDue]:
        rows = self._conn.query("SELECT id, due FROM strata_due WHERE tenant = ? ORDER BY id", (tenant,))
        return [StrataDue.from_json(row[0], row[1]) for row in rows]

    def clear_strata_due(self, tenant: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._conn.transaction() as db:
            db.executemany("DELETE FROM strata_due WHERE tenant = ? AND id = ?", [(tenant, i) for i in ids])

    def next_position(self, scope: Scope) -> int:
        rows = self._conn.query(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM items WHERE tenant = ? AND user_id = ? AND session_id IS ?",
            (scope.tenant, scope.user_id, scope.session_id),
        )
        return int(rows[0][0])

    @staticmethod
    def _rowid(db: sqlite3.Connection, scope: Scope, item_id: str) -> int:
        clause, params = scope_clause(scope)
        row = db.execute(f"SELECT rowid FROM items WHERE id = ? AND {clause}", [item_id, *params]).fetchone()
        if row is None:
            raise NotFoundError(f"no memory item {item_id!r} in this scope")
        return int(row[0])

    def _update(self, db: sqlite3.Connection, edit: HeldEdit, space: VectorSpace | None) -> None:
        scope, item_id, log = edit.scope, edit.item_id, edit.log
        text, lexical, vector = edit.text, edit.lexical, edit.vector
        assert text is not None and lexical is not None, "an update brings its text and lexical document"
        rowid = self._rowid(db, scope, item_id)
        insert_log(db, log)
        db.execute(
            # a derived item deleted and derived again restarts at version 1: continue after its history
            "UPDATE items SET text = ?, updated_at = ?, version = 1 + MAX(version,"
            " (SELECT COALESCE(MAX(version), 0) FROM item_versions WHERE item_id = items.id)) WHERE rowid = ?",
            (text, format_time(log.recorded_at), rowid),
        )
        db.execute("INSERT OR IGNORE INTO item_sources (item_id, source_id) VALUES (?, ?)", (item_id, log.id))
        version = db.execute("SELECT version FROM items WHERE rowid = ?", (rowid,)).fetchone()[0]
        insert_version(db, logged_version(log, item_id, version, "update", text), scope.tenant)
        if edit.metadata is not None:
            db.execute(
                "UPDATE items SET metadata = ? WHERE rowid = ?", (json.dumps(edit.metadata, ensure_ascii=False), rowid)
            )
        self._lexical.put(db, scope.tenant, rowid, lexical)
        if vector is not None and space is not None:
            SQLiteVectors.replace(db, rowid, space, vector)

    def set_metadata(self, scope: Scope, items: Mapping[str, dict[str, Any]]) -> None:
        with self._conn.transaction() as db:
            for item_id, metadata in items.items():
                rowid = self._rowid(db, scope, item_id)
                db.execute(
                    "UPDATE items SET metadata = ? WHERE rowid = ?", (json.dumps(metadata, ensure_ascii=False), rowid)
                )

    def _delete(self, db: sqlite3.Connection, scope: Scope, item_id: str, log: LogRecord) -> None:
        rowid = self._rowid(db, scope, item_id)
        insert_log(db, log)
        version = db.execute("SELECT version FROM items WHERE rowid = ?", (rowid,)).fetchone()[0]
        if db.execute(
            "SELECT 1 FROM item_versions WHERE item_id = ? AND version = ? AND event = 'delete'", (item_id, version)
        ).fetchone():  # an earlier incarnation of a re-derived item was deleted at this version
            version = (
                1 + db.execute("SELECT MAX(version) FROM item_versions WHERE item_id = ?", (item_id,)).fetchone()[0]
            )
        insert_version(db, logged_version(log, item_id, version, "delete", None), scope.tenant)
        self._lexical.drop(db, scope.tenant, [rowid])
        SQLiteVectors.drop(db, [rowid])
        db.execute("DELETE FROM item_sources WHERE item_id = ?", (item_id,))
        drop_links(db, scope.tenant, [item_id])
        db.execute("DELETE FROM item_access WHERE tenant = ? AND item_id = ?", (scope.tenant, item_id))
        db.execute("DELETE FROM items WHERE rowid = ?", (rowid,))

    def remove_items(self, scope: Scope, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        with self._conn.transaction() as db:
            return self._remove_rows(db, scope, ids)

    def _remove_rows(self, db: sqlite3.Connection, scope: Scope, ids: Sequence[str]) -> int:
        """Inside a transaction: drop the rows of derived items ``ids`` in ``scope``."""
        clause, params = by_ids(scope)
        removed = 0
        for chunk in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT rowid, id FROM items WHERE id IN ({marks}) AND {clause} {by_ids_order(scope)}",
                [*chunk, *params],
            ).fetchall()
            if not rows:
                continue
            rowids = [r[0] for r in rows]
            self._lexical.drop(db, scope.tenant, rowids)
            SQLiteVectors.drop(db, rowids)
            db.executemany("DELETE FROM item_sources WHERE item_id = ?", [(r[1],) for r in rows])
            drop_links(db, scope.tenant, [r[1] for r in rows])
            db.executemany("DELETE FROM items WHERE rowid = ?", [(r,) for r in rowids])
            removed += len(rows)
        return removed

    def record_access(self, tenant: str, counts: Mapping[str, int], at: datetime) -> None:
        stamp = format_time(at)
        with self._conn.transaction() as db:
            for chunk in chunks(list(counts)):
                marks = ",".join("?" * len(chunk))
                live = [
                    r[0]
                    for r in db.execute(f"SELECT id FROM items WHERE tenant = ? AND id IN ({marks})", [tenant, *chunk])
                ]
                db.executemany(
                    "INSERT INTO item_access (tenant, item_id, count, last_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (tenant, item_id) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at",
                    [(tenant, item_id, int(counts[item_id]), stamp) for item_id in live],
                )

    # -- reads ----------------------------------------------------------------------------
    def items_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in chunks(hashes):
            rows = self._conn.query(
                f"SELECT l.content_hash, s.item_id FROM log l LEFT JOIN item_sources s ON s.source_id = l.id"
                f" WHERE l.tenant = ? AND l.content_hash IN ({','.join('?' * len(chunk))}) ORDER BY s.item_id",
                [scope.tenant, *chunk],
            )
            add_hash_rows(found, rows)
        return found

    def turns_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in chunks(list(dict.fromkeys(hashes))):
            rows = self._conn.query(
                "SELECT l.content_hash, v.item_id FROM log l JOIN item_versions v ON v.log_id = l.id"
                f" AND v.event = 'add' WHERE l.tenant = ? AND l.content_hash IN ({','.join('?' * len(chunk))})"
                " ORDER BY v.item_id",
                [scope.tenant, *chunk],
            )
            add_hash_rows(found, rows)
        return found

    def tenants(self) -> list[str]:
        return [row[0] for row in self._conn.query("SELECT DISTINCT tenant FROM log ORDER BY tenant")]

    def taken_elsewhere(self, tenant: str, ids: Sequence[str]) -> set[str]:
        taken: set[str] = set()
        for chunk in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            for table, column in (("log", "id"), ("items", "id"), ("item_versions", "item_id")):
                rows = self._conn.query(
                    f"SELECT {column} FROM {table} WHERE {column} IN ({marks}) AND tenant <> ?", [*chunk, tenant]
                )
                taken.update(row[0] for row in rows)
        return taken

    def get_items(self, scope: Scope, ids: Sequence[str]) -> dict[str, Item]:
        result: dict[str, Item] = {}
        clause, params = by_ids(scope)
        for chunk in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.query(
                f"SELECT {ITEM_COLUMNS} FROM items WHERE id IN ({marks}) AND {clause} {by_ids_order(scope)}",
                [*chunk, *params],
            )
            result.update(self._with_sources(rows))
        return result

    def _with_sources(self, rows: list[Any]) -> dict[str, Item]:
        """Items of ``rows`` (``ITEM_COLUMNS``), each with its sources, in row order."""
        sources: dict[str, list[str]] = {}
        for chunk in chunks([row[0] for row in rows]):
            for item_id, source in self._conn.query(
                f"SELECT item_id, source_id FROM item_sources WHERE item_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY item_id, source_id",
                chunk,
            ):
                sources.setdefault(item_id, []).append(source)
        return {row[0]: row_to_item(row, sources.get(row[0], [])) for row in rows}

    def list_items(
        self,
        scope: Scope,
        *,
        levels: Sequence[Level] = (),
        limit: int = 100,
        offset: int = 0,
        filters: SearchFilters | None = None,
        newest_first: bool = False,
    ) -> list[Item]:
        clause, params = where(scope, filters, levels)
        order = "DESC" if newest_first else "ASC"
        rows = self._conn.query(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE {clause} ORDER BY timestamp {order}, rowid {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return list(self._with_sources(rows).values())

    def iter_items(
        self, scope: Scope, *, levels: Sequence[Level] = (), filters: SearchFilters | None = None
    ) -> Iterator[Item]:
        """Pages of :data:`_PAGE` by keyset on (timestamp, rowid), the order of :meth:`list_items`
        (SQLite sorts a NULL timestamp first)."""
        clause, params = where(scope, filters, levels)
        after: tuple[str | None, int] | None = None
        while True:
            if after is None:
                page_clause, page_params = clause, params
            elif after[0] is None:
                page_clause = f"{clause} AND (timestamp IS NOT NULL OR rowid > ?)"
                page_params = [*params, after[1]]
            else:
                page_clause = f"{clause} AND (timestamp > ? OR (timestamp = ? AND rowid > ?))"
                page_params = [*params, after[0], after[0], after[1]]
            rows = self._conn.query(
                f"SELECT {ITEM_COLUMNS}, timestamp, rowid FROM items WHERE {page_clause}"
                " ORDER BY timestamp, rowid LIMIT ?",
                [*page_params, _PAGE],
            )
            if not rows:
                return
            yield from self._with_sources([row[:-2] for row in rows]).values()
            after = (rows[-1][-2], rows[-1][-1])

    def slot_facts(self, scope: Scope, keys: Collection[tuple[str, str]]) -> list[Item]:
        """Each fact's slot names first (no item built, no sources read), matched in Python (case
        folding is Python's: ``str.casefold``); then the matching facts by id."""
        if not keys:
            return []
        clause, params = where(scope, None, [Level.FACT])
        rows = self._conn.query(
            "SELECT id, json_extract(metadata, '$.slot.subject'), json_extract(metadata, '$.slot.attribute'),"
            " coalesce(json_type(metadata, '$.slot.subject') = 'text'"
            " AND json_type(metadata, '$.slot.attribute') = 'text', 0)"
            f" FROM items WHERE {clause} AND json_type(metadata, '$.slot') IS NOT NULL ORDER BY timestamp, rowid",
            params,
        )
        ids = slot_fact_ids(rows, keys)
        found = self.get_items(scope, ids) if ids else {}
        return [found[i] for i in ids if i in found]

    def derived_from(self, scope: Scope, source_ids: Sequence[str]) -> list[str]:
        clause, params = scope_clause(scope, "i")
        found: list[str] = []
        for chunk in chunks(list(dict.fromkeys(source_ids))):
            rows = self._conn.query(
                f"SELECT DISTINCT s.item_id FROM item_sources s JOIN items i ON i.id = s.item_id"
                f" WHERE s.source_id IN ({','.join('?' * len(chunk))}) AND {clause} ORDER BY s.item_id",
                [*chunk, *params],
            )
            found.extend(row[0] for row in rows if row[0] not in found)
        return found

    def links(self, scope: Scope, ids: Sequence[str]) -> list[Link]:
        a_clause, a_params = scope_clause(scope, "a")
        b_clause, b_params = scope_clause(scope, "b")
        found: dict[tuple[str, str, str], Link] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), 400):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.query(
                "SELECT l.src, l.dst, l.kind, l.weight FROM item_links l"
                " JOIN items a ON a.id = l.src JOIN items b ON b.id = l.dst"
                f" WHERE l.tenant = ? AND (l.src IN ({marks}) OR l.dst IN ({marks})) AND {a_clause} AND {b_clause}",
                [scope.tenant, *chunk, *chunk, *a_params, *b_params],
            )
            for src, dst, kind, weight in rows:
                found[(src, dst, kind)] = Link(src, dst, kind, float(weight))
        return [found[key] for key in sorted(found)]

    def session_turns(self, scope: Scope, session_id: str, start: int, end: int) -> list[tuple[int, Item]]:
        clause, params = scope_clause(scope.model_copy(update={"session_id": session_id}))
        rows = self._conn.query(
            f"SELECT position, {ITEM_COLUMNS} FROM items WHERE {clause} AND level = 'turn'"
            " AND position BETWEEN ? AND ? ORDER BY position",
            [*params, start, end],
        )
        return [(row[0], row_to_item(row[1:], [])) for row in rows]

    def positions(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        clause, params = by_ids(scope)
        out: dict[str, int] = {}
        for chunk in chunks(ids):
            rows = self._conn.query(
                f"SELECT id, position FROM items WHERE id IN ({','.join('?' * len(chunk))}) AND {clause}"
                f" AND position IS NOT NULL {by_ids_order(scope)}",
                [*chunk, *params],
            )
            out.update({row[0]: row[1] for row in rows})
        return out

    def speakers(self, scope: Scope) -> list[str]:
        """Speakers ever seen in the scope's tenant and user (a small table kept on write)."""
        clause, params = scope_clause(Scope(tenant=scope.tenant, user_id=scope.user_id))
        rows = self._conn.query(f"SELECT speaker FROM scope_speakers WHERE {clause} ORDER BY speaker", params)
        return [row[0] for row in rows]

    def users(self, tenant: str, limit: int) -> list[str]:
        return sorted(row[0] for row in self._conn.query(USERS_SQL, [tenant, tenant, limit]))

    def history(self, scope: Scope, item_id: str) -> list[ItemVersion]:
        return read_history(self._conn.query, scope, item_id, "l.id = v.log_id")

    def count(self, scope: Scope) -> dict[str, int]:
        clause, params = scope_clause(scope)
        counts = {level.value: 0 for level in Level}
        for level, n in self._conn.query(f"SELECT level, COUNT(*) FROM items WHERE {clause} GROUP BY level", params):
            counts[level] = n
        counts["log"] = self._conn.query(f"SELECT COUNT(*) FROM log WHERE {clause}", params)[0][0]
        return counts

    def count_level(self, scope: Scope, level: Level) -> int:
        clause, params = scope_clause(scope)
        rows = self._conn.query(f"SELECT COUNT(*) FROM items WHERE {clause} AND level = ?", [*params, level.value])
        return int(rows[0][0])

    def recent(self, scope: Scope, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        clause, params = where(scope, filters)
        rows = self._conn.query(
            f"SELECT id FROM items WHERE {clause} AND timestamp IS NOT NULL ORDER BY timestamp DESC, rowid DESC LIMIT ?",
            [*params, k],
        )
        return [(row[0], 1.0 / (rank + 1)) for rank, row in enumerate(rows)]

    def log_records(
        self,
        scope: Scope,
        *,
        ids: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 1000,
        after: str | None = None,
    ) -> list[LogRecord]:
        clause, params = scope_clause(scope)
        if after is not None:
            clause += " AND seq > coalesce((SELECT seq FROM log WHERE id = ?), 9223372036854775807)"
            params = [*params, after]
        if ids is None:
            rows = self._conn.query(
                f"SELECT {LOG_COLUMNS} FROM log WHERE {clause} ORDER BY seq LIMIT ? OFFSET ?", [*params, limit, offset]
            )
        else:
            rows = []
            for chunk in chunks(list(dict.fromkeys(ids))):
                marks = ",".join("?" * len(chunk))
                rows.extend(
                    self._conn.query(
                        f"SELECT seq, {LOG_COLUMNS} FROM log WHERE id IN ({marks}) AND {clause}", [*chunk, *params]
                    )
                )
            rows = [row[1:] for row in sorted(rows)][offset : offset + limit]
        return [row_to_log(r) for r in rows]

    def deleted_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        clause, params = scope_clause(scope)
        found: set[str] = set()
        for chunk in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.query(
                f"SELECT json_extract(payload, '$.item_id') FROM log WHERE kind = 'delete' AND {clause}"
                f" AND json_extract(payload, '$.item_id') IN ({marks})",
                [*params, *chunk],
            )
            found.update(r[0] for r in rows)
            # a merged fact's delete also tombstones the facts it absorbed
            rows = self._conn.query(
                f"SELECT j.value FROM log, json_each(log.payload, '$.absorbed') AS j WHERE log.kind = 'delete'"
                " AND json_type(log.payload, '$.absorbed') IS NOT NULL"  # the partial index log_absorbed
                f" AND {scope_clause(scope, 'log')[0]} AND j.value IN ({marks})",
                [*params, *chunk],
            )
            found.update(r[0] for r in rows)
        return found

    def edits_of(self, scope: Scope, ids: Sequence[str]) -> dict[str, LogRecord]:
        clause, params = scope_clause(scope)
        rows: list[Any] = []
        for chunk in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows += self._conn.query(
                f"SELECT seq, {LOG_COLUMNS} FROM log WHERE kind = 'update' AND {clause}"
                f" AND json_extract(payload, '$.item_id') IN ({marks})",
                [*params, *chunk],
            )
        found: dict[str, LogRecord] = {}
        for row in sorted(rows, key=lambda r: r[0]):  # the latest wins
            record = row_to_log(row[1:])
            found[str(record.payload["item_id"])] = record
        return found

    def access_counts(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        clause, params = by_ids(scope, alias="i")
        found: dict[str, int] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.query(
                "SELECT a.item_id, a.count FROM item_access a JOIN items i ON i.tenant = a.tenant AND i.id = a.item_id"
                f" WHERE a.item_id IN ({marks}) AND {clause}",
                [*chunk, *params],
            )
            found.update((r[0], int(r[1])) for r in rows)
        return found
