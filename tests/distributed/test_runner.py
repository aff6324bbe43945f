"""run_each in this process: results by key in key order, and a failing key reported with the
others' results (the Ray path is tested in test_jobs.py, against this one)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.distributed import run_each
from outcrop.errors import BulkWorkError, InvalidInputError, OutcropError
from outcrop.providers import Embedder
from tests.helpers import run_cli


def _square_or_fail(key: str) -> int:
    if key == "bad":
        raise InvalidInputError("no such thing")
    return int(key) ** 2


def test_results_come_back_by_key_in_key_order_once_each() -> None:
    seen: list[str] = []
    assert run_each(_square_or_fail, ["3", "1", "2", "1"], done=seen.append) == {"3": 9, "1": 1, "2": 4}
    assert seen == ["3", "1", "2"]


def test_a_failing_key_is_named_with_its_error_and_the_others_still_run() -> None:
    with pytest.raises(BulkWorkError) as caught:
        run_each(_square_or_fail, ["2", "bad", "3"], what="tenant")
    error = caught.value
    assert isinstance(error, OutcropError)
    assert error.failures == {"bad": "InvalidInputError: no such thing"}
    assert error.results == {"2": 4, "3": 9}
    assert "1 of 3 tenant(s) failed (bad: InvalidInputError: no such thing); the other 2 done" in str(error)
    assert pickle.loads(pickle.dumps(error)).failures == error.failures  # crosses process boundaries


@pytest.mark.parametrize(
    ("address", "said"),
    [("127.0.0.1:1", "cannot reach the Ray cluster at '127.0.0.1:1'"), ("garbage", "is not a Ray address")],
)
def test_a_ray_address_that_cannot_be_reached_is_one_line_and_exit_2(
    tmp_path: Path, embedder: Embedder, address: str, said: str
) -> None:
    """A closed port hung for ~14 minutes of Ray's retries, then a traceback (exit 1); an address
    Ray cannot parse was a traceback too."""
    pytest.importorskip("ray")
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        memory.add("I keep bees on the roof.", user_id="u1")
    done = run_cli("rebuild", "--tenant", "default", "--ray", address, db=tmp_path / "m.db", check=False, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and said in done.stderr


def test_a_ray_that_run_each_started_is_shut_down_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run_each(ray="local")`` from the API left Ray initialised (its processes running) and
    ``RAY_AUTH_MODE`` set in the caller's environment."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray of this process is in use")
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert run_each(str.upper, ["a", "b"], ray="local") == {"a": "A", "b": "B"}
    assert not ray.is_initialized()
    assert "RAY_AUTH_MODE" not in os.environ
