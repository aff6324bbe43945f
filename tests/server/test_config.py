"""ServerConfig: each of N server processes gets its share of the cores for the embedder; each
store gets its own keys file."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcrop import MemoryConfig
from outcrop.errors import ConfigError
from outcrop.server import ServerConfig
from outcrop.server import config as server_config
from outcrop.server.config import default_keys_path


@pytest.mark.parametrize(("cores", "workers", "threads"), [(2, 2, 1), (8, 2, 4), (8, 3, 2), (2, 4, 1)])
def test_each_worker_gets_its_share_of_the_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, workers: int, threads: int
) -> None:
    monkeypatch.setattr(server_config, "available_cores", lambda: cores)
    config = ServerConfig(memory=MemoryConfig(store="sqlite:///m.db")).for_workers(workers)
    assert config.memory.embedder_threads == threads
    assert config.memory.store == "sqlite:///m.db"


def test_one_worker_or_a_configured_count_is_left_alone() -> None:
    plain = ServerConfig(memory=MemoryConfig(store="sqlite:///m.db"))
    assert plain.for_workers(1) is plain
    assert plain.for_workers(1).memory.embedder_threads == 0  # onnxruntime's default: every core
    pinned = ServerConfig(memory=MemoryConfig(store="sqlite:///m.db", embedder_threads=3))
    assert pinned.for_workers(4).memory.embedder_threads == 3


def test_each_server_store_has_its_own_default_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PostgreSQL store's server shared one keys file: a key made for one store opened the
    other's server, and an idempotency key replayed one store's ids on the other."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    one = default_keys_path("postgresql://app:secret@db.example:5432/one")
    assert one != default_keys_path("postgresql://app:secret@db.example:5432/two")
    assert one == default_keys_path("postgresql://app:rotated@DB.example:5432/one?sslmode=require")
    assert one.parent == tmp_path / "outcrop"
    assert default_keys_path(f"sqlite:///{tmp_path / 'm.db'}") == tmp_path / "m.keys.db"
    shared = tmp_path / "outcrop" / "server-keys.db"  # what every server store used before
    shared.parent.mkdir(parents=True)
    shared.write_bytes(b"")
    with pytest.raises(ConfigError, match="every server store used to share"):
        default_keys_path("postgresql://app:secret@db.example:5432/one")
