"""What a user set up under the former name ``memstrata`` keeps working after the rename to outcrop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.legacy import LegacyNameWarning, adopt_legacy_environment, default_data_dir, with_current_names
from outcrop.providers import Embedder
from outcrop.server.config import ServerConfig


def test_legacy_variables_are_read_under_the_new_name_with_one_warning() -> None:
    with pytest.warns(LegacyNameWarning, match="MEMSTRATA_DB is read as OUTCROP_DB") as caught:
        env = with_current_names({"MEMSTRATA_DB": "sqlite:///old.db", "HOME": "/h"})
    assert env == {"OUTCROP_DB": "sqlite:///old.db", "HOME": "/h"} and len(caught) == 1


def test_the_new_name_wins_when_both_are_set_and_nothing_warns() -> None:
    env = with_current_names({"MEMSTRATA_DB": "sqlite:///old.db", "OUTCROP_DB": "sqlite:///new.db"})
    assert env == {"OUTCROP_DB": "sqlite:///new.db"}


def test_config_from_env_reads_the_legacy_names(tmp_path: Path) -> None:
    env = {
        "MEMSTRATA_DB": f"sqlite:///{tmp_path / 'm.db'}",
        "MEMSTRATA_TENANT": "acme",
        "MEMSTRATA_ADMIN_KEY": "k" * 20,
    }
    with pytest.warns(LegacyNameWarning) as caught:
        config = ServerConfig.from_env(env)
    assert config.memory.store.endswith("m.db") and config.memory.tenant == "acme"
    assert config.admin_key is not None and config.admin_key.get_secret_value() == "k" * 20
    assert len(caught) == 3  # once per variable, though the memory part reads the environment again


def test_adopting_the_environment_in_place_sets_the_new_names() -> None:
    environ = {"MEMSTRATA_LLM_MODEL": "m", "OUTCROP_DB": "x", "MEMSTRATA_DB": "y"}
    with pytest.warns(LegacyNameWarning):
        assert adopt_legacy_environment(environ) == ["OUTCROP_LLM_MODEL"]
    assert environ["OUTCROP_LLM_MODEL"] == "m" and environ["OUTCROP_DB"] == "x"


def test_a_default_store_left_under_the_old_data_dir_is_opened(tmp_path: Path) -> None:
    assert default_data_dir(tmp_path) == tmp_path / "outcrop"  # nothing anywhere: the new folder
    (tmp_path / "memstrata").mkdir()
    (tmp_path / "memstrata" / "memory.db").write_bytes(b"")
    with pytest.warns(LegacyNameWarning, match="former name"):
        assert default_data_dir(tmp_path) == tmp_path / "memstrata"
    (tmp_path / "outcrop").mkdir()
    (tmp_path / "outcrop" / "memory.db").write_bytes(b"")
    assert default_data_dir(tmp_path) == tmp_path / "outcrop"  # once both exist, the new one


def test_an_export_written_under_the_old_name_imports(tmp_path: Path, embedder: Embedder) -> None:
    source = tmp_path / "old.jsonl"
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as m:
        m.add("I keep bees on the roof.", user_id="u1", timestamp="2024-05-01T09:00:00")
        m.export(source)
    lines = source.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "outcrop"
    source.write_text("\n".join([json.dumps({**header, "format": "memstrata"}), *lines[1:]]) + "\n")
    with (
        Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as m,
        pytest.warns(LegacyNameWarning, match="former name"),
    ):
        m.import_(source)
        assert [i.text for i in m.list(user_id="u1")] == ["I keep bees on the roof."]


@pytest.mark.integration
def test_the_cli_runs_with_only_legacy_variables_set(tmp_path: Path) -> None:
    db = tmp_path / "legacy.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCROP_", "MEMSTRATA_"))}
    env["MEMSTRATA_DB"] = f"sqlite:///{db}"
    run = [sys.executable, "-c", "from outcrop.cli import main; main()"]
    added = subprocess.run(
        [*run, "add", "--user-id", "u1", "Bees on the roof."], env=env, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr
    assert "MEMSTRATA_DB is read as OUTCROP_DB" in added.stderr and db.exists()
