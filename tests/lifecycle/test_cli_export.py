"""``outcrop export`` / ``import`` / ``rebuild`` through the real executable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outcrop.providers import Embedder
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


_CUT_SHORT = """
import resource, signal, sys
from outcrop import Memory
with Memory(sys.argv[1]) as m:  # opened first: the limit is for the export's own writes
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # the disk fills at 20 kB
    try:
        m.export(sys.argv[2])
    except Exception as exc:
        print(type(exc).__name__, exc)
"""


def test_an_export_the_disk_cannot_hold_leaves_the_earlier_file_whole(tmp_path: Path, embedder: Embedder) -> None:
    """An export cut short by a full disk left the lines written so far, and a cut between lines
    imported as a whole export; now the target is replaced only once the export is whole."""
    import subprocess
    import sys

    from outcrop import Memory

    db, out = f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "out.jsonl"
    with Memory(db, embedder=embedder) as m:
        m.add([{"role": "user", "content": f"Note {i}: " + "words " * 40} for i in range(200)], user_id="u1")
        m.export(out)
    before = out.read_bytes()
    assert len(before) > 100_000
    result = subprocess.run([sys.executable, "-c", _CUT_SHORT, db, str(out)], capture_output=True, text=True)
    assert result.stdout.startswith("StoreError cannot write") and "nothing was written" in result.stdout, result
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
