"""ServerConfig.for_workers: each of N server processes gets its share of the cores for the embedder."""

from __future__ import annotations

import pytest

from outcrop import MemoryConfig
from outcrop.server import ServerConfig
from outcrop.server import config as server_config


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
