"""The process's compute threads: its cores, and the cap on numpy's BLAS pool (threadpoolctl)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from outcrop.core.threads import available_cores, blas_threads, limit_blas_threads


@pytest.fixture
def restored_blas() -> Iterator[int]:
    """The BLAS thread count before the test, put back after it (the cap is process-wide)."""
    before = blas_threads()
    assert before is not None, "threadpoolctl (dev extra) should find numpy's BLAS"
    yield before
    limit_blas_threads(before)


def test_available_cores_is_what_the_process_may_run_on() -> None:
    cores = available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))


def test_limit_blas_threads_caps_the_pool_process_wide(restored_blas: int) -> None:
    assert limit_blas_threads(1)
    assert blas_threads() == 1
    matrix = np.arange(3000 * 64, dtype=np.float32).reshape(3000, 64) / 1e5
    assert (matrix @ np.ones(64, dtype=np.float32)).shape == (3000,)  # BLAS still works, on one thread
    assert limit_blas_threads(2)
    assert blas_threads() == 2
