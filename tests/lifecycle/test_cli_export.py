"""``outcrop export`` / ``import`` / ``rebuild`` through the real executable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.lifecycle.conftest import add

pytestmark = pytest.mark.integration  # the real executable in child processes


def test_export_import_rebuild_from_the_command_line(tmp_path: Path) -> None:
    one, two, out, again = tmp_path / "one.db", tmp_path / "two.db", tmp_path / "x.jsonl", tmp_path / "y.jsonl"
    turn = add(one, "I grow purple tomatoes on my balcony.", "s1")
    add(one, "My sister lives in Porto.", "s2")
    report = json.loads(run_cli("export", str(out), "--json", db=one).stdout)
    assert report["records"] == 2
    imported = json.loads(run_cli("import", str(out), "--json", db=two).stdout)
    assert (imported["added"], imported["skipped"]) == (2, 0)
    run_cli("export", str(again), db=two)
    assert again.read_bytes() == out.read_bytes()
    hits = json.loads(run_cli("search", "tomatoes", "-u", "ana", "--json", db=two).stdout)
    assert turn in {h["id"] for h in hits} | {s for h in hits for s in h.get("sources", [])}
    rebuilt = json.loads(run_cli("rebuild", "--json", db=two).stdout)
    assert rebuilt["records"] == 2 and rebuilt["turns"] == 2

    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text().splitlines()[0] + "\n{oops\n")
    failed = run_cli("import", str(bad), db=tmp_path / "three.db", check=False)
    assert failed.returncode != 0 and "line 2" in failed.stderr + failed.stdout
