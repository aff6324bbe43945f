"""Several writers on one store at once, for a number of adds or a number of seconds:

* :func:`process_writers`: writer processes, each with its own ``Memory`` on the same store
  (a SQLite file, or a PostgreSQL database);
* :func:`server_writers`: ``outcrop serve`` processes on the same store, one client thread each
  posting to its own server.

Every writer adds one-message turns to the same session of the same user; every third message is
the same input from every writer (an idempotent add: stored once, every writer gets its id). The
:class:`WriterReport` counts what callers saw go wrong and what the store holds afterwards.
Used by ``tests/reliability/test_writers.py``, ``tests/stores/test_concurrency.py`` and the
benchmarks ``bench/reliability.py`` and ``bench/concurrent_writers.py``.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.server.launch import ServerProcess

__all__ = ["WriterReport", "process_writers", "server_writers"]

USER, SESSION, TENANT = "u", "s", "rel"


@dataclass
class WriterReport:
    adds: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    samples: list[str] = field(default_factory=list)  # the first few error messages
    turns: int = 0
    expected: int = 0
    split_ids: int = 0  # shared inputs whose writers got different ids
    doubled: int = 0  # session positions given to more than one turn
    gaps: int = 0  # positions skipped
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.split_ids and not self.doubled and self.turns == self.expected


def _message(number: int, i: int) -> dict[str, str]:
    shared = i % 3 == 0
    return {"name": "Sam" if shared else f"W{number}", "content": f"{'shared' if shared else number} note {i}"}


def _when(i: int) -> str:
    return f"2024-01-{1 + i // 1440 % 28:02d}T{i // 60 % 24:02d}:{i % 60:02d}"


def _done(i: int, adds: int | None, deadline: float) -> bool:
    return i >= adds if adds is not None else time.monotonic() >= deadline


def _writer(url: str, number: int, adds: int | None, seconds: float, out: str) -> None:
    errors: list[str] = []
    ids: dict[str, str] = {}
    with Memory(config=MemoryConfig(store=url, tenant=TENANT)) as m:
        deadline, i = time.monotonic() + seconds, 0
        while not _done(i, adds, deadline):
            message = _message(number, i)
            try:
                (ids[message["content"]],) = m.add([message], user_id=USER, session_id=SESSION, timestamp=_when(i))
            except Exception as exc:  # every error counts, ours or not
                errors.append(f"{type(exc).__name__}: {exc}")
            i += 1
    Path(out).write_text(json.dumps({"errors": errors, "ids": ids, "adds": i}))


def _summarise(url: str, results: list[dict[str, object]], seconds: float) -> WriterReport:
    report = WriterReport(seconds=seconds)
    for r in results:
        report.adds += int(r["adds"])  # type: ignore[call-overload]
        for error in r["errors"]:  # type: ignore[attr-defined]
            report.errors[str(error).split(":")[0]] += 1
            if len(report.samples) < 5:
                report.samples.append(str(error)[:300])
    ids: list[dict[str, str]] = [r["ids"] for r in results]  # type: ignore[misc]
    shared = {k for i in ids for k in i if k.startswith("shared")}
    report.split_ids = sum(1 for k in shared if len({i[k] for i in ids if k in i}) > 1)
    distinct = {k for i in ids for k in i}
    report.expected = len(distinct)
    with Memory(config=MemoryConfig(store=url, tenant=TENANT)) as m:
        turns = m.list(user_id=USER, session_id=SESSION, level="turn", limit=10_000)
        positions = m.store.records.positions(Scope(tenant=TENANT, user_id=USER), [t.id for t in turns])
    report.turns = len(turns)
    report.doubled = len(positions) - len(set(positions.values()))
    report.gaps = (max(positions.values()) + 1 - len(set(positions.values()))) if positions else 0
    return report


def process_writers(
    url: str, folder: Path, *, writers: int = 4, adds: int | None = None, seconds: float = 0.0
) -> WriterReport:
    """``writers`` processes adding ``adds`` turns each (or for ``seconds``) to the store at ``url``."""
    Memory(config=MemoryConfig(store=url, tenant=TENANT)).close()  # the schema, before the race to open it
    spawn = multiprocessing.get_context("spawn")
    outs = [folder / f"writer{n}.json" for n in range(writers)]
    processes = [spawn.Process(target=_writer, args=(url, n, adds, seconds, str(o))) for n, o in enumerate(outs)]
    started = time.perf_counter()
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=600 + seconds)
    elapsed = time.perf_counter() - started
    missing = [n for n, p in enumerate(processes) if p.exitcode != 0]
    results = [json.loads(o.read_text()) for n, o in enumerate(outs) if n not in missing]
    results += [{"errors": [f"WriterDied: exit {processes[n].exitcode}"], "ids": {}, "adds": 0} for n in missing]
    return _summarise(url, results, elapsed)


def _post_loop(client: httpx.Client, number: int, adds: int | None, deadline: float, result: dict[str, object]) -> None:
    errors: list[str] = []
    ids: dict[str, str] = {}
    i = 0
    while not _done(i, adds, deadline):
        message = _message(number, i)
        body = {"messages": [message], "user_id": USER, "session_id": SESSION, "timestamp": _when(i)}
        try:
            response = client.post("/v1/memories", json=body)
            if response.status_code == 201:
                (ids[message["content"]],) = response.json()["ids"]
            else:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        i += 1
    result.update(errors=errors, ids=ids, adds=i)


def server_writers(
    url: str, folder: Path, *, servers: int = 4, adds: int | None = None, seconds: float = 0.0
) -> WriterReport:
    """``servers`` ``outcrop serve`` processes on the store at ``url``, one client each adding
    ``adds`` turns (or for ``seconds``) to the same tenant, user and session."""
    Memory(config=MemoryConfig(store=url, tenant=TENANT)).close()
    admin_key = "rel-admin-" + secrets.token_hex(8)
    processes = [
        ServerProcess(
            url,
            admin_key=admin_key,
            args=("--keys", str(folder / f"keys{n}.db"), "--log-level", "warning"),
            log_path=folder / f"server{n}.log",
            startup_timeout=300.0,
        )
        for n in range(servers)
    ]
    clients: list[httpx.Client] = []
    try:
        for server in processes:
            server.start()
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin_key}"}) as admin:
                admin.post("/v1/admin/tenants", json={"name": TENANT}).raise_for_status()
                key = admin.post(f"/v1/admin/tenants/{TENANT}/keys", json={"name": "writer"}).json()["key"]
            clients.append(httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=120))
        results: list[dict[str, object]] = [{} for _ in processes]
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=_post_loop, args=(client, n, adds, deadline, results[n]))
            for n, client in enumerate(clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
        for server in processes:
            server.stop()
    report = _summarise(url, results, elapsed)
    for n in range(servers):
        log = (folder / f"server{n}.log").read_text(errors="replace")
        if "Traceback" in log:
            report.errors["server traceback"] += 1
            report.samples.append(log[log.index("Traceback") :][:300])
        report.samples += [line[:300] for line in log.splitlines() if "request failed" in line][:5]
    return report
