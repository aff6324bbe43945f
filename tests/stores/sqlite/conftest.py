"""Fixtures shared by the SQLite store's lexical tests."""

from __future__ import annotations

import pytest

from outcrop.stores.sqlite import lexical as lexical_module
from outcrop.stores.sqlite.packs import FOLD_ROWS


@pytest.fixture(params=["tail", "packs", "both"])
def fold(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the postings are read from (``stores/sqlite/packs.py``): the tail of rows only (no
    write folds it), the packs only (every write folds), or both (a fold every ~150 rows). A module
    runs every test each way with ``pytestmark = pytest.mark.usefixtures("fold")``. The folds run
    right after each write, in its thread (``stores/sqlite/folding.py``; the tests read and write
    the file beside the store: a fold in the background would race them)."""
    rows = {"tail": FOLD_ROWS, "packs": 1, "both": 150}[request.param]
    monkeypatch.setattr(lexical_module, "FOLD_ROWS", rows)
    monkeypatch.setattr(lexical_module, "FOLD_IN_BACKGROUND", False)
    return str(request.param)
