"""The PostgreSQL + pgvector store: the four seams composed over one set of connections."""

from __future__ import annotations

from contextlib import AbstractContextManager

from outcrop.stores.postgres.connection import DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT, Connections
from outcrop.stores.postgres.lexical import DEFAULT_POSTINGS_BYTES, PostgresLexical
from outcrop.stores.postgres.maintenance import PostgresMaintenance
from outcrop.stores.postgres.records import PostgresRecords
from outcrop.stores.postgres.vectors import PostgresVectors

__all__ = ["PostgresStore"]


class PostgresStore:
    """See :class:`outcrop.stores.base.Store` for the contract and :mod:`outcrop.stores.postgres`
    for tenancy. ``pool_size`` application connections at most (threads beyond it wait up to
    ``pool_timeout`` seconds for one), plus the owner's; ``postings_cache_bytes`` of users' BM25
    postings kept in memory (:mod:`outcrop.stores.postgres.postings`)."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
        postings_cache_bytes: int = DEFAULT_POSTINGS_BYTES,
    ) -> None:
        self.url = url
        self.connections = Connections(url, pool_size=pool_size, pool_timeout=pool_timeout)
        self.lexical = PostgresLexical(self.connections, postings_cache_bytes)
        self.vectors = PostgresVectors(self.connections)
        self.records = PostgresRecords(self.connections, self.lexical, self.vectors)
        self.maintenance = PostgresMaintenance(self.connections, self.lexical)

    def snapshot(self, tenant: str) -> AbstractContextManager[None]:
        return self.connections.snapshot(tenant)

    def close(self) -> None:
        self.connections.close()
