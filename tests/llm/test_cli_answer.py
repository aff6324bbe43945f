"""``outcrop answer`` and ``outcrop llm check`` as real subprocesses, against a scripted
OpenAI-compatible server on loopback, configured by the two environment settings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from outcrop import Memory
from outcrop.llm.scripted import Reply, ScriptedServer
from outcrop.providers import Embedder
from tests.helpers import run_cli

pytestmark = pytest.mark.integration  # the real executable in child processes


def model(request: dict[str, object]) -> Reply:
    user = str(request["messages"][-1]["content"])  # type: ignore[index]
    if "Gold answer" in user:
        return Reply(content='{"verdict": "CORRECT"}')
    ids = re.findall(r"^\[([^\]]+)\].*Boston", user, re.M)
    return Reply(content=json.dumps({"answer": "Boston", "citations": ids[:1], "abstain": False}))


def test_answer_and_check_commands(tmp_path: Path, embedder: Embedder) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    with Memory(db, embedder=embedder) as m:
        m.add([{"role": "user", "name": "Caroline", "content": "I live in Boston now."}], user_id="u1")
    with ScriptedServer(model, model="scripted-cli") as server:
        env = {"OUTCROP_DB": db, "OUTCROP_LLM_BASE_URL": server.base_url, "OUTCROP_LLM_MODEL": "scripted-cli"}
        got = run_cli("answer", "Where does Caroline live?", "-u", "u1", "--json", env=env, check=False, timeout=120)
        assert got.returncode == 0, got.stderr
        reply = json.loads(got.stdout)
        assert reply["text"] == "Boston" and reply["model"] == "scripted-cli" and len(reply["citations"]) == 1
        shown = run_cli("answer", "Where does Caroline live?", "-u", "u1", env=env, check=False, timeout=120)
        assert "Boston" in shown.stdout and reply["citations"][0] in shown.stdout and "answer@2" in shown.stdout
        check = run_cli("llm", "check", env=env, check=False, timeout=120)
        assert check.returncode == 0 and json.loads(check.stdout)["verdict"] == "CORRECT"
    down = run_cli("answer", "Where?", env={"OUTCROP_DB": db}, check=False, timeout=120)
    assert down.returncode == 2 and down.stderr.startswith("error: answer needs an LLM")


def test_the_llm_settings_of_the_environment_hold_beside_a_config_file(tmp_path: Path) -> None:
    """With a config file (--config or OUTCROP_CONFIG) the CLI read the file alone: OUTCROP_LLM_*
    were ignored, where the library's MemoryConfig.from_env reads them over the file."""
    settings = tmp_path / "outcrop.json"
    settings.write_text(json.dumps({"retrieval": {"neighbour_window": 1}}), encoding="utf-8")
    with ScriptedServer(model, model="scripted-cli") as server:
        env = {"OUTCROP_LLM_BASE_URL": server.base_url, "OUTCROP_LLM_MODEL": "scripted-cli"}
        for given in ({"OUTCROP_CONFIG": str(settings)}, {}):
            args = ("llm", "check") if given else ("--config", str(settings), "llm", "check")
            check = run_cli(*args, env={**env, **given}, check=False, timeout=120)
            assert check.returncode == 0, check.stderr
            assert json.loads(check.stdout)["verdict"] == "CORRECT"
