"""The SQLite schema as ordered, recorded migrations (applied names live in ``schema_migrations``).

A migration is SQL (statements separated by ``;``) or a function of the open transaction.

Lexical indexes are per tenant: each tenant's documents live in FTS5 tables of its own
(``lexical_tables`` names them), so BM25's statistics (document frequencies, average lengths)
are that tenant's, and a search reads only that tenant's index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from outcrop.stores.sqlite.driver import FTS5_SECURE_DELETE, sqlite3

__all__ = ["MIGRATIONS", "create_lexical_tables", "vector_part"]

_TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'"


def create_lexical_tables(db: sqlite3.Connection, tenant: str) -> tuple[str, str]:
    """Inside a transaction: the tenant's two FTS5 tables (own text, neighbour context), made and
    registered now; their names. Names are hex, never the tenant's own string."""
    stem = "fts_" + hashlib.sha1(tenant.encode()).hexdigest()[:16]
    own, ctx = f"{stem}_own", f"{stem}_ctx"
    db.execute(f"CREATE VIRTUAL TABLE {own} USING fts5(body, {_TOKENIZER})")
    db.execute(f"CREATE VIRTUAL TABLE {ctx} USING fts5(body, {_TOKENIZER})")
    if FTS5_SECURE_DELETE:
        for table in (own, ctx):
            _secure_delete(db, table)
    db.execute("INSERT INTO lexical_tables (tenant, own, ctx) VALUES (?, ?, ?)", (tenant, own, ctx))
    return own, ctx


def _secure_delete(db: sqlite3.Connection, table: str) -> None:
    """Deleting from ``table`` removes the document's postings from the index at once (SQLite
    3.44's FTS5 ``secure-delete``); the file then needs SQLite 3.44 or later to be written."""
    db.execute(f"INSERT INTO {table}({table}, rank) VALUES ('secure-delete', 1)")


def _fts_secure_delete(db: sqlite3.Connection) -> bool:
    """Every tenant's FTS5 tables delete in place from now on; each is merged once (``optimize``)
    so postings that earlier deletes only masked leave the index. Not applied (False) with an
    SQLite older than 3.44: forget then rewrites the file (``maintenance.py``)."""
    if not FTS5_SECURE_DELETE:
        return False
    for own, ctx in db.execute("SELECT own, ctx FROM lexical_tables").fetchall():
        for table in (own, ctx):
            _secure_delete(db, table)
            db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    return True


def vector_part(tenant: str, user_id: str) -> str:
    """The vector partition of a (tenant, user) scope: a hash, never the names themselves (a
    forgotten user leaves no name behind in the version and removal rows)."""
    return hashlib.sha1(f"{tenant}\x1f{user_id}".encode()).hexdigest()[:16]


def _vectors_per_scope(db: sqlite3.Connection) -> None:
    """Vectors tagged with their (tenant, user) partition; a version per partition, moved by every
    write of its vectors, and the rowids of its removed vectors, so that a reader's cached scope
    follows the file by deltas (``stores/sqlite/vectors.py``)."""
    db.execute("ALTER TABLE vectors ADD COLUMN part TEXT NOT NULL DEFAULT ''")
    for tenant, user in db.execute("SELECT DISTINCT tenant, user_id FROM items").fetchall():
        db.execute(
            "UPDATE vectors SET part = ? WHERE item_rowid IN (SELECT rowid FROM items WHERE tenant = ? AND user_id = ?)",
            (vector_part(tenant, user), tenant, user),
        )
    db.execute("CREATE INDEX vectors_part ON vectors(part, space)")
    db.execute(
        "CREATE TABLE vector_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL,"
        " floor INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE vector_removals (seq INTEGER PRIMARY KEY AUTOINCREMENT, part TEXT NOT NULL,"
        " space TEXT NOT NULL, item_rowid INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX vector_removals_part ON vector_removals(part, seq)")


def _lexical_tables_per_tenant(db: sqlite3.Connection) -> None:
    """Move every tenant's documents out of the shared FTS5 tables into tables of its own."""
    db.execute(
        "CREATE TABLE lexical_tables (tenant TEXT PRIMARY KEY, own TEXT NOT NULL UNIQUE, ctx TEXT NOT NULL UNIQUE)"
    )
    for (tenant,) in db.execute("SELECT DISTINCT tenant FROM items ORDER BY tenant").fetchall():
        own, ctx = create_lexical_tables(db, tenant)
        for table, shared in ((own, "items_fts"), (ctx, "items_context_fts")):
            db.execute(
                f"INSERT INTO {table}(rowid, body) SELECT f.rowid, f.body FROM {shared} f"
                " JOIN items i ON i.rowid = f.rowid WHERE i.tenant = ? ORDER BY f.rowid",
                (tenant,),
            )
    db.execute("DROP TABLE items_fts")
    db.execute("DROP TABLE items_context_fts")


def _unique_turn_positions(db: sqlite3.Connection) -> None:
    """One turn per position of a session, enforced: sessions where concurrent writers once gave
    two turns one position are renumbered first (by position, then arrival), then the index."""
    groups = db.execute(
        "SELECT DISTINCT tenant, user_id, session_id FROM items WHERE position IS NOT NULL"
        " GROUP BY tenant, user_id, session_id, position HAVING count(*) > 1"
    ).fetchall()
    for tenant, user_id, session_id in groups:
        rows = db.execute(
            "SELECT rowid FROM items WHERE tenant = ? AND user_id = ? AND session_id IS ? AND position IS NOT NULL"
            " ORDER BY position, rowid",
            (tenant, user_id, session_id),
        ).fetchall()
        db.executemany("UPDATE items SET position = ? WHERE rowid = ?", [(n, r[0]) for n, r in enumerate(rows)])
    db.execute(
        "CREATE UNIQUE INDEX turn_positions ON items(tenant, user_id, session_id, position) WHERE position IS NOT NULL"
    )


SECURE_DELETE_MIGRATION = "0014_fts_secure_delete"

MIGRATIONS: list[tuple[str, str | Callable[[sqlite3.Connection], bool | None]]] = [
    (
        "0001_log_items_indexes",
        """
        CREATE TABLE log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            agent_id TEXT,
            session_id TEXT,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX log_content ON log(tenant, content_hash);

        CREATE TABLE items (
            rowid INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            level TEXT NOT NULL,
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            agent_id TEXT,
            session_id TEXT,
            role TEXT,
            speaker TEXT,
            text TEXT NOT NULL,
            timestamp TEXT,
            metadata TEXT NOT NULL DEFAULT '{}',
            producer TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            position INTEGER,
            recorded_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX items_scope_time ON items(tenant, user_id, level, timestamp);
        CREATE INDEX items_session_pos ON items(tenant, user_id, session_id, position);

        CREATE TABLE item_sources (
            item_id TEXT NOT NULL,
            source_id TEXT NOT NULL,
            PRIMARY KEY (item_id, source_id)
        ) WITHOUT ROWID;
        CREATE INDEX item_sources_source ON item_sources(source_id);

        CREATE TABLE item_versions (
            item_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            event TEXT NOT NULL,
            text TEXT,
            log_id TEXT NOT NULL,
            at TEXT NOT NULL,
            tenant TEXT NOT NULL,
            PRIMARY KEY (item_id, version, event)
        ) WITHOUT ROWID;

        CREATE VIRTUAL TABLE items_fts USING fts5(body, tokenize = 'porter unicode61 remove_diacritics 2');
        CREATE VIRTUAL TABLE items_context_fts USING fts5(body, tokenize = 'porter unicode61 remove_diacritics 2');

        CREATE TABLE vector_spaces (
            name TEXT PRIMARY KEY,
            embedder TEXT NOT NULL,
            dim INTEGER NOT NULL,
            active INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE TABLE vectors (
            rowid INTEGER PRIMARY KEY AUTOINCREMENT,
            item_rowid INTEGER NOT NULL,
            space TEXT NOT NULL REFERENCES vector_spaces(name),
            vec BLOB NOT NULL,
            UNIQUE (item_rowid, space)
        );

        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta(key, value) VALUES ('vectors_epoch', '0');
        """,
    ),
    (
        "0002_recency_index_and_speakers",
        """
        CREATE INDEX items_scope_recent ON items(tenant, user_id, timestamp);
        CREATE TABLE scope_speakers (
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            speaker TEXT NOT NULL,
            PRIMARY KEY (tenant, user_id, speaker)
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO scope_speakers SELECT DISTINCT tenant, user_id, speaker FROM items WHERE speaker IS NOT NULL;
        """,
    ),
    (
        "0003_delete_tombstones",
        """
        CREATE INDEX log_deletes ON log(tenant, json_extract(payload, '$.item_id')) WHERE kind = 'delete';
        """,
    ),
    (
        "0004_item_access",
        """
        CREATE TABLE item_access (
            tenant TEXT NOT NULL,
            item_id TEXT NOT NULL,
            count INTEGER NOT NULL,
            last_at TEXT NOT NULL,
            PRIMARY KEY (tenant, item_id)
        ) WITHOUT ROWID;
        """,
    ),
    (
        "0005_item_links",
        """
        CREATE TABLE item_links (
            tenant TEXT NOT NULL,
            src TEXT NOT NULL,
            dst TEXT NOT NULL,
            kind TEXT NOT NULL,
            weight REAL NOT NULL,
            PRIMARY KEY (tenant, src, dst, kind)
        ) WITHOUT ROWID;
        CREATE INDEX item_links_dst ON item_links(tenant, dst);
        """,
    ),
    (
        "0006_forget_plans",
        """
        CREATE TABLE forget_plans (
            tenant TEXT NOT NULL,
            id TEXT NOT NULL,
            plan TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (tenant, id)
        ) WITHOUT ROWID;
        CREATE TABLE forgotten_ids (
            tenant TEXT NOT NULL,
            id TEXT NOT NULL,
            plan_id TEXT NOT NULL,
            PRIMARY KEY (tenant, id)
        ) WITHOUT ROWID;
        """,
    ),
    ("0007_lexical_tables_per_tenant", _lexical_tables_per_tenant),
    ("0008_unique_turn_positions", _unique_turn_positions),
    ("0009_vectors_per_scope", _vectors_per_scope),
    (
        "0010_strata_due",
        """
        CREATE TABLE strata_due (
            tenant TEXT NOT NULL,
            id TEXT NOT NULL,
            due TEXT NOT NULL,
            PRIMARY KEY (tenant, id)
        ) WITHOUT ROWID;
        """,
    ),
    (SECURE_DELETE_MIGRATION, _fts_secure_delete),
]
