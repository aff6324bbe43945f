"""The embedded default store: one SQLite file (WAL), FTS5 for BM25, exact numpy vector search.

Durability: every write is one ``BEGIN IMMEDIATE … COMMIT`` transaction with
``synchronous=FULL`` by default, so a write that returned survives ``kill -9`` (and power loss).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from outcrop.core.time.clock import format_time, now
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope, Vectors
from outcrop.errors import ConfigError, NotFoundError, StoreError
from outcrop.stores.base import LexicalDocument, Link, ScoredId, SearchFilters, VectorSpace, WriteBatch
from outcrop.stores.sql import ITEM_COLUMNS, filter_clause, row_to_item, scope_clause
from outcrop.stores.sqlite_lifecycle import SQLiteLifecycle, drop_links
from outcrop.stores.sqlite_schema import MIGRATIONS
from outcrop.stores.vector_index import VectorIndex

__all__ = ["SQLiteStore"]


def _fts_query(terms: Iterable[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class SQLiteStore(SQLiteLifecycle):
    """See :class:`outcrop.stores.base.Store` for the contract."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from None
        self._lock = threading.RLock()
        self._indexes: dict[str, VectorIndex] = {}
        self._migrate()

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot start a transaction: {exc}") from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"commit failed: {exc}") from None

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"query failed: {exc}") from None

    def _migrate(self) -> None:
        with self._transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            applied = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
            for name, sql in MIGRATIONS:
                if name in applied:
                    continue
                for statement in filter(str.strip, sql.split(";")):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, format_time(now())))

    # -- writes ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        try:
            with self._transaction() as db:
                if batch.space is not None:
                    self._ensure_space(db, batch.space)
                replaced = set(batch.replaces)
                for item in batch.items:
                    if item.id in replaced:
                        self._remove_rows(db, item.scope, [item.id])
                for log in batch.logs:
                    db.execute(
                        "INSERT INTO log (id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            log.id,
                            log.scope.tenant,
                            log.scope.user_id,
                            log.scope.agent_id,
                            log.scope.session_id,
                            log.kind,
                            json.dumps(log.payload, ensure_ascii=False),
                            log.content_hash,
                            format_time(log.recorded_at),
                        ),
                    )
                for item in batch.items:
                    rowid = self._insert_item(db, item, batch.positions.get(item.id))
                    if item.id in batch.lexical:
                        self._put_lexical(db, rowid, batch.lexical[item.id], replace=False)
                    if item.id in batch.vectors and batch.space is not None:
                        db.execute(
                            "INSERT INTO vectors (item_rowid, space, vec) VALUES (?, ?, ?)",
                            (rowid, batch.space.name, np.asarray(batch.vectors[item.id], dtype=np.float32).tobytes()),
                        )
                tenant = batch.tenant or (batch.items[0].scope.tenant if batch.items else "")
                db.executemany(
                    "INSERT OR REPLACE INTO item_links (tenant, src, dst, kind, weight) VALUES (?, ?, ?, ?, ?)",
                    [(tenant, link.src, link.dst, link.kind, link.weight) for link in batch.links],
                )
                for version in batch.versions:
                    self._insert_version(db, version, tenant)
                for item_id, document in batch.relexical.items():
                    row = db.execute(
                        "SELECT rowid FROM items WHERE id = ? AND tenant = ?", (item_id, tenant)
                    ).fetchone()
                    if row is not None:
                        self._put_lexical(db, row[0], document)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"write rejected by the store: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"write failed: {exc}") from None

    def _insert_item(self, db: sqlite3.Connection, item: Item, position: int | None) -> int:
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

    @staticmethod
    def _put_lexical(db: sqlite3.Connection, rowid: int, document: LexicalDocument, replace: bool = True) -> None:
        if replace:
            db.execute("DELETE FROM items_fts WHERE rowid = ?", (rowid,))
            db.execute("DELETE FROM items_context_fts WHERE rowid = ?", (rowid,))
        db.execute("INSERT INTO items_fts(rowid, body) VALUES (?, ?)", (rowid, document.own))
        if document.context:
            db.execute("INSERT INTO items_context_fts(rowid, body) VALUES (?, ?)", (rowid, document.context))

    @staticmethod
    def _insert_version(db: sqlite3.Connection, v: ItemVersion, tenant: str) -> None:
        db.execute(
            "INSERT INTO item_versions (item_id, version, event, text, log_id, at, tenant) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (v.item_id, v.version, v.event, v.text, v.log_id, format_time(v.at), tenant),
        )

    def _ensure_space(self, db: sqlite3.Connection, space: VectorSpace) -> None:
        active = db.execute("SELECT name FROM vector_spaces WHERE active = 1").fetchone()
        if active is None:
            db.execute(
                "INSERT OR IGNORE INTO vector_spaces (name, embedder, dim, active, created_at) VALUES (?, ?, ?, 1, ?)",
                (space.name, space.embedder, space.dim, format_time(now())),
            )
            db.execute("UPDATE vector_spaces SET active = 1 WHERE name = ?", (space.name,))
        elif active[0] != space.name:
            raise ConfigError(
                f"this store's vectors were made by {active[0]!r}, not {space.name!r}; open it with that embedder"
                " or re-index it into the new one"
            )

    def _bump_epoch(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'vectors_epoch'")

    def next_position(self, scope: Scope) -> int:
        rows = self._query(
            "SELECT COALESCE(MAX(position), -1) + 1 FROM items WHERE tenant = ? AND user_id = ? AND session_id IS ?",
            (scope.tenant, scope.user_id, scope.session_id),
        )
        return int(rows[0][0])

    def _item_rowid(self, db: sqlite3.Connection, scope: Scope, item_id: str) -> int:
        where, params = scope_clause(scope)
        row = db.execute(f"SELECT rowid FROM items WHERE id = ? AND {where}", [item_id, *params]).fetchone()
        if row is None:
            raise NotFoundError(f"no memory item {item_id!r} in this scope")
        return int(row[0])

    def update_item(
        self,
        scope: Scope,
        item_id: str,
        text: str,
        log: LogRecord,
        lexical: LexicalDocument,
        vector: np.ndarray | None,
        space: VectorSpace | None,
    ) -> Item:
        with self._transaction() as db:
            rowid = self._item_rowid(db, scope, item_id)
            db.execute(
                "INSERT INTO log (id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    log.id,
                    log.scope.tenant,
                    log.scope.user_id,
                    log.scope.agent_id,
                    log.scope.session_id,
                    log.kind,
                    json.dumps(log.payload, ensure_ascii=False),
                    log.content_hash,
                    format_time(log.recorded_at),
                ),
            )
            stamp = format_time(log.recorded_at)
            db.execute(
                # a derived item deleted and derived again restarts at version 1: continue after its history
                "UPDATE items SET text = ?, updated_at = ?, version = 1 + MAX(version,"
                " (SELECT COALESCE(MAX(version), 0) FROM item_versions WHERE item_id = items.id)) WHERE rowid = ?",
                (text, stamp, rowid),
            )
            db.execute("INSERT OR IGNORE INTO item_sources (item_id, source_id) VALUES (?, ?)", (item_id, log.id))
            version = db.execute("SELECT version FROM items WHERE rowid = ?", (rowid,)).fetchone()[0]
            self._insert_version(
                db,
                ItemVersion(
                    item_id=item_id, version=version, event="update", text=text, log_id=log.id, at=log.recorded_at
                ),
                scope.tenant,
            )
            self._put_lexical(db, rowid, lexical)
            if vector is not None and space is not None:
                db.execute("DELETE FROM vectors WHERE item_rowid = ? AND space = ?", (rowid, space.name))
                db.execute(
                    "INSERT INTO vectors (item_rowid, space, vec) VALUES (?, ?, ?)",
                    (rowid, space.name, np.asarray(vector, dtype=np.float32).tobytes()),
                )
                self._bump_epoch(db)
        return self.get_items(scope, [item_id])[item_id]

    def delete_item(self, scope: Scope, item_id: str, log: LogRecord) -> None:
        with self._transaction() as db:
            rowid = self._item_rowid(db, scope, item_id)
            db.execute(
                "INSERT INTO log (id, tenant, user_id, agent_id, session_id, kind, payload, content_hash, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    log.id,
                    log.scope.tenant,
                    log.scope.user_id,
                    log.scope.agent_id,
                    log.scope.session_id,
                    log.kind,
                    json.dumps(log.payload, ensure_ascii=False),
                    log.content_hash,
                    format_time(log.recorded_at),
                ),
            )
            version = db.execute("SELECT version FROM items WHERE rowid = ?", (rowid,)).fetchone()[0]
            if db.execute(
                "SELECT 1 FROM item_versions WHERE item_id = ? AND version = ? AND event = 'delete'", (item_id, version)
            ).fetchone():  # an earlier incarnation of a re-derived item was deleted at this version
                version = (
                    1 + db.execute("SELECT MAX(version) FROM item_versions WHERE item_id = ?", (item_id,)).fetchone()[0]
                )
            self._insert_version(
                db,
                ItemVersion(
                    item_id=item_id, version=version, event="delete", text=None, log_id=log.id, at=log.recorded_at
                ),
                scope.tenant,
            )
            db.execute("DELETE FROM items_fts WHERE rowid = ?", (rowid,))
            db.execute("DELETE FROM items_context_fts WHERE rowid = ?", (rowid,))
            db.execute("DELETE FROM vectors WHERE item_rowid = ?", (rowid,))
            db.execute("DELETE FROM item_sources WHERE item_id = ?", (item_id,))
            drop_links(db, scope.tenant, [item_id])
            db.execute("DELETE FROM item_access WHERE tenant = ? AND item_id = ?", (scope.tenant, item_id))
            db.execute("DELETE FROM items WHERE rowid = ?", (rowid,))
            self._bump_epoch(db)

    def remove_items(self, scope: Scope, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        with self._transaction() as db:
            return self._remove_rows(db, scope, ids)

    def _remove_rows(self, db: sqlite3.Connection, scope: Scope, ids: Sequence[str]) -> int:
        """Inside a transaction: drop the rows of derived items ``ids`` in ``scope``."""
        where, params = scope_clause(scope)
        removed = 0
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT rowid, id FROM items WHERE id IN ({marks}) AND {where}", [*chunk, *params]
            ).fetchall()
            if not rows:
                continue
            rowids = [(r[0],) for r in rows]
            db.executemany("DELETE FROM items_fts WHERE rowid = ?", rowids)
            db.executemany("DELETE FROM items_context_fts WHERE rowid = ?", rowids)
            db.executemany("DELETE FROM vectors WHERE item_rowid = ?", rowids)
            db.executemany("DELETE FROM item_sources WHERE item_id = ?", [(r[1],) for r in rows])
            drop_links(db, scope.tenant, [r[1] for r in rows])
            db.executemany("DELETE FROM items WHERE rowid = ?", rowids)
            removed += len(rows)
        if removed:
            self._bump_epoch(db)
        return removed

    # -- reads ----------------------------------------------------------------------------
    def items_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for chunk in _chunks(list(hashes), 500):
            rows = self._query(
                f"SELECT l.content_hash, s.item_id FROM log l LEFT JOIN item_sources s ON s.source_id = l.id"
                f" WHERE l.tenant = ? AND l.content_hash IN ({','.join('?' * len(chunk))}) ORDER BY s.item_id",
                [scope.tenant, *chunk],
            )
            for content_hash, item_id in rows:
                found.setdefault(content_hash, [])
                if item_id:
                    found[content_hash].append(item_id)
        return found

    def get_items(self, scope: Scope, ids: Sequence[str]) -> dict[str, Item]:
        result: dict[str, Item] = {}
        where, params = scope_clause(scope)
        for chunk in _chunks(list(dict.fromkeys(ids)), 500):
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT {ITEM_COLUMNS} FROM items WHERE id IN ({marks}) AND {where}", [*chunk, *params])
            sources = self._sources([row[0] for row in rows])
            for row in rows:
                result[row[0]] = row_to_item(row, sources.get(row[0], []))
        return result

    def derived_from(self, scope: Scope, source_ids: Sequence[str]) -> list[str]:
        where, params = scope_clause(scope, "i")
        found: list[str] = []
        for chunk in _chunks(list(dict.fromkeys(source_ids)), 500):
            rows = self._query(
                f"SELECT DISTINCT s.item_id FROM item_sources s JOIN items i ON i.id = s.item_id"
                f" WHERE s.source_id IN ({','.join('?' * len(chunk))}) AND {where} ORDER BY s.item_id",
                [*chunk, *params],
            )
            found.extend(row[0] for row in rows if row[0] not in found)
        return found

    def links(self, scope: Scope, ids: Sequence[str]) -> list[Link]:
        a_where, a_params = scope_clause(scope, "a")
        b_where, b_params = scope_clause(scope, "b")
        found: dict[tuple[str, str, str], Link] = {}
        for chunk in _chunks(list(dict.fromkeys(ids)), 400):
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                "SELECT l.src, l.dst, l.kind, l.weight FROM item_links l"
                " JOIN items a ON a.id = l.src JOIN items b ON b.id = l.dst"
                f" WHERE l.tenant = ? AND (l.src IN ({marks}) OR l.dst IN ({marks})) AND {a_where} AND {b_where}",
                [scope.tenant, *chunk, *chunk, *a_params, *b_params],
            )
            for src, dst, kind, weight in rows:
                found[(src, dst, kind)] = Link(src, dst, kind, float(weight))
        return [found[key] for key in sorted(found)]

    def _sources(self, ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for chunk in _chunks(list(ids), 500):
            rows = self._query(
                f"SELECT item_id, source_id FROM item_sources WHERE item_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY item_id, source_id",
                chunk,
            )
            for item_id, source in rows:
                out.setdefault(item_id, []).append(source)
        return out

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
        where, params = self._where(scope, filters, levels)
        order = "DESC" if newest_first else "ASC"
        rows = self._query(
            f"SELECT {ITEM_COLUMNS} FROM items WHERE {where} ORDER BY timestamp {order}, rowid {order} LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        sources = self._sources([row[0] for row in rows])
        return [row_to_item(row, sources.get(row[0], [])) for row in rows]

    def session_turns(self, scope: Scope, session_id: str, start: int, end: int) -> list[tuple[int, Item]]:
        where, params = scope_clause(scope.model_copy(update={"session_id": session_id}))
        rows = self._query(
            f"SELECT position, {ITEM_COLUMNS} FROM items WHERE {where} AND level = 'turn'"
            " AND position BETWEEN ? AND ? ORDER BY position",
            [*params, start, end],
        )
        return [(row[0], row_to_item(row[1:], [])) for row in rows]

    def positions(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        where, params = scope_clause(scope)
        out: dict[str, int] = {}
        for chunk in _chunks(list(ids), 500):
            rows = self._query(
                f"SELECT id, position FROM items WHERE id IN ({','.join('?' * len(chunk))}) AND {where}"
                " AND position IS NOT NULL",
                [*chunk, *params],
            )
            out.update({row[0]: row[1] for row in rows})
        return out

    def speakers(self, scope: Scope) -> list[str]:
        """Speakers ever seen in the scope's tenant and user (a small table kept on write)."""
        where, params = scope_clause(Scope(tenant=scope.tenant, user_id=scope.user_id))
        rows = self._query(f"SELECT speaker FROM scope_speakers WHERE {where} ORDER BY speaker", params)
        return [row[0] for row in rows]

    def history(self, scope: Scope, item_id: str) -> list[ItemVersion]:
        rows = self._query(
            "SELECT v.item_id, v.version, v.event, v.text, v.log_id, v.at FROM item_versions v"
            " JOIN log l ON l.id = v.log_id WHERE v.item_id = ? AND v.tenant = ?"
            + ("" if scope.user_id is None else " AND l.user_id = ?")
            + " ORDER BY v.at, v.version, CASE v.event WHEN 'add' THEN 0 WHEN 'update' THEN 1 ELSE 2 END",
            [item_id, scope.tenant] + ([] if scope.user_id is None else [scope.user_id]),
        )
        if not rows:
            raise NotFoundError(f"no history for memory item {item_id!r} in this scope")
        return [ItemVersion(item_id=r[0], version=r[1], event=r[2], text=r[3], log_id=r[4], at=r[5]) for r in rows]

    def count(self, scope: Scope) -> dict[str, int]:
        where, params = scope_clause(scope)
        counts = {level.value: 0 for level in Level}
        for level, n in self._query(f"SELECT level, COUNT(*) FROM items WHERE {where} GROUP BY level", params):
            counts[level] = n
        counts["log"] = self._query(f"SELECT COUNT(*) FROM log WHERE {where}", params)[0][0]
        return counts

    def _where(
        self, scope: Scope, filters: SearchFilters | None, levels: Sequence[Level] = (), alias: str = ""
    ) -> tuple[str, list[Any]]:
        where, params = scope_clause(scope, alias)
        extra, extra_params = filter_clause(filters, alias)
        if extra:
            where, params = f"{where} AND {extra}", [*params, *extra_params]
        if levels:
            prefix = f"{alias}." if alias else ""
            where += f" AND {prefix}level IN ({','.join('?' * len(levels))})"
            params.extend(level.value for level in levels)
        return where, params

    # -- channels ---------------------------------------------------------------------------
    def lexical_search(
        self,
        scope: Scope,
        terms: dict[str, float],
        k: int,
        filters: SearchFilters | None = None,
        context_weight: float = 0.0,
    ) -> list[ScoredId]:
        if not terms:
            return []
        where, params = self._where(scope, filters, alias="i")
        # BM25 of an OR query is the sum of its terms' contributions, so weighted terms are
        # scored as one MATCH per distinct weight, each group's scores scaled and added.
        by_weight: dict[float, list[str]] = {}
        for term, weight in terms.items():
            by_weight.setdefault(round(weight, 3), []).append(term)
        tables = [("items_fts", 1.0)] + ([("items_context_fts", context_weight)] if context_weight > 0 else [])
        depth = max(k, 1) * (1 if len(by_weight) * len(tables) == 1 else 3)
        scores: dict[str, float] = {}
        for weight, group in by_weight.items():
            for table, table_weight in tables:
                rows = self._query(
                    f"SELECT i.id, -bm25({table}) FROM {table} JOIN items i ON i.rowid = {table}.rowid"
                    f" WHERE {table} MATCH ? AND {where} ORDER BY bm25({table}) LIMIT ?",
                    [_fts_query(group), *params, depth],
                )
                for item_id, score in rows:
                    scores[item_id] = scores.get(item_id, 0.0) + weight * table_weight * float(score)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return ranked[:k]

    def lexical_documents(self, scope: Scope, ids: Sequence[str]) -> dict[str, LexicalDocument]:
        where, params = scope_clause(scope, "i")
        out: dict[str, LexicalDocument] = {}
        for chunk in _chunks(list(ids), 500):
            rows = self._query(
                f"SELECT i.id, f.body, c.body FROM items i JOIN items_fts f ON f.rowid = i.rowid"
                f" LEFT JOIN items_context_fts c ON c.rowid = i.rowid"
                f" WHERE i.id IN ({','.join('?' * len(chunk))}) AND {where}",
                [*chunk, *params],
            )
            out.update({row[0]: LexicalDocument(row[1], row[2] or "") for row in rows})
        return out

    def active_space(self) -> VectorSpace | None:
        rows = self._query("SELECT embedder, dim FROM vector_spaces WHERE active = 1")
        return VectorSpace(rows[0][0], rows[0][1]) if rows else None

    def _vector_index(self, space: VectorSpace) -> VectorIndex:
        """The in-memory index for ``space``, brought up to date with the file."""
        with self._lock:
            epoch = self._query("SELECT value FROM meta WHERE key = 'vectors_epoch'")[0][0]
            index = self._indexes.get(space.name)
            if index is None or index.epoch != epoch:
                index = VectorIndex(space.dim, epoch)
                self._indexes[space.name] = index
            rows = self._query(
                "SELECT v.rowid, v.item_rowid, i.id, i.tenant, i.user_id, i.agent_id, i.session_id, v.vec"
                " FROM vectors v JOIN items i ON i.rowid = v.item_rowid WHERE v.space = ? AND v.rowid > ?"
                " ORDER BY v.rowid",
                (space.name, index.last_rowid),
            )
            index.extend((r[0], r[1], r[2], (r[3], r[4], r[5], r[6]), r[7]) for r in rows)
            return index

    def vector_search(
        self, scope: Scope, space: VectorSpace, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        index = self._vector_index(space)
        allowed = None
        if filters is not None and not filters.empty:
            where, params = self._where(scope, filters)
            allowed = np.asarray(
                [r[0] for r in self._query(f"SELECT rowid FROM items WHERE {where}", params)], dtype=np.int64
            )
        keep = index.mask((scope.tenant, scope.user_id, scope.agent_id, scope.session_id), allowed)
        return index.search(np.asarray(vector, dtype=np.float32), k, keep)

    def vectors_for(self, scope: Scope, space: VectorSpace, ids: Sequence[str]) -> dict[str, Vectors]:
        allowed = set(self.get_items(scope, ids))
        return self._vector_index(space).vectors(i for i in ids if i in allowed)

    def recent(self, scope: Scope, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        where, params = self._where(scope, filters)
        rows = self._query(
            f"SELECT id FROM items WHERE {where} AND timestamp IS NOT NULL ORDER BY timestamp DESC, rowid DESC LIMIT ?",
            [*params, k],
        )
        return [(row[0], 1.0 / (rank + 1)) for rank, row in enumerate(rows)]


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
