"""Opening one new SQLite store from several processes at once (Ray tasks, server workers): every
open succeeds. SQLite answered "database is locked" at once, without waiting, to a process switching
the file to WAL while another was creating it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.opening import open_at_once

pytestmark = pytest.mark.integration  # child processes


def test_processes_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    assert open_at_once("outcrop.stores.sqlite.connection:SQLiteConnection", tmp_path, processes=6, trials=8) == []
