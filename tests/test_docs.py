"""The examples of the README and the docs run as written, in a temporary directory: the README's
Python block, the ``as_of`` example of docs/time.md, and the ``--as-of`` example of docs/usage.md,
which must find what memory held at that moment (it used to find nothing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import EXE

pytestmark = pytest.mark.integration  # the packaged model, child processes

ROOT = Path(__file__).resolve().parents[1]


def blocks(path: Path, language: str) -> list[str]:
    """The fenced ``language`` blocks of a Markdown file, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCROP_", "MEMSTRATA_"))}
    env["PATH"] = f"{Path(EXE).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_the_readme_python_block_runs_as_written(tmp_path: Path) -> None:
    [code] = blocks(ROOT / "README.md", "python")
    env = {**_child_env(), "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "[1] Caroline: I went to the LGBTQ support group" in result.stdout
    assert (tmp_path / "memory.db").exists()


def test_the_as_of_example_of_time_md_finds_what_memory_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [code] = [block for block in blocks(ROOT / "docs" / "time.md", "python") if "as_of=t" in block]
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(code, "docs/time.md", "exec"), scope)
    m = scope["m"]
    try:
        then = m.search("Where does Ann live?", user_id="ann", as_of=scope["t"])  # type: ignore[attr-defined]
        assert then and all("Paris" not in hit.text for hit in then)
        assert any("Boston" in hit.text for hit in then)
        timeline = m.timeline("Ann", "lives_in", user_id="ann")  # type: ignore[attr-defined]
        assert [value.value for value in timeline] == ["Boston", "Paris"]
    finally:
        m.close()  # type: ignore[attr-defined]


def test_the_as_of_cli_example_of_usage_md_finds_what_memory_held(tmp_path: Path) -> None:
    [script] = [block for block in blocks(ROOT / "docs" / "usage.md", "bash") if "--as-of" in block]
    env = {**_child_env(), "OUTCROP_DB": f"sqlite:///{tmp_path / 'memory.db'}", "COLUMNS": "200"}
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    found = "\n".join(result.stdout.splitlines()[2:])  # the search's table, after the ids the two adds print
    assert "Maya lives in Porto" in found and "Lisbon" not in found, found
