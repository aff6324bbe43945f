"""The process's compute threads: the cores it may run on, and numpy's BLAS thread pool.

numpy's OpenBLAS runs a matrix-vector product over as many threads as there are cores, and its
idle threads spin before they sleep. A search does a few small products (the query against a
scope's vectors, a query term against the expansion vocabulary): split over two threads they are
no faster, and the helper thread's spin after each one burned more CPU than the searches' own
work (a SQLite search at 1,000 turns: 46 ms of CPU with two BLAS threads, 24 ms with one; see
docs/scale.md). :func:`limit_blas_threads` caps the pool through ``threadpoolctl`` (a dependency
of the package; without it, in an environment that removed it, nothing is capped).
"""

from __future__ import annotations

import os

__all__ = ["available_cores", "blas_threads", "limit_blas_threads"]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def limit_blas_threads(threads: int) -> bool:
    """Cap every BLAS library loaded in this process at ``threads`` threads (process-wide, for
    every thread of it). False when ``threadpoolctl`` is not installed or no BLAS is loaded."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return False
    import numpy  # noqa: F401  # its BLAS must be loaded for threadpoolctl to find it

    blas = ThreadpoolController().select(user_api="blas")
    if not blas.lib_controllers:
        return False
    blas.limit(limits=threads)  # applied now, and kept: the limiter is never exited
    return True


def blas_threads() -> int | None:
    """The largest thread count of the loaded BLAS libraries, or None when it cannot be told."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [int(info["num_threads"]) for info in threadpool_info() if info.get("user_api") == "blas"]
    return max(counts) if counts else None
