"""The server's own database (API keys, idempotency records) opened by several processes at once:
the workers of ``outcrop serve --workers N`` start together over one new file, and every open
succeeds (a worker failed to start when SQLite refused one the switch to WAL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.opening import open_at_once

pytestmark = pytest.mark.integration  # child processes


def test_workers_opening_a_new_server_database_at_once_all_succeed(tmp_path: Path) -> None:
    # with 6 processes one trial in 20 met the race on 2 cores; with 12, four in 10
    assert open_at_once("outcrop.server.sidecar:SidecarDB", tmp_path, processes=12, trials=8) == []
