"""The PostgreSQL schema as ordered, recorded migrations, the tenant policies and the app role.

Everything lives in the ``outcrop`` schema. Every table that holds tenant data has a ``tenant``
column that leads its primary key, is ``PARTITION BY HASH (tenant)`` and carries a row-level
security policy comparing ``tenant`` to the transaction's ``outcrop.tenant`` setting (see the
:mod:`outcrop.stores.postgres` package docstring for the whole tenancy and sharding design). The
two tables without tenant data, ``schema_migrations`` and ``vector_spaces`` (which embedder fills
the store-wide vector index), have no ``tenant`` column; the application role may only read the
first.
"""

from __future__ import annotations

import hashlib
import warnings

import psycopg
from psycopg import sql

from outcrop.core.legacy import LegacyNameWarning
from outcrop.core.time.clock import format_time, now
from outcrop.stores.base import VectorSpace

__all__ = [
    "APP_ROLE",
    "MIGRATIONS",
    "PARTITIONS",
    "SCHEMA",
    "TENANT_SETTING",
    "TENANT_TABLES",
    "TEXT_CONFIG",
    "ensure_app_role",
    "migrate",
    "pending",
    "search_path",
    "vector_index_ddl",
]

SCHEMA = "outcrop"
APP_ROLE = "outcrop_app"
LEGACY_SCHEMA = "memstrata"  # the schema and role of stores written under the project's former name
LEGACY_APP_ROLE = "memstrata_app"
TENANT_SETTING = "outcrop.tenant"  # the transaction setting every tenant policy compares with
_TENANT_MATCH = f"tenant = nullif(current_setting('{TENANT_SETTING}', true), '')"
PARTITIONS = 4  # hash partitions per tenant table; changing it means re-partitioning (see module docs)
TEXT_CONFIG = "outcrop.porter"  # the text search configuration every tsvector is made with

_TABLES = """
CREATE TABLE log (
    tenant text NOT NULL CHECK (tenant <> ''),
    seq bigint NOT NULL DEFAULT nextval('log_seq'),
    id text NOT NULL,
    user_id text NOT NULL,
    agent_id text,
    session_id text,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    content_hash text NOT NULL,
    recorded_at timestamp NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, content_hash)
) PARTITION BY HASH (tenant);

CREATE TABLE items (
    tenant text NOT NULL CHECK (tenant <> ''),
    seq bigint NOT NULL DEFAULT nextval('items_seq'),
    id text NOT NULL,
    level text NOT NULL,
    user_id text NOT NULL,
    agent_id text,
    session_id text,
    role text,
    speaker text,
    text text NOT NULL,
    "timestamp" timestamp,
    metadata jsonb NOT NULL DEFAULT '{}',
    producer text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    "position" integer,
    recorded_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    -- the lexical document: its two fields as given, their tsvectors and token counts
    lex_own text,
    lex_context text,
    own_tsv tsvector,
    own_len integer NOT NULL DEFAULT 0,
    ctx_tsv tsvector,
    ctx_len integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, id)
) PARTITION BY HASH (tenant);
CREATE INDEX items_scope_time ON items (tenant, user_id, level, "timestamp");
CREATE INDEX items_session_pos ON items (tenant, user_id, session_id, "position");
CREATE INDEX items_scope_recent ON items (tenant, user_id, "timestamp", seq);
CREATE INDEX items_own_tsv ON items USING gin (own_tsv);
CREATE INDEX items_ctx_tsv ON items USING gin (ctx_tsv);

CREATE TABLE item_sources (
    tenant text NOT NULL CHECK (tenant <> ''),
    item_id text NOT NULL,
    source_id text NOT NULL,
    PRIMARY KEY (tenant, item_id, source_id)
) PARTITION BY HASH (tenant);
CREATE INDEX item_sources_source ON item_sources (tenant, source_id);

CREATE TABLE item_versions (
    tenant text NOT NULL CHECK (tenant <> ''),
    item_id text NOT NULL,
    version integer NOT NULL,
    event text NOT NULL,
    text text,
    log_id text NOT NULL,
    at timestamp NOT NULL,
    PRIMARY KEY (tenant, item_id, version, event)
) PARTITION BY HASH (tenant);

CREATE TABLE vectors (
    tenant text NOT NULL CHECK (tenant <> ''),
    seq bigint NOT NULL DEFAULT nextval('vectors_seq'),
    item_id text NOT NULL,
    space text NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (tenant, item_id, space)
) PARTITION BY HASH (tenant);

CREATE TABLE scope_speakers (
    tenant text NOT NULL CHECK (tenant <> ''),
    user_id text NOT NULL,
    speaker text NOT NULL,
    PRIMARY KEY (tenant, user_id, speaker)
) PARTITION BY HASH (tenant);

-- BM25 collection statistics per tenant (what FTS5 keeps per table): documents and tokens per field
CREATE TABLE lexical_stats (
    tenant text NOT NULL CHECK (tenant <> ''),
    own_docs bigint NOT NULL DEFAULT 0,
    own_tokens bigint NOT NULL DEFAULT 0,
    ctx_docs bigint NOT NULL DEFAULT 0,
    ctx_tokens bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant)
) PARTITION BY HASH (tenant);

CREATE TABLE vector_spaces (
    name text PRIMARY KEY,
    embedder text NOT NULL,
    dim integer NOT NULL,
    active boolean NOT NULL DEFAULT false,
    created_at timestamp NOT NULL
);
"""

_FIRST_TABLES = ("log", "items", "item_sources", "item_versions", "vectors", "scope_speakers", "lexical_stats")
TENANT_TABLES = (
    *_FIRST_TABLES,
    "item_access",
    "item_links",
    "forget_plans",
    "forgotten_ids",
    "lexical_terms",
    "strata_due",
    "scrub_due",
    "vector_points",
    "lexical_users",
    "lexical_pairs",
    "lexical_journal",
)  # every table keyed, partitioned and policed by tenant

# BM25 needs the tokens FTS5's "porter unicode61" sees: the store hands PostgreSQL text already split
# on every non-alphanumeric character (see bm25.normalize), so only word and number tokens
# reach this configuration; words get the original Porter stemmer (as FTS5's porter), numbers stay as is.
# phrase_tf counts the occurrences of a phrase (lexemes at consecutive positions) in a tsvector.
_TEXT_SEARCH = """
CREATE TEXT SEARCH DICTIONARY porter_stem (TEMPLATE = snowball, Language = porter);
CREATE TEXT SEARCH CONFIGURATION porter (PARSER = pg_catalog.default);
ALTER TEXT SEARCH CONFIGURATION porter
    ADD MAPPING FOR asciiword, word, numword, asciihword, hword, numhword, hword_asciipart, hword_part,
        hword_numpart WITH porter_stem;
ALTER TEXT SEARCH CONFIGURATION porter
    ADD MAPPING FOR int, uint, float, sfloat, version, email, url, host, url_path, file WITH simple;

CREATE FUNCTION phrase_tf(doc tsvector, lexemes text[]) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN cardinality(lexemes) = 1 THEN
        (SELECT coalesce(sum(cardinality(u.positions)), 0)::integer FROM unnest(doc) u WHERE u.lexeme = lexemes[1])
    ELSE
        (SELECT count(*)::integer FROM unnest(doc) u, unnest(u.positions) p
         WHERE u.lexeme = lexemes[1] AND NOT EXISTS (
            SELECT 1 FROM generate_subscripts(lexemes, 1) k
            WHERE k > 1 AND NOT EXISTS (
                SELECT 1 FROM unnest(doc) v, unnest(v.positions) r WHERE v.lexeme = lexemes[k] AND r = p + k - 1)))
    END
$$;
"""


def _partitions_and_policies(tables: tuple[str, ...]) -> str:
    """Hash partitions of each of ``tables``, and the tenant policy on each table and partition
    (a partition named directly is checked by its own policy, not its parent's)."""
    statements: list[str] = []
    for table in tables:
        names = [table] + [f"{table}_p{r}" for r in range(PARTITIONS)]
        statements += [
            f"CREATE TABLE {table}_p{r} PARTITION OF {table} FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {r})"
            for r in range(PARTITIONS)
        ]
        for name in names:
            statements += [
                f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
                f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY",
                f"CREATE POLICY tenant_isolation ON {name} USING ({_TENANT_MATCH}) WITH CHECK ({_TENANT_MATCH})",
            ]
    return ";\n".join(statements) + ";"


MIGRATIONS: list[tuple[str, str]] = [
    ("0001_text_search", _TEXT_SEARCH),
    (
        "0002_tables_partitions_policies",
        "CREATE SEQUENCE log_seq; CREATE SEQUENCE items_seq; CREATE SEQUENCE vectors_seq;\n"
        + _TABLES
        + _partitions_and_policies(_FIRST_TABLES),
    ),
    (
        "0003_delete_tombstones",
        "CREATE INDEX log_deletes ON log (tenant, (payload->>'item_id')) WHERE kind = 'delete';",
    ),
    (
        "0004_item_access",
        """
        CREATE TABLE item_access (
            tenant text NOT NULL,
            item_id text NOT NULL,
            count bigint NOT NULL,
            last_at timestamp NOT NULL,
            PRIMARY KEY (tenant, item_id)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("item_access",)),
    ),
    (
        "0005_item_links",
        """
        CREATE TABLE item_links (
            tenant text NOT NULL,
            src text NOT NULL,
            dst text NOT NULL,
            kind text NOT NULL,
            weight double precision NOT NULL,
            PRIMARY KEY (tenant, src, dst, kind)
        ) PARTITION BY HASH (tenant);
        CREATE INDEX item_links_dst ON item_links (tenant, dst);
        """
        + _partitions_and_policies(("item_links",)),
    ),
    (
        "0006_forget_plans",
        """
        CREATE TABLE forget_plans (
            tenant text NOT NULL,
            id text NOT NULL,
            plan jsonb NOT NULL,
            created_at timestamp NOT NULL,
            PRIMARY KEY (tenant, id)
        ) PARTITION BY HASH (tenant);
        CREATE TABLE forgotten_ids (
            tenant text NOT NULL,
            id text NOT NULL,
            plan_id text NOT NULL,
            PRIMARY KEY (tenant, id)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("forget_plans", "forgotten_ids")),
    ),
    (
        "0007_unique_turn_positions",
        # one turn per position of a session, enforced; positions concurrent writers once doubled are
        # renumbered first (by the owner, every tenant at once: the policies are lifted for this one statement)
        """
        ALTER TABLE items NO FORCE ROW LEVEL SECURITY;
        UPDATE items AS i SET "position" = r.n - 1 FROM (
            SELECT tenant, id, row_number() OVER (
                PARTITION BY tenant, user_id, session_id ORDER BY "position", seq) AS n
            FROM items WHERE "position" IS NOT NULL AND (tenant, user_id, session_id) IN (
                SELECT tenant, user_id, session_id FROM items WHERE "position" IS NOT NULL
                GROUP BY tenant, user_id, session_id, "position" HAVING count(*) > 1)
        ) AS r WHERE i.tenant = r.tenant AND i.id = r.id;
        ALTER TABLE items FORCE ROW LEVEL SECURITY;
        CREATE UNIQUE INDEX turn_positions ON items (tenant, user_id, session_id, "position")
            WHERE "position" IS NOT NULL;
        """,
    ),
    (
        "0008_lexical_terms",
        # document frequency of each lexeme per tenant and field, kept by the writes (lexical.py), so
        # a search reads a term's frequency instead of counting its documents; filled from the items
        # already stored (by the owner, every tenant at once: the policies are lifted for it)
        """
        CREATE TABLE lexical_terms (
            tenant text NOT NULL,
            lexeme text NOT NULL,
            own_df bigint NOT NULL DEFAULT 0,
            ctx_df bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, lexeme)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("lexical_terms",))
        + """
        ALTER TABLE items NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE lexical_terms NO FORCE ROW LEVEL SECURITY;
        INSERT INTO lexical_terms (tenant, lexeme, own_df, ctx_df)
        SELECT tenant, lexeme, sum(own), sum(ctx) FROM (
            SELECT i.tenant, u.lexeme, 1 AS own, 0 AS ctx FROM items i, unnest(i.own_tsv) u
            UNION ALL
            SELECT i.tenant, u.lexeme, 0, 1 FROM items i, unnest(i.ctx_tsv) u
        ) AS x GROUP BY tenant, lexeme;
        ALTER TABLE lexical_terms FORCE ROW LEVEL SECURITY;
        ALTER TABLE items FORCE ROW LEVEL SECURITY;
        """,
    ),
    (
        "0009_strata_due",
        """
        CREATE TABLE strata_due (
            tenant text NOT NULL,
            id text NOT NULL,
            due jsonb NOT NULL,
            PRIMARY KEY (tenant, id)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("strata_due",)),
    ),
    (
        "0011_scrub_due",
        """
        CREATE TABLE scrub_due (
            tenant text NOT NULL,
            since timestamp NOT NULL,
            PRIMARY KEY (tenant)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("scrub_due",)),
    ),
    (
        "0012_vector_points",
        # The HNSW index holds each distinct vector once (``vector_points``, keyed by the hash of
        # its bytes), not each row of ``vectors``: pgvector's graph loses its way among many
        # identical vectors (each text ~320 times in bench/scale.py's 1.1M-turn store: recall@10
        # 0.23; docs/scale.md). Each row of ``vectors`` names its point; the points of the vectors
        # already stored are filled here (by the owner, every tenant at once: the policies are
        # lifted for it), and the index over ``vectors`` is dropped (vectors.py makes the new one).
        """
        CREATE TABLE vector_points (
            tenant text NOT NULL CHECK (tenant <> ''),
            space text NOT NULL,
            point uuid NOT NULL,
            embedding vector NOT NULL,
            PRIMARY KEY (tenant, space, point)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("vector_points",))
        + """
        -- first: the UPDATE below would otherwise add every row's new version to it
        DO $$
        DECLARE name text;
        BEGIN
            FOR name IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
                JOIN pg_am a ON a.oid = c.relam
                WHERE n.nspname = current_schema() AND t.relname = 'vectors' AND a.amname = 'hnsw'
            LOOP
                EXECUTE format('DROP INDEX %I', name);
            END LOOP;
        END $$;
        ALTER TABLE vectors ADD COLUMN point uuid;
        ALTER TABLE vectors NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE vector_points NO FORCE ROW LEVEL SECURITY;
        UPDATE vectors SET point = md5(vector_send(embedding))::uuid;
        INSERT INTO vector_points (tenant, space, point, embedding)
        SELECT tenant, space, point, embedding FROM vectors
        WHERE seq IN (SELECT min(seq) FROM vectors GROUP BY tenant, space, point);
        ALTER TABLE vector_points FORCE ROW LEVEL SECURITY;
        ALTER TABLE vectors FORCE ROW LEVEL SECURITY;
        ALTER TABLE vectors ALTER COLUMN point SET NOT NULL;
        CREATE INDEX vectors_point ON vectors (tenant, space, point);
        """,
    ),
    # A user's log read in append order (forget, export, rebuild and stats of one user) walks that
    # user's records, not the tenant's.
    ("0013_log_by_scope", "CREATE INDEX IF NOT EXISTS log_scope ON log (tenant, user_id, seq);"),
    (
        "0014_lexical_users",
        # A user's lexical version, moved by every write of its lexical documents in the write's
        # transaction: a process keeps a user's postings in memory (postings.py) and uses them while
        # the version it read them at is the one stored. Keyed by the hash of the user's id (no
        # name is kept); a user without a row is at version 0 (a store migrated in place).
        """
        CREATE TABLE lexical_users (
            tenant text NOT NULL CHECK (tenant <> ''),
            user_key uuid NOT NULL,
            version bigint NOT NULL,
            PRIMARY KEY (tenant, user_key)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("lexical_users",)),
    ),
    (
        "0015_lexical_pairs",
        # Document frequency of each adjacent lexeme pair ("melanie s", the phrase a possessive
        # becomes) per tenant and field, kept by the writes as lexical_terms keeps single lexemes,
        # so a two-lexeme phrase's frequency is read instead of counted over the tenant's documents
        # (bm25.plan_sql). tsvector_pairs gives a document's distinct pairs: lexemes at positions p
        # and p + 1, the match of the phrase query ``a <-> b``. Filled from the items already
        # stored (by the owner, every tenant at once: the policies are lifted for it).
        """
        CREATE FUNCTION tsvector_pairs(doc tsvector) RETURNS SETOF text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            WITH w AS (SELECT u.lexeme, p FROM unnest(doc) u, unnest(u.positions) p)
            SELECT DISTINCT a.lexeme || ' ' || b.lexeme FROM w a JOIN w b ON b.p = a.p + 1
        $$;
        CREATE TABLE lexical_pairs (
            tenant text NOT NULL,
            pair text NOT NULL,
            own_df bigint NOT NULL DEFAULT 0,
            ctx_df bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, pair)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("lexical_pairs",))
        + """
        ALTER TABLE items NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE lexical_pairs NO FORCE ROW LEVEL SECURITY;
        INSERT INTO lexical_pairs (tenant, pair, own_df, ctx_df)
        SELECT tenant, pair, sum(own), sum(ctx) FROM (
            SELECT i.tenant, x.pair, 1 AS own, 0 AS ctx FROM items i, tsvector_pairs(i.own_tsv) x(pair)
            UNION ALL
            SELECT i.tenant, x.pair, 0, 1 FROM items i, tsvector_pairs(i.ctx_tsv) x(pair)
        ) AS x GROUP BY tenant, pair;
        ALTER TABLE lexical_pairs FORCE ROW LEVEL SECURITY;
        ALTER TABLE items FORCE ROW LEVEL SECURITY;
        """,
    ),
    (
        "0016_lexical_journal",
        # The documents (their seqs and ids) each version of a user's lexical documents touched, written
        # with the version in the write's transaction: a process holding the user's postings at an
        # older version patches them with those documents instead of reading them all again
        # (postings.patch). The last versions of each user are kept (lexical.py); an entry older
        # than the journal, or a store migrated in place (no rows), is read whole as before.
        """
        CREATE TABLE lexical_journal (
            tenant text NOT NULL CHECK (tenant <> ''),
            user_key uuid NOT NULL,
            version bigint NOT NULL,
            seqs bigint[] NOT NULL,
            ids text[] NOT NULL,
            PRIMARY KEY (tenant, user_key, version)
        ) PARTITION BY HASH (tenant);
        """
        + _partitions_and_policies(("lexical_journal",)),
    ),
    # The deletes of a user that tombstone facts a merged fact absorbed (records.deleted_ids): read
    # by every consolidation of the user, they were found by walking the user's whole log.
    (
        "0017_log_absorbed",
        "CREATE INDEX IF NOT EXISTS log_absorbed ON log (tenant, user_id) WHERE kind = 'delete' AND payload ? 'absorbed';",
    ),
    (
        "0018_vector_users",
        # Each row of ``vectors`` carries its item's user, and the index by point ends with it: the
        # approximate path finds a point's rows *of the scope's user* (vectors.py), not every row of
        # the tenant holding that vector. On bench/scale.py's 1.1M-turn store each of the 3,439
        # distinct vectors is held by ~320 rows, ~23 of them the 100k-turn user's: a search of k
        # 100 read ~1,600 rows of ``vectors`` and looked each up in ``items`` (~10k pages, 35-70 ms
        # warm), a cost that grew with the tenant, not the scope. Filled from
        # the items (by the owner, every tenant at once: the policies are lifted for it), the index
        # dropped first so that the ``UPDATE`` does not add every row's new version to it.
        """
        DROP INDEX IF EXISTS vectors_point;
        ALTER TABLE vectors ADD COLUMN user_id text;
        ALTER TABLE vectors NO FORCE ROW LEVEL SECURITY;
        ALTER TABLE items NO FORCE ROW LEVEL SECURITY;
        UPDATE vectors v SET user_id = i.user_id FROM items i WHERE i.tenant = v.tenant AND i.id = v.item_id;
        -- a row whose item is gone (none is left by the writes): no search reaches it (each joins items)
        DELETE FROM vectors WHERE user_id IS NULL;
        ALTER TABLE items FORCE ROW LEVEL SECURITY;
        ALTER TABLE vectors FORCE ROW LEVEL SECURITY;
        ALTER TABLE vectors ALTER COLUMN user_id SET NOT NULL;
        CREATE INDEX vectors_point ON vectors (tenant, space, point, user_id);
        """,
    ),
    # A user's edits of derived items, by the item they name (records.edits_of): every
    # consolidation draws its facts again with their edits.
    (
        "0019_log_updates",
        "CREATE INDEX IF NOT EXISTS log_updates ON log (tenant, (payload->>'item_id')) WHERE kind = 'update';",
    ),
]


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Apply pending migrations (serialised across processes by an advisory lock); return their names."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('outcrop.migrate'))")
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        _adopt_legacy_schema(conn)
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute("SELECT set_config('search_path', %s, true)", [search_path(conn)])
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (name text PRIMARY KEY, applied_at timestamp NOT NULL)"
        )
        done = {row[0] for row in conn.execute(f"SELECT name FROM {SCHEMA}.schema_migrations")}
        for name, ddl in MIGRATIONS:
            if name in done:
                continue
            conn.execute(ddl.encode())  # several statements, no parameters
            conn.execute(
                f"INSERT INTO {SCHEMA}.schema_migrations (name, applied_at) VALUES (%s, %s)", [name, format_time(now())]
            )
            applied_now.append(name)
    return applied_now


def _adopt_legacy_schema(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Rename a store laid out under the former name in place (inside the migration transaction):
    the ``memstrata`` schema becomes ``outcrop``, every tenant policy compares with
    ``outcrop.tenant``, and the ``memstrata_app`` role becomes ``outcrop_app``. Data, indexes,
    sequences and the text search configuration move with the schema. True when it renamed."""
    found = {
        str(row[0])
        for row in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [[SCHEMA, LEGACY_SCHEMA]])
    }
    if found != {LEGACY_SCHEMA}:
        return False
    warnings.warn(
        f"renaming the PostgreSQL schema {LEGACY_SCHEMA!r} (outcrop's former name) to {SCHEMA!r}",
        LegacyNameWarning,
        stacklevel=3,
    )
    conn.execute(f"ALTER SCHEMA {LEGACY_SCHEMA} RENAME TO {SCHEMA}")
    policies = conn.execute(
        "SELECT tablename FROM pg_policies WHERE schemaname = %s AND policyname = 'tenant_isolation'", [SCHEMA]
    ).fetchall()
    for (table,) in policies:
        conn.execute(
            sql.SQL(
                "ALTER POLICY tenant_isolation ON {} USING (" + _TENANT_MATCH + ") WITH CHECK (" + _TENANT_MATCH + ")"
            ).format(sql.Identifier(SCHEMA, str(table)))
        )
    roles = {
        str(row[0])
        for row in conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", [[APP_ROLE, LEGACY_APP_ROLE]])
    }
    if roles == {LEGACY_APP_ROLE}:
        conn.execute(f"ALTER ROLE {LEGACY_APP_ROLE} RENAME TO {APP_ROLE}")
    return True


def search_path(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    """``outcrop``, then the schema pgvector is installed in, then ``public``."""
    row = conn.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'").fetchone()
    schemas = [SCHEMA, *([str(row[0])] if row else []), "public"]
    return ", ".join(dict.fromkeys(schemas))


def pending(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Names of migrations not yet applied (all of them when the schema does not exist)."""
    row = conn.execute("SELECT to_regclass(%s)", [f"{SCHEMA}.schema_migrations"]).fetchone()
    if row is None or row[0] is None:
        return [name for name, _ in MIGRATIONS]
    done = {r[0] for r in conn.execute(f"SELECT name FROM {SCHEMA}.schema_migrations")}
    return [name for name, _ in MIGRATIONS if name not in done]


def ensure_app_role(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Create the non-superuser, non-owner role the store runs its statements as, and grant it
    data access to the tables (never to DDL, never ``BYPASSRLS``)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('outcrop.migrate'))")
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone()
        if exists is None:
            conn.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        _grant_set_role(conn)
        conn.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO {APP_ROLE}")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {SCHEMA} TO {APP_ROLE}")
        conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON {SCHEMA}.schema_migrations FROM {APP_ROLE}")
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {SCHEMA} TO {APP_ROLE}")
        conn.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {SCHEMA} TO {APP_ROLE}")


def _grant_set_role(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Let the connecting (owner) role ``SET ROLE`` to the app role. A superuser always may; since
    PostgreSQL 16 a ``CREATEROLE`` user that created the role holds only its ``ADMIN`` option and
    must grant itself ``SET`` (without ``INHERIT``: the owner keeps its own rights only)."""
    row = conn.execute(
        "SELECT rolsuper, current_setting('server_version_num')::int FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if row is None or row[0]:
        return
    modern = int(str(row[1])) >= 160000
    has = conn.execute("SELECT pg_has_role(current_user, %s, %s)", [APP_ROLE, "SET" if modern else "MEMBER"]).fetchone()
    if has is None or not has[0]:
        conn.execute(f"GRANT {APP_ROLE} TO CURRENT_USER" + (" WITH INHERIT FALSE, SET TRUE" if modern else ""))


def vector_index_name(space: VectorSpace) -> str:
    return "vector_points_hnsw_" + hashlib.sha1(space.name.encode()).hexdigest()[:12]


def vector_index_ddl(space: VectorSpace) -> sql.Composed:
    """An HNSW (cosine) index over one space's distinct vectors (``vector_points``): the column
    holds any dimension, the index casts to this space's (searches must order by the same
    expression to use it)."""
    return sql.SQL(
        "CREATE INDEX IF NOT EXISTS {name} ON {schema}.vector_points"
        " USING hnsw ((embedding::vector({dim})) vector_cosine_ops)"
        " WHERE space = {space}"
    ).format(
        name=sql.Identifier(vector_index_name(space)),
        schema=sql.Identifier(SCHEMA),
        dim=sql.Literal(space.dim),
        space=sql.Literal(space.name),
    )
