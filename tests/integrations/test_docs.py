"""Every Python example of docs/integrations/*.md and docs/async.md runs as written, in a fresh
directory and a child process, and prints what its page says it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_docs import blocks

pytestmark = pytest.mark.integration  # the packaged model, child processes

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _run(code: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCROP_", "MEMSTRATA_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_langgraph_examples_run(tmp_path: Path) -> None:
    pytest.importorskip("langgraph")
    sync, aio = blocks(DOCS / "integrations" / "langgraph.md", "python")
    assert _run(sync, tmp_path).splitlines() == ["my sister Maya lives in Porto", "I don't know."]
    assert _run(aio, tmp_path).splitlines() == ["The launch moved to Thursday."]


def test_the_openai_agents_example_continues_its_session_in_a_second_process(tmp_path: Path) -> None:
    pytest.importorskip("agents")
    [code] = blocks(DOCS / "integrations" / "openai-agents.md", "python")
    assert _run(code, tmp_path).strip() == "message 1 from you; the first was: Hi, I'm Alice."
    assert _run(code, tmp_path).strip() == "message 2 from you; the first was: Hi, I'm Alice."


def test_the_pydantic_ai_example_runs(tmp_path: Path) -> None:
    pytest.importorskip("pydantic_ai")
    [code] = blocks(DOCS / "integrations" / "pydantic-ai.md", "python")
    out = _run(code, tmp_path).splitlines()
    first_cited = next(line for line in out if line.startswith("[1]"))
    assert first_cited == "[1] [agent] my dentist appointment is on May 3"
    assert out[-1] == "8 messages kept"


def test_the_async_example_runs(tmp_path: Path) -> None:
    [code] = blocks(DOCS / "async.md", "python")
    assert _run(code, tmp_path).strip() == "I moved to Lisbon in May."
