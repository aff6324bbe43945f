"""One real ``outcrop serve`` process (uvicorn on a loopback port, SQLite store in a temp dir)
shared by the server tests, and one on the suite's PostgreSQL for the isolation test; each test
gets fresh tenants, so tests do not see each other's data."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from outcrop.server.launch import ServerProcess

ADMIN_KEY = "test-admin-" + secrets.token_hex(8)
MAX_BODY = 64 * 1024


@dataclass
class Server:
    url: str
    db_url: str
    keys_path: Path
    admin: httpx.Client

    def tenant_client(self, tenant: str | None = None) -> httpx.Client:
        """A client authenticated as a new key of ``tenant`` (a fresh tenant if none is given)."""
        tenant = tenant or f"t-{secrets.token_hex(6)}"
        self.admin.post("/v1/admin/tenants", json={"name": tenant}).raise_for_status()
        created = self.admin.post(f"/v1/admin/tenants/{tenant}/keys", json={"name": "test"})
        created.raise_for_status()
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {created.json()['key']}"}, timeout=60.0
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    yield from _serve(f"sqlite:///{root / 'memory.db'}", root)


@pytest.fixture(scope="session")
def postgres_backed_server(tmp_path_factory: pytest.TempPathFactory, postgres_server: str) -> Iterator[Server]:
    """The same server on the suite's real PostgreSQL (own database; tenancy enforced by RLS)."""
    import psycopg

    root = tmp_path_factory.mktemp("server-pg")
    name = f"srv_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield from _serve(postgres_server.replace("/postgres?", f"/{name}?", 1), root)


def _serve(db_url: str, root: Path) -> Iterator[Server]:
    process = ServerProcess(
        db_url,
        admin_key=ADMIN_KEY,
        args=("--keys", str(root / "keys.db"), "--max-body-bytes", str(MAX_BODY), "--log-level", "warning"),
        log_path=root / "server.log",
        startup_timeout=300.0,  # generous: loading the model on a loaded 2-core CI machine can take minutes
    )
    with process, httpx.Client(base_url=process.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        yield Server(url=process.url, db_url=db_url, keys_path=root / "keys.db", admin=admin)


@pytest.fixture
def tenant_client(server: Server) -> Iterator[Callable[..., httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(tenant: str | None = None) -> httpx.Client:
        clients.append(server.tenant_client(tenant))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


NewClient = Callable[..., httpx.Client]  # the tenant_client fixture: a client with a new tenant's key


def api_add(client: httpx.Client, **body: object) -> list[str]:
    """POST /v1/memories; the new ids (fails the test unless 201)."""
    response = client.post("/v1/memories", json=body)
    assert response.status_code == 201, response.text
    ids: list[str] = response.json()["ids"]
    return ids
