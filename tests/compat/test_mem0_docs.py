"""The example of docs/integrations/mem0.md runs as written, offline, without a warning, and its
table names every public method of mem0's ``Memory``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_docs import blocks

pytestmark = pytest.mark.integration  # the packaged model in a child process

PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "mem0.md"


def test_the_example_runs_as_written(tmp_path: Path) -> None:
    [code] = blocks(PAGE, "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTCROP_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "ADD"
    assert lines[1].startswith("I'm not a big fan of thriller movies but I love sci-fi movies.")
    assert "'dense'" in lines[2] and "'bm25'" in lines[2]
    assert lines[3:] == ["['ADD', 'UPDATE']", "3"]
    assert (tmp_path / "memory.db").exists()


def test_the_table_names_every_public_method_of_mem0s_memory() -> None:
    from mem0 import Memory as Mem0Memory

    from outcrop.compat.mem0 import Memory

    page = PAGE.read_text(encoding="utf-8")
    public = {name for name in vars(Mem0Memory) if not name.startswith("_")}
    assert "`project`" in page  # named as not supported (the platform's settings)
    for name in sorted(public - {"project", "entity_store"}):  # entity_store: mem0's internals
        assert f"| `{name}`" in page, name
        assert hasattr(Memory, name), name
