"""The SQLite schema as ordered, recorded migrations (applied names live in ``schema_migrations``).

A migration is SQL (statements separated by ``;``) or a function of the open transaction.

Lexical indexes are per tenant: each tenant's documents live in FTS5 tables of its own
(``lexical_tables`` names them), so BM25's statistics (document frequencies, average lengths)
are that tenant's, and a search reads only that tenant's index. Inside it a document's FTS5 rowid
is its item's rowid under its user's number (:func:`lexical_key`), so each user's documents are
one rowid range: a user's search reads its own range only (``stores/sqlite/lexical.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from outcrop.errors import StoreError
from outcrop.stores.sqlite.driver import FTS5_SECURE_DELETE, sqlite3
from outcrop.stores.sqlite.packs import create_packs, fold, packs_table
from outcrop.stores.sqlite.tokens import TOKENIZER, FTS5Tokens, term_key

__all__ = [
    "LEXICAL_ITEM_BITS",
    "MIGRATIONS",
    "count_lexical_terms",
    "create_lexical_tables",
    "lexical_key",
    "lexical_number",
    "postings_table",
    "put_postings",
    "vector_part",
]

LEXICAL_ITEM_BITS = 39  # low bits of a lexical rowid: the item's rowid; above them, its user's number
_LEXICAL_USERS = 1 << (63 - LEXICAL_ITEM_BITS)  # numbers per tenant (2**24), rowids stay positive


def create_lexical_tables(db: sqlite3.Connection, tenant: str) -> tuple[str, str]:
    """Inside a transaction: the tenant's two FTS5 tables (own text, neighbour context), made and
    registered now; their names. Names are hex, never the tenant's own string."""
    stem = "fts_" + hashlib.sha1(tenant.encode()).hexdigest()[:16]
    own, ctx = f"{stem}_own", f"{stem}_ctx"
    db.execute(f"CREATE VIRTUAL TABLE {own} USING fts5(body, {TOKENIZER})")
    db.execute(f"CREATE VIRTUAL TABLE {ctx} USING fts5(body, {TOKENIZER})")
    if _has_table(db, "lexical_docs"):  # from 0015 on (an older migration makes tables too)
        _create_postings(db, postings_table(own))
        create_packs(db, packs_table(own))
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


def lexical_key(number: int, rowid: int) -> int:
    """The FTS5 rowid of item ``rowid``'s documents, for a user numbered ``number`` in its tenant."""
    if not 0 < rowid < 1 << LEXICAL_ITEM_BITS:
        raise StoreError(f"item rowid {rowid} is beyond the lexical index's keys")
    return (number << LEXICAL_ITEM_BITS) | rowid


def lexical_number(db: sqlite3.Connection, tenant: str, user_id: str, create: bool) -> int | None:
    """A (tenant, user) scope's number in its tenant's lexical index (from 1, in order of first
    document), known by its partition hash as vectors are (no names); None if it has none yet.
    With ``create``, inside a write transaction, given one if it had none."""
    part = vector_part(tenant, user_id)
    row = db.execute("SELECT number FROM lexical_users WHERE part = ?", (part,)).fetchone()
    if row is not None or not create:
        return int(row[0]) if row else None
    (number,) = db.execute(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM lexical_users WHERE tenant = ?", (tenant,)
    ).fetchone()
    if number >= _LEXICAL_USERS:
        raise StoreError(f"tenant {tenant!r} has more users than its lexical index can number")
    db.execute("INSERT INTO lexical_users (part, tenant, number) VALUES (?, ?, ?)", (part, tenant, number))
    return int(number)


def _lexical_keys_per_user(db: sqlite3.Connection) -> None:
    """Re-key every tenant's FTS5 documents from the item's rowid to :func:`lexical_key`, so that
    each user's documents form one rowid range. The documents, and so BM25's statistics, stay the
    same; the tables are made again as they were (no segment keeps the old keys; a document
    without an item is left out)."""
    db.execute(
        "CREATE TABLE lexical_users (part TEXT PRIMARY KEY, tenant TEXT NOT NULL, number INTEGER NOT NULL,"
        " UNIQUE (tenant, number)) WITHOUT ROWID"
    )
    db.execute("CREATE TEMP TABLE lexical_moved (key INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    for tenant, own, ctx in db.execute("SELECT tenant, own, ctx FROM lexical_tables ORDER BY tenant").fetchall():
        users = db.execute(
            "SELECT user_id FROM items WHERE tenant = ? GROUP BY user_id ORDER BY MIN(rowid)", (tenant,)
        ).fetchall()
        numbers = {user: lexical_number(db, tenant, user, create=True) or 0 for (user,) in users}
        for table in (own, ctx):
            rows = db.execute(  # streamed, through a cursor of its own
                f"SELECT i.user_id, f.rowid, f.body FROM {table} f JOIN items i ON i.rowid = f.rowid"
                " WHERE i.tenant = ?",
                (tenant,),
            )
            db.executemany(
                "INSERT INTO temp.lexical_moved (key, body) VALUES (?, ?)",
                ((lexical_key(numbers[user], rowid), body) for user, rowid, body in rows),
            )
            _recreate_fts(db, table)
            db.execute(f"INSERT INTO {table}(rowid, body) SELECT key, body FROM temp.lexical_moved ORDER BY key")
            db.execute("DELETE FROM temp.lexical_moved")
    db.execute("DROP TABLE temp.lexical_moved")


def _recreate_fts(db: sqlite3.Connection, table: str) -> None:
    """Drop FTS5 ``table`` and make it again, empty, with its definition and its configuration
    options (``secure-delete`` and the like; not the format's ``version``)."""
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    options = db.execute(f"SELECT k, v FROM {table}_config WHERE k != 'version'").fetchall()
    db.execute(f"DROP TABLE {table}")
    db.execute(sql)
    for key, value in options:
        db.execute(f"INSERT INTO {table}({table}, rank) VALUES (?, ?)", (key, value))


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


def count_lexical_terms(db: sqlite3.Connection, tenant: str) -> None:
    """Count a tenant's BM25 statistics afresh from its FTS5 tables (``fts5vocab``: each term's
    documents and occurrences per table) into ``lexical_terms`` and ``lexical_stats``, replacing
    what they held: documents per term (by :func:`~outcrop.stores.sqlite.tokens.term_key`),
    documents and tokens per field (own text, context). The tenant's row in ``lexical_stats`` is
    updated in place (its lexical version, from 0016 on, stays)."""
    db.execute("DELETE FROM lexical_terms WHERE tenant = ?", (tenant,))
    row = db.execute("SELECT own, ctx FROM lexical_tables WHERE tenant = ?", (tenant,)).fetchone()
    if row is None:
        db.execute("DELETE FROM lexical_stats WHERE tenant = ?", (tenant,))
        return
    totals: list[int] = []
    frequencies: dict[int, list[int]] = {}
    for field, table in enumerate(row):
        db.execute(f"CREATE VIRTUAL TABLE temp.lexical_vocab USING fts5vocab(main, {table}, 'row')")
        try:
            tokens = 0
            for term, docs, count in db.execute("SELECT term, doc, cnt FROM temp.lexical_vocab WHERE doc > 0"):
                frequencies.setdefault(term_key(term), [0, 0])[field] += docs
                tokens += count
        finally:
            db.execute("DROP TABLE temp.lexical_vocab")
        (docs,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        totals += [int(docs), tokens]
    db.executemany(
        "INSERT INTO lexical_terms (tenant, term, own_df, ctx_df) VALUES (?, ?, ?, ?)",
        [(tenant, term, o, c) for term, (o, c) in sorted(frequencies.items())],
    )
    db.execute(
        "INSERT INTO lexical_stats (tenant, own_docs, own_tokens, ctx_docs, ctx_tokens) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (tenant) DO UPDATE SET own_docs = excluded.own_docs, own_tokens = excluded.own_tokens,"
        " ctx_docs = excluded.ctx_docs, ctx_tokens = excluded.ctx_tokens",
        (tenant, *totals),
    )


def postings_table(own: str) -> str:
    """The name of a tenant's postings table, from its own-text FTS5 table's."""
    return own.removesuffix("_own") + "_terms"


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def _create_postings(db: sqlite3.Connection, table: str) -> None:
    db.execute(
        f"CREATE TABLE {table} (term INTEGER NOT NULL, key INTEGER NOT NULL, own INTEGER NOT NULL, ctx INTEGER NOT NULL,"
        " PRIMARY KEY (term, key)) WITHOUT ROWID"
    )


def put_postings(
    db: sqlite3.Connection,
    table: str,
    keys: Sequence[int],
    own: Sequence[Mapping[int, int]],
    ctx: Sequence[Mapping[int, int] | None],
) -> None:
    """Record documents ``keys`` (their own and context token counts; None: no context document)
    in ``lexical_docs`` and the tenant's postings table ``table``."""
    db.executemany(
        "INSERT INTO lexical_docs (key, own_len, ctx_len) VALUES (?, ?, ?)",
        [
            (key, sum(o.values()), None if c is None else sum(c.values()))
            for key, o, c in zip(keys, own, ctx, strict=True)
        ],
    )
    rows: list[tuple[int, int, int, int]] = []
    for key, o, c in zip(keys, own, ctx, strict=True):
        c = c or {}
        rows += [(term, key, o.get(term, 0), c.get(term, 0)) for term in o.keys() | c.keys()]
    rows.sort()
    db.executemany(f"INSERT INTO {table} (term, key, own, ctx) VALUES (?, ?, ?, ?)", rows)


def _lexical_term_stats(db: sqlite3.Connection) -> None:
    """Each tenant's BM25 statistics kept in tables of their own (``lexical_terms``,
    ``lexical_stats``), its postings (``<stem>_terms``: each document's occurrences of each of its
    terms, per field, ordered by term then document key) and each document's length per field
    (``lexical_docs``; ``ctx_len`` NULL where the document has no context), so that a user's search
    scores its own rows from them instead of FTS5 counting each term's documents over the whole
    tenant at every query (``stores/sqlite/lexical.py``). Made here once from every tenant's FTS5
    tables, through FTS5's own tokenizer."""
    db.execute(
        "CREATE TABLE lexical_terms (tenant TEXT NOT NULL, term INTEGER NOT NULL, own_df INTEGER NOT NULL,"
        " ctx_df INTEGER NOT NULL, PRIMARY KEY (tenant, term)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE lexical_stats (tenant TEXT PRIMARY KEY, own_docs INTEGER NOT NULL, own_tokens INTEGER NOT NULL,"
        " ctx_docs INTEGER NOT NULL, ctx_tokens INTEGER NOT NULL) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE lexical_docs (key INTEGER PRIMARY KEY, own_len INTEGER NOT NULL, ctx_len INTEGER)")
    tokens = FTS5Tokens()
    try:
        for own, ctx in db.execute("SELECT own, ctx FROM lexical_tables ORDER BY tenant").fetchall():
            postings = postings_table(own)
            _create_postings(db, postings)
            rows = db.execute(  # streamed, through a cursor of its own
                f"SELECT o.rowid, o.body, c.body FROM {own} o LEFT JOIN {ctx} c ON c.rowid = o.rowid ORDER BY o.rowid"
            )
            while batch := rows.fetchmany(500):
                own_tokens = tokens.counts([r[1] for r in batch])
                ctx_tokens = tokens.counts([r[2] or "" for r in batch])
                put_postings(
                    db,
                    postings,
                    [r[0] for r in batch],
                    own_tokens,
                    [None if r[2] is None else t for r, t in zip(batch, ctx_tokens, strict=True)],
                )
    finally:
        tokens.close()
    for (tenant,) in db.execute("SELECT tenant FROM lexical_tables ORDER BY tenant").fetchall():
        count_lexical_terms(db, tenant)


def _lexical_packs(db: sqlite3.Connection) -> None:
    """Each tenant's postings packed per term, user and block of keys (``<stem>_packs``,
    :mod:`~outcrop.stores.sqlite.packs`): every row of its postings table folded into them (the
    table then holds the tail of later writes only), and ``lexical_stats.tail`` counting that tail."""
    db.execute("ALTER TABLE lexical_stats ADD COLUMN tail INTEGER NOT NULL DEFAULT 0")
    for (own,) in db.execute("SELECT own FROM lexical_tables ORDER BY tenant").fetchall():
        create_packs(db, packs_table(own))
        fold(db, postings_table(own), packs_table(own))


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
    ("0011_lexical_keys_per_user", _lexical_keys_per_user),
    (SECURE_DELETE_MIGRATION, _fts_secure_delete),
    ("0015_lexical_term_stats", _lexical_term_stats),
    (
        # lexical versions: each write of a tenant's documents moves its tenant's, and each of
        # their users' (``stores/sqlite/lexical.py``): what a process keeps in memory from them
        # (a large user's postings, a phrase's documents in its tenant) is used only while they stay
        "0016_lexical_versions",
        """
        ALTER TABLE lexical_stats ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE lexical_users ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    # A user's log read in append order (forget, export, rebuild and stats of one user) walks that
    # user's records, not the tenant's: 19 s to count one user's log in a 1.1M-record tenant before.
    ("0017_log_by_scope", "CREATE INDEX IF NOT EXISTS log_scope ON log(tenant, user_id, seq);"),
    (
        # the documents each write of a user's documents touched, by the user's lexical version it
        # moved to (``stores/sqlite/lexical.py``): a process holding that user's postings patches
        # those documents' entries instead of reading every query term again (the last versions only)
        "0018_lexical_changes",
        """
        CREATE TABLE IF NOT EXISTS lexical_changes (tenant TEXT NOT NULL, number INTEGER NOT NULL,
            version INTEGER NOT NULL, keys BLOB NOT NULL, PRIMARY KEY (tenant, number, version)) WITHOUT ROWID;
        """,
    ),
    # a tenant's postings packed per term, user and block of keys (``stores/sqlite/packs.py``): a
    # term's first read in a process takes a few rows of blobs instead of a row per posting
    ("0019_lexical_packs", _lexical_packs),
    # the deletes of a user that tombstone facts a merged fact absorbed (``records.deleted_ids``):
    # read by every consolidation of the user, they were found by walking the user's whole log
    (
        "0020_log_absorbed",
        "CREATE INDEX IF NOT EXISTS log_absorbed ON log(tenant, user_id)"
        " WHERE kind = 'delete' AND json_type(payload, '$.absorbed') IS NOT NULL;",
    ),
    # a user's edits of derived items, by the item they name (``records.edits_of``): every
    # consolidation draws its facts again with their edits
    (
        "0021_log_updates",
        "CREATE INDEX IF NOT EXISTS log_updates ON log(tenant, json_extract(payload, '$.item_id')) WHERE kind = 'update';",
    ),
]
