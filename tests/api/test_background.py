"""``strata.mode: deferred``: add returns once its turns are logged and indexed (searchable at once),
the worker computes their strata behind it, ``wait_for_strata`` waits for it, and a process killed
between the two loses nothing: the next open computes what was due."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder
from tests.helpers import STORY, STORY_STRATA, ingest_story


def _config(db: Path, mode: str) -> MemoryConfig:
    return MemoryConfig(store=f"sqlite:///{db}", strata={**STORY_STRATA, "mode": mode})


def _strata(memory: Memory) -> dict[str, int]:
    counts = memory.stats(user_id="u1")["counts"]
    return {level: counts[level] for level in ("fact", "episode", "topic", "profile")}


@pytest.fixture
def held(embedder: Embedder, tmp_path: Path) -> Iterator[tuple[Memory, threading.Event]]:
    """A deferred memory whose worker waits for the event before each consolidation."""
    memory = Memory(config=_config(tmp_path / "d.db", "deferred"), embedder=embedder)
    gate = threading.Event()
    inner = memory.engine.consolidator.after_add

    def gated(scope: Scope, turn_ids: Any) -> Any:
        gate.wait(60)
        return inner(scope, turn_ids)

    memory.engine.consolidator.after_add = gated  # type: ignore[method-assign]
    yield memory, gate
    gate.set()
    memory.close()


def test_deferred_adds_are_searchable_at_once_and_caught_up_like_inline(
    held: tuple[Memory, threading.Event], embedder: Embedder, tmp_path: Path
) -> None:
    memory, gate = held
    ids = ingest_story(memory)
    assert _strata(memory) == {"fact": 0, "episode": 0, "topic": 0, "profile": 0}  # the worker is held
    assert not memory.wait_for_strata(timeout=0.2)
    hits = memory.search("Where did Caroline move for her internship?", user_id="u1", limit=3)
    assert hits and hits[0].id == ids["s2"][1]  # the turn, indexed by the add itself
    assert len(memory.store.records.strata_due("default")) == len(STORY)
    gate.set()
    assert memory.wait_for_strata(timeout=60)
    assert memory.store.records.strata_due("default") == []
    with Memory(config=_config(tmp_path / "i.db", "inline"), embedder=embedder) as inline:
        ingest_story(inline)
        assert _strata(memory) == _strata(inline)
        assert _strata(memory)["fact"] > 0 and _strata(memory)["episode"] == len(STORY)


def test_close_catches_up_with_the_adds_of_the_process(embedder: Embedder, tmp_path: Path) -> None:
    with Memory(config=_config(tmp_path / "d.db", "deferred"), embedder=embedder) as memory:
        ingest_story(memory)
    with Memory(config=_config(tmp_path / "d.db", "inline"), embedder=embedder) as again:
        assert again.store.records.strata_due("default") == []
        assert _strata(again)["episode"] == len(STORY)


def test_inline_memory_is_always_caught_up(memory: Memory) -> None:
    ingest_story(memory)
    assert memory.wait_for_strata(timeout=0)
    assert memory.store.records.strata_due("default") == []


CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from outcrop import Memory, MemoryConfig
    from tests.helpers import STORY_STRATA, ingest_story
    m = Memory(config=MemoryConfig(store=sys.argv[1], strata={**STORY_STRATA, "mode": "deferred"}))
    never = threading.Event()
    m.engine.consolidator.after_add = lambda scope, ids: never.wait()  # the worker never gets there
    ids = ingest_story(m)
    print(" ".join(i for session in ids.values() for i in session), flush=True)  # acknowledged
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_a_process_killed_between_logging_and_consolidating_loses_nothing(embedder: Embedder, tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, f"sqlite:///{db}"], stdout=subprocess.PIPE, text=True, env=env, cwd=root
    )
    assert child.stdout is not None
    acknowledged = child.stdout.readline().split()
    os.kill(child.pid, signal.SIGKILL)  # turns logged and indexed, strata not computed
    child.wait(timeout=30)
    child.stdout.close()
    assert len(acknowledged) == sum(len(turns) for _, _, turns in STORY)

    with Memory(config=_config(db, "inline"), embedder=embedder) as reopened:  # the open catches up
        assert reopened.store.records.strata_due("default") == []
        for item_id in acknowledged:
            assert reopened.get(item_id, user_id="u1").level.value == "turn"
        with Memory(config=_config(tmp_path / "ref.db", "inline"), embedder=embedder) as reference:
            ingest_story(reference)
            assert _strata(reopened) == _strata(reference)
