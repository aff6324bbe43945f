"""The SQLite schema as ordered, recorded migrations (applied names live in ``schema_migrations``)."""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
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
]
