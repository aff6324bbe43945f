"""The PostgreSQL + pgvector store: the same log and projections as SQLite, shared by many agents.

Connecting: ``Memory("postgresql://user:password@host:5432/dbname")``. The URL's user owns the
``outcrop`` schema: on open it applies pending migrations (recorded in
``outcrop.schema_migrations``) and creates the ``outcrop_app`` role (no login, not a
superuser, no ``BYPASSRLS``, not the tables' owner) with data access only. Every statement the
store runs for a tenant runs on a pooled connection that has done ``SET ROLE outcrop_app``,
inside a transaction that first sets ``outcrop.tenant`` (``set_config(..., true)``: local to the
transaction, so a pooled connection never carries a tenant over). Row-level security policies
(``FORCE``d, so they bind the owner too) compare every row's ``tenant`` with that setting: a query
that forgets its tenant filter, or runs with no tenant set, sees no row of anybody.

Lexical search is BM25 computed in SQL over ``tsvector`` columns with GIN indexes
(:mod:`outcrop.stores.postgres.bm25`); vector search is pgvector cosine distance, exact over
a scope of up to :attr:`~outcrop.stores.postgres.vectors.PostgresVectors.exact_limit` items (as SQLite searches, so both stores
rank the same data alike) and through one HNSW index per vector space above that. Store-wide
maintenance (switching the vector space, scrubbing) and DDL run on the owner's connection. See
docs/postgres.md for partitioning and sharding by tenant.

The package, by part:

* ``connection``: the owner connection and the pool of application connections, ``tx(tenant)``;
* ``records``, ``lexical``, ``vectors``, ``maintenance``: the four seams of
  :class:`outcrop.stores.base.Store` (``rows`` holds the records' row statements, ``bm25`` the
  BM25 SQL, ``sqlparts`` what they all share);
* ``schema``: migrations, tenant policies, the app role; ``store``: :class:`PostgresStore`.
"""

from outcrop.stores.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
