"""The lifecycle commands through the real ``outcrop`` executable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXE = shutil.which("outcrop") or str(Path(sys.executable).with_name("outcrop"))


def run(*args: str, db: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OUTCROP_DB": f"sqlite:///{db}"}
    result = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"outcrop {args} failed ({result.returncode}): {result.stderr}")
    return result


def add(db: Path, text: str, session: str, speaker: str = "Ana") -> str:
    return run("add", text, "--speaker", speaker, "-u", "ana", "-s", session, "-t", "2024-03-01", db=db).stdout.strip()


def test_forget_session_prints_a_passing_receipt(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    add(db, "I keep my grandmother's Vorpalite ring in a blue box.", "s1")
    kept = add(db, "I play tennis on Sundays.", "s2")
    refused = run("forget", "-u", "ana", "-s", "s1", db=db, check=False)  # no --yes, no terminal: aborts
    assert refused.returncode != 0
    receipt = json.loads(run("forget", "-u", "ana", "-s", "s1", "--yes", "--json", db=db).stdout)
    assert receipt["verification"]["passed"] is True
    assert len(receipt["removed"]["turn"]) == 1 and receipt["removed"]["log"]
    assert b"vorpalite" not in db.read_bytes().lower()
    listed = json.loads(run("list", "-u", "ana", "--level", "turn", "--json", db=db).stdout)
    assert [i["id"] for i in listed] == [kept]
    text = run("forget", kept, "--yes", db=db).stdout
    assert "verification passed" in text and "removed    turn" in text
    missing = run("forget", "t_nothing", "--yes", db=db, check=False)
    assert missing.returncode == 2 and "error:" in missing.stderr
