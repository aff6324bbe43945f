"""The lifecycle commands through the real ``outcrop`` executable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.lifecycle.conftest import add

pytestmark = pytest.mark.integration  # the real executable in child processes


def test_forget_session_prints_a_passing_receipt(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    add(db, "I keep my grandmother's Vorpalite ring in a blue box.", "s1")
    kept = add(db, "I play tennis on Sundays.", "s2")
    refused = run_cli("forget", "-u", "ana", "-s", "s1", db=db, check=False)  # no --yes, no terminal: aborts
    assert refused.returncode != 0
    receipt = json.loads(run_cli("forget", "-u", "ana", "-s", "s1", "--yes", "--json", db=db).stdout)
    assert receipt["verification"]["passed"] is True
    assert len(receipt["removed"]["turn"]) == 1 and receipt["removed"]["log"]
    assert b"vorpalite" not in db.read_bytes().lower()
    listed = json.loads(run_cli("list", "-u", "ana", "--level", "turn", "--json", db=db).stdout)
    assert [i["id"] for i in listed] == [kept]
    text = run_cli("forget", kept, "--yes", db=db).stdout
    assert "verification passed" in text and "removed    turn" in text
    missing = run_cli("forget", "t_nothing", "--yes", db=db, check=False)
    assert missing.returncode == 2 and "error:" in missing.stderr


def test_compact_gives_freed_pages_back(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    for n in range(3):
        add(db, f"Note {n}: " + "the quarterly orchard report lists apples, pears and plums. " * 40, f"s{n}")
    run_cli("forget", "-u", "ana", "-s", "s0", "--yes", db=db)
    refused = run_cli("compact", db=db, check=False)  # no --yes, no terminal: aborts
    assert refused.returncode != 0
    size = db.stat().st_size
    report = json.loads(run_cli("compact", "--yes", "--json", db=db).stdout)
    assert report["vacuumed"] is True and report["bytes_gone"] is True
    assert db.stat().st_size < size  # the forgotten session's pages went back to the file system
