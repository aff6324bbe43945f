"""The store's connections: the owner's, for migrations, DDL and store-wide maintenance, and a pool
of application connections, each of which has done ``SET ROLE outcrop_app`` once, on which every
tenant statement runs inside :meth:`Connections.tx`."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from outcrop.errors import OutcropError, StoreError, WriteConflict
from outcrop.stores.postgres.schema import APP_ROLE, SCHEMA, TENANT_SETTING, ensure_app_role, migrate, search_path
from outcrop.stores.postgres.sqlparts import Conn

__all__ = ["DEFAULT_POOL_SIZE", "DEFAULT_POOL_TIMEOUT", "Connections"]

DEFAULT_POOL_SIZE = 8
"""Application connections the pool opens at most: threads beyond it wait for a free one."""
DEFAULT_POOL_TIMEOUT = 30.0
"""Seconds a statement waits for a free application connection before failing."""


class Connections:
    """The owner connection (serialised by a lock) and the pool of application connections.

    Opening migrates the schema and creates the app role on the owner connection. A transaction
    holds one pooled connection from start to end; a transaction opened inside another on the same
    thread is a savepoint of the same connection, never a second pooled one (a small pool would
    deadlock, and the inner work would not be atomic with the outer)."""

    def __init__(
        self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE, pool_timeout: float = DEFAULT_POOL_TIMEOUT
    ) -> None:
        if pool_size < 1:
            raise StoreError(f"the PostgreSQL pool needs at least one connection, not {pool_size}")
        self.url = url
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout
        try:
            self._admin: Conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL store: {exc}".strip()) from None
        self._admin_lock = threading.Lock()
        try:
            migrate(self._admin)
            ensure_app_role(self._admin)
            self.search_path = search_path(self._admin)
            self._admin.execute("SELECT set_config('search_path', %s, false)", [self.search_path])
        except psycopg.Error as exc:
            self._admin.close()
            raise StoreError(f"cannot prepare the PostgreSQL schema: {exc}".strip()) from None
        try:  # what every pooled connection will do, checked once here, where its error can be told
            with self._admin.transaction():
                self._admin.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(APP_ROLE)))
                self._admin.execute(
                    sql.SQL("SELECT 1 FROM {}.schema_migrations LIMIT 1").format(sql.Identifier(SCHEMA))
                )
        except psycopg.Error as exc:
            self._admin.close()
            raise StoreError(f"cannot connect to PostgreSQL store: {exc}".strip()) from None
        self._local = threading.local()
        self._closed = False
        self.pool: ConnectionPool[Conn] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            configure=self._configure,
            timeout=pool_timeout,
            name="outcrop",
            open=True,
        )
        try:
            self.pool.wait(timeout=pool_timeout)
        except PoolTimeout:
            self.close()
            raise StoreError(
                f"cannot connect to PostgreSQL store: no application connection opened within {pool_timeout:g}s"
            ) from None

    def _configure(self, conn: Conn) -> None:
        """Once per pooled connection: the app role and the search path, for the session."""
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_ROLE)))
        conn.execute("SELECT set_config('search_path', %s, false)", [self.search_path])

    def close(self) -> None:
        self._closed = True
        self.pool.close()
        with self._admin_lock:
            self._admin.close()

    # -- application connections ----------------------------------------------------------------
    @contextmanager
    def _pooled(self) -> Iterator[Conn]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            conn = self.pool.getconn()
        except PoolTimeout:
            raise StoreError(
                f"no PostgreSQL connection free within {self.pool_timeout:g}s: all {self.pool_size} of the"
                " store's pool are in use (open the store with a larger pool_size, or run fewer operations at once)"
            ) from None
        except PoolClosed:
            raise StoreError("the store is closed") from None
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL store: {exc}".strip()) from None
        try:
            yield conn
        finally:  # a broken connection is discarded (and replaced) by the pool
            self.pool.putconn(conn)

    @contextmanager
    def tx(self, tenant: str) -> Iterator[Conn]:
        """One transaction as the app role with ``outcrop.tenant`` set to ``tenant`` (local to the
        transaction: a pooled connection never carries a tenant over). Inside another ``tx`` of this
        thread: a savepoint on its connection, with ``tenant`` set for the inner part only; inside a
        :meth:`snapshot` of the same tenant, its transaction itself."""
        outer: tuple[Conn, str] | None = getattr(self._local, "open", None)
        if outer is not None and getattr(self._local, "shared", None) == tenant == outer[1]:
            with _mapped_errors():
                yield outer[0]
            return
        if outer is not None:
            conn, outer_tenant = outer
            with _mapped_errors(), conn.transaction():
                if tenant != outer_tenant:
                    _set_tenant(conn, tenant)
                self._local.open = (conn, tenant)
                try:
                    yield conn
                finally:
                    self._local.open = outer
                if tenant != outer_tenant:  # on error the savepoint's rollback restores it
                    _set_tenant(conn, outer_tenant)
            return
        with self._pooled() as conn:
            self._local.open = (conn, tenant)
            try:
                with _mapped_errors(), conn.transaction():
                    _set_tenant(conn, tenant)
                    yield conn
            finally:
                self._local.open = None

    @contextmanager
    def snapshot(self, tenant: str) -> Iterator[None]:
        """This thread's statements run in one ``REPEATABLE READ, READ ONLY`` transaction: one
        state of the database, whatever others write meanwhile. Every :meth:`tx` of ``tenant`` in
        the block runs on it directly (read only: nothing to roll back alone, and no savepoint's
        round trips), another tenant's as a savepoint. Nested: the outer snapshot (or transaction)."""
        if getattr(self._local, "open", None) is not None:
            yield
            return
        with self._pooled() as conn:
            self._local.open, self._local.shared = (conn, tenant), tenant
            # BEGIN carries the isolation level and read-only mode (one round trip, not two); the
            # attributes are the client's own, put back before the connection returns to the pool
            conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
            try:
                with _mapped_errors(), conn.transaction():
                    _set_tenant(conn, tenant)
                    yield
            finally:
                self._local.open, self._local.shared = None, None
                _plain_transactions(conn)

    def query(self, tenant: str, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """All rows of one statement, in its own :meth:`tx`."""
        with self.tx(tenant) as conn:
            return conn.execute(query.encode(), params).fetchall()

    def shared_query(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """All rows of one statement on a table without tenant rows (``vector_spaces``): on the
        transaction or snapshot this thread has open, whatever its tenant (no savepoint, no second
        transaction: a search checks the active space in its own snapshot), else in a :meth:`tx`."""
        outer: tuple[Conn, str] | None = getattr(self._local, "open", None)
        if outer is None:
            return self.query("", query, params)
        with _mapped_errors():
            return outer[0].execute(query.encode(), params).fetchall()

    # -- the owner's connection -----------------------------------------------------------------
    @contextmanager
    def admin(self) -> Iterator[Conn]:
        """The owner connection (autocommit), held alone; callers map its errors to their messages."""
        with self._admin_lock:
            yield self._admin


def _plain_transactions(conn: Conn) -> None:
    """Later transactions on ``conn`` start as the server's default (read-write) again; a
    connection that cannot be told so is closed, and the pool replaces it."""
    if conn.closed:
        return
    try:
        conn.isolation_level, conn.read_only = None, None
    except psycopg.Error:
        conn.close()


def _set_tenant(conn: Conn, tenant: str) -> None:
    conn.execute("SELECT set_config(%s, %s, true)", [TENANT_SETTING, tenant])


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """psycopg errors as :class:`StoreError` (the store's own errors pass through)."""
    try:
        yield
    except OutcropError:
        raise
    except psycopg.errors.IntegrityError as exc:
        raise WriteConflict(f"write rejected by the store: {exc}".strip()) from None
    except psycopg.errors.DeadlockDetected as exc:  # two writes locking shared points in crossed order
        raise WriteConflict(f"write rolled back by the store, to be retried: {exc}".strip()) from None
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL statement failed: {exc}".strip()) from None
