"""Map one job over keys (tenants, evaluation cases): in this process, or as Ray tasks.

A job is a picklable callable ``job(key) -> result`` that opens what it needs itself (a store
from its URL and a :class:`~outcrop.config.MemoryConfig`, never a live connection) and returns a
plain result object. :func:`run_each` calls it once per key, one after another in this process
(``ray=None``) or as one Ray task per key, and returns the results by key, in key order, the
same objects either way. A key whose job raises does not stop the others: once every key has
run, :class:`~outcrop.errors.BulkWorkError` names each failed key with its error and carries the
results of the rest (their work is done and kept).

``ray`` names the cluster: ``"auto"`` joins the cluster this machine belongs to (``RAY_ADDRESS``
or the one last started here) or starts a local one; ``"local"`` always starts a local one; any
other value is a cluster address (``host:6379`` or ``ray://host:10001``). A Ray already
initialised in this process (tests, notebooks) is used as it is.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from outcrop.errors import BulkWorkError, ConfigError, install_hint

__all__ = ["connect", "run_each"]

R = TypeVar("R")

Job = Callable[[str], R]
Done = Callable[[str], None]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def connect(address: str) -> Any:
    """The ``ray`` module, initialised for ``address`` (see the module docstring). An address
    Ray cannot parse or reach is a :class:`ConfigError` (one line), and a ``host:port`` that takes
    no connection is refused within :data:`REACH_SECONDS` (Ray itself retried for ~14 minutes)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs the ray package: {install_hint('ray')}") from None
    if not ray.is_initialized():
        where = {"auto": None, "local": "local"}.get(address, address)
        if where is not None and where != "local":
            _reachable(where)
        # A local cluster on this machine needs no token; a real cluster keeps its own setting.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        try:
            ray.init(address=where, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
        except (ValueError, ConnectionError, RuntimeError, TimeoutError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {first}") from None
    return ray


REACH_SECONDS = 10.0


def _reachable(address: str) -> None:
    """A ``host:port`` address takes a TCP connection (a ``ray://`` one is left to Ray's client,
    which gives up in ~30 s)."""
    if "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--ray {address!r} is not a Ray address: host:port, ray://host:port, auto or local")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_SECONDS).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {reason}") from None


@contextmanager
def _ray_for(address: str) -> Iterator[Any]:
    """Ray connected for ``address`` for the length of the block; a Ray this call started (none was
    initialised in the process) is shut down after it, and the environment left as it was (it used
    to stay initialised, its processes running, ``RAY_AUTH_MODE`` set)."""
    before = os.environ.get("RAY_AUTH_MODE")
    started = not _initialised()
    module = connect(address)
    try:
        yield module
    finally:
        if started:
            module.shutdown()
            if before is None:
                os.environ.pop("RAY_AUTH_MODE", None)


def _initialised() -> bool:
    try:
        import ray
    except ImportError:
        return False
    return bool(ray.is_initialized())


def _call(job: Callable[[str], Any], key: str) -> Any:
    return job(key)


def run_each(
    job: Job[R],
    keys: Sequence[str],
    *,
    ray: str | None = None,
    what: str = "tenant",
    done: Done | None = None,
    cpus: float = 1,
) -> dict[str, R]:
    """``job(key)`` for every key, in this process or as one Ray task each (``cpus`` per task);
    ``done(key)`` is called as each finishes. Raises :class:`BulkWorkError` naming every ``what``
    that failed once all have run."""
    keys = list(dict.fromkeys(keys))
    if ray is None:
        results, failures = _in_process(job, keys, done)
    else:
        with _ray_for(ray) as module:
            results, failures = _on_ray(job, keys, module, done, cpus)
    ordered = {key: results[key] for key in keys if key in results}
    if failures:
        raise BulkWorkError(what, failures, dict(ordered))
    return ordered


def _in_process(job: Job[R], keys: list[str], done: Done | None) -> tuple[dict[str, R], dict[str, str]]:
    results: dict[str, R] = {}
    failures: dict[str, str] = {}
    for key in keys:
        try:
            results[key] = job(key)
        except Exception as exc:  # reported with the key; the other keys still run
            failures[key] = _describe(exc)
        if done is not None:
            done(key)
    return results, failures


def _on_ray(
    job: Job[R], keys: list[str], ray: Any, done: Done | None, cpus: float
) -> tuple[dict[str, R], dict[str, str]]:
    task = ray.remote(num_cpus=cpus, max_retries=0)(_call)
    shared = ray.put(job)  # sent to the object store once, not once per task
    pending = {task.remote(shared, key): key for key in keys}
    results: dict[str, R] = {}
    failures: dict[str, str] = {}
    while pending:
        finished, _ = ray.wait(list(pending), num_returns=1)
        for ref in finished:
            key = pending.pop(ref)
            try:
                results[key] = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the job raised: report its own error
                failures[key] = _describe(exc.cause) if exc.cause is not None else str(exc)
            except ray.exceptions.RayError as exc:  # the worker died, the node was lost, ...
                failures[key] = _describe(exc)
            if done is not None:
                done(key)
    return results, failures
