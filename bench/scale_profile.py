"""Where a search's time goes on the stores ``bench/scale.py`` keeps, and two versions of the code
side by side under the same load.

    python bench/scale_profile.py [--dir /work/scale-stores/full] [--queries 100] [--rounds 2]
                                  [--src /work/main/src,src] [--store sqlite|postgres]
                                  [--dirs <copy for main>,<copy for this tree>]

For each ``--src`` (a ``src`` folder of outcrop: e.g. ``main``'s and this tree's), in turn and
``--rounds`` times over (so both see the same load on a shared machine), a fresh process opens
the kept SQLite stores as ``bench/scale.py``'s probes do and runs ``--queries`` LoCoMo questions
through ``Memory.search`` (limit 10, after one warm-up search) for ``target`` alone, ``target``
in the 1.1M-turn store and ``big`` (100k turns) there. It prints per user: wall p50 / p95, the
search thread's CPU p50 / p95 (the p95 of a fresh process: its cold reads; CPU holds where wall
times follow the machine's load), and the CPU per search of each stage (the store's lexical search,
loading items, the dense channel's vector search, the rest: analysis, fusion, strength),
means over the questions. Reads only: the stores are not changed, except by a source's own
migrations at open; ``--dirs`` gives each source its copy (one per ``--src``, in order), for a
source that migrates the file (e.g. packs its postings) where the other cannot read it after.

``--store postgres`` profiles the PostgreSQL stores of ``bench/scale.py --stores postgres`` (``--dir``
holding ``postgres/pg``; the script starts that server and stops it at the end): most of a
search's time is then the server's, so the stages are wall time (ms per search, means), every
call of the store's records, lexical and vector seams timed apart, and the table gives the wall
p50 / p95 of the whole search beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
PROBES = (("alone", "target"), ("crowded", "target"), ("crowded", "big"))


def measure_postgres(urls: dict[str, str], root: Path, data: Path, queries: int) -> dict[str, Any]:
    """In the child: wall time per store call of ``target`` and ``big`` in the crowded PostgreSQL store."""
    sys.path.insert(0, str(HERE))
    import scale

    from outcrop import Memory, MemoryConfig

    asked = scale.questions(data)[:queries]
    embedder = scale.memo_embedder(root, data)
    out: dict[str, Any] = {}
    config = MemoryConfig(store=urls["crowded"], strata={"on_add": False}, retrieval={"track_access": False})
    with Memory(config=config, embedder=embedder) as memory:
        stages: dict[str, float] = defaultdict(float)
        store_ = memory.store
        for seam in ("records", "lexical", "vectors"):
            obj = getattr(store_, seam)
            for name in dir(obj):
                if name.startswith("_") or not callable(getattr(obj, name)):
                    continue
                inner: Callable[..., Any] = getattr(obj, name)

                def wrapper(*args: Any, _inner: Any = inner, _stage: str = f"{seam}.{name}", **kwargs: Any) -> Any:
                    started = time.perf_counter()
                    try:
                        return _inner(*args, **kwargs)
                    finally:
                        stages[_stage] += time.perf_counter() - started

                setattr(obj, name, wrapper)
        for user in ("target", "big"):
            memory.search("warm up", user_id=user, limit=10)
            memory.search(asked[-1], user_id=user, limit=10)
            stages.clear()
            wall: list[float] = []
            for question in asked:
                started = time.perf_counter()
                memory.search(question, user_id=user, limit=10)
                wall.append((time.perf_counter() - started) * 1000)
            per = {k: v * 1000 / len(asked) for k, v in stages.items()}
            per["rest"] = statistics.mean(wall) - sum(per.values())
            wall.sort()
            out[f"{user} (crowded)"] = {
                "wall": (statistics.median(wall), wall[max(0, int(len(wall) * 0.95) - 1)]),
                "mean": statistics.mean(wall),
                "stages": per,
            }
    return out


def measure(root: Path, data: Path, queries: int) -> dict[str, Any]:
    """In the child: the figures of :data:`PROBES` with the code on ``sys.path``."""
    sys.path.insert(0, str(HERE))
    import scale

    from outcrop import Memory, MemoryConfig

    asked = scale.questions(data)[:queries]
    embedder = scale.memo_embedder(root, data)
    out: dict[str, Any] = {}
    for store, user in PROBES:
        url = str(root / "sqlite" / f"{store}.db")
        config = MemoryConfig(
            store=url, strata={"on_add": False}, retrieval={"track_access": False}, ann_background=False
        )
        with Memory(config=config, embedder=embedder) as memory:
            memory.search("warm up", user_id=user, limit=10)
            stages: dict[str, float] = defaultdict(float)

            def timed(obj: Any, name: str, stage: str, stages: dict[str, float] = stages) -> None:
                inner: Callable[..., Any] = getattr(obj, name)

                def wrapper(*args: Any, **kwargs: Any) -> Any:
                    started = time.thread_time()
                    try:
                        return inner(*args, **kwargs)
                    finally:
                        stages[stage] += time.thread_time() - started

                setattr(obj, name, wrapper)

            store_ = memory.store
            timed(store_.lexical, "search", "lexical search")
            timed(store_.lexical, "documents", "lexical documents (feedback)")
            timed(store_.records, "get_items", "loading items")
            timed(store_.vectors, "search", "vector search")
            wall: list[float] = []
            cpu: list[float] = []
            for question in asked:
                started, thread = time.perf_counter(), time.thread_time()
                memory.search(question, user_id=user, limit=10)
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - thread) * 1000)
            wall.sort()
            per = {k: v * 1000 / len(asked) for k, v in stages.items()}
            per["rest"] = statistics.mean(cpu) - sum(per.values())
            out[f"{user} ({store})"] = {
                "wall": (statistics.median(wall), wall[max(0, int(len(wall) * 0.95) - 1)]),
                "cpu_p50": statistics.median(cpu),
                "cpu_p95": sorted(cpu)[max(0, int(len(cpu) * 0.95) - 1)],
                "stages": per,
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/work/scale-stores/full"))
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/locomo/locomo-dev.json"))
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--src", default=str(HERE.parent / "src"), help="comma-separated src folders")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--dirs", default="", help="comma-separated: each --src's own copy of --dir (sqlite)")
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.urls:
            print(json.dumps(measure_postgres(json.loads(args.urls), args.dir, args.data, args.queries)))
        else:
            print(json.dumps(measure(args.dir, args.data, args.queries)))
        return
    sources = [s for s in args.src.split(",") if s]
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with ExitStack() as stack:
        extra: list[str] = []
        if args.store == "postgres":
            sys.path.insert(0, str(HERE))
            import scale

            server = stack.enter_context(scale.local_postgres(args.dir / "postgres" / "pg"))
            urls = {name: scale.postgres_database(server, name) for name in ("alone", "crowded")}
            extra = ["--urls", json.dumps(urls)]
        dirs = [Path(d) for d in args.dirs.split(",") if d] or [args.dir] * len(sources)
        if len(dirs) != len(sources):
            raise SystemExit("--dirs: one per --src")
        for _ in range(args.rounds):
            for src, root in zip(sources, dirs, strict=True):
                env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
                command = [sys.executable, __file__, "--child", "--dir", str(root), "--data", str(args.data)]
                command += ["--queries", str(args.queries), *extra]
                done = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
                if done.returncode:
                    raise SystemExit(f"the child failed:\n{done.stderr[-3000:]}")
                runs[src].append(json.loads(done.stdout.strip().splitlines()[-1]))
    kind = "wall ms" if args.store == "postgres" else "CPU ms"
    table = Table(title=f"search, {args.queries} questions, {args.rounds} round(s) per source ({args.store})")
    for column in ("source", "user", "wall p50 / p95", "CPU p50 / p95" if args.store == "sqlite" else "wall mean"):
        table.add_column(column)
    table.add_column(f"{kind} per search by stage (mean)")
    for src in sources:
        for n, run in enumerate(runs[src]):
            for user, figures in run.items():
                ordered = sorted(figures["stages"].items(), key=lambda kv: -kv[1])
                stages = ", ".join(f"{k} {v:.1f}" for k, v in ordered if abs(v) >= 0.05)
                wall = figures["wall"]
                if "cpu_p50" in figures:
                    middle = f"{figures['cpu_p50']:.1f} / {figures.get('cpu_p95', float('nan')):.1f}"
                else:
                    middle = f"{figures.get('mean', 0.0):.1f}"
                table.add_row(src, f"{user} #{n + 1}", f"{wall[0]:.1f} / {wall[1]:.1f}", middle, stages)
    Console(width=240).print(table)


if __name__ == "__main__":
    main()
