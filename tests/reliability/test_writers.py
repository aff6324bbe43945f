"""Several writers on one store at once (:mod:`tests.reliability.writers`): 4 writer processes on
one SQLite file or one PostgreSQL database, and 4 ``outcrop serve`` processes on one PostgreSQL
database. No caller sees an error, no session position is given twice or skipped, and the same
input added by several writers is stored once, every writer getting its id.
``bench/reliability.py`` runs the same for 30 seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.writers import process_writers, server_writers

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_four_writer_processes_lose_nothing_and_collide_nowhere(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else str(request.getfixturevalue("postgres_url"))
    report = process_writers(url, tmp_path, writers=4, adds=12)
    assert report.ok and report.gaps == 0, report
    assert report.adds == 48 and report.turns == 4 * 8 + 4  # 4 shared inputs of 12, stored once each


def test_four_servers_on_one_postgres_lose_nothing_and_collide_nowhere(tmp_path: Path, postgres_url: str) -> None:
    report = server_writers(postgres_url, tmp_path, servers=4, adds=9)
    assert report.ok and report.gaps == 0, report
    assert report.adds == 36 and report.turns == 4 * 6 + 3
