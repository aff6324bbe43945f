"""Cost that follows the scope: one user's search alone and among many users, peak RSS of a
serving process, store size, and the price of a delete, on SQLite.

    python bench/scale.py [--users 60] [--turns 1000] [--queries 150] [--data ../shared/data/locomo/locomo-dev.json]
                          [--compare ../main/src]

Builds two stores with ``Memory.add`` (turns only, no strata): "alone" holds one 1k-turn user
(``target``), "crowded" is the same file plus ``--users`` more users of ``--turns`` turns each.
Every user's turns are LoCoMo sessions (each user starts at another session, so users differ);
texts are embedded once by the real model and then through a memo of it (the issue allows it:
the build is about the store, not the embedder). The users share one tenant, so they share its
BM25 index (lexical statistics are per tenant); the dense and BM25 rows show each channel alone. Each measurement runs in a fresh child process
over a finished store: LoCoMo questions through ``Memory.search`` (all channels, limit 10) for
``target``, timed one by one after one warm-up search; then one search of every other user (every
scope touched once, as a server of many users would); then ``target`` again; the child's peak
RSS. The delete row: ``Memory.delete`` of one of ``target``'s turns, the next search through the
same handle, and the first search through a second handle on the same file that held the scope
before the delete (another process's view, opened in the same child).

``--compare SRC`` probes the same two stores with the outcrop of another checkout's ``src`` too,
each probe of this code followed by the same probe of that one (both see the same machine load).
The stores are then built by that (older) code, and each code probes a copy of its own: this code
migrates its copy when it opens it (before any timed search), the older one reads them as written.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest_search import MemoEmbedder
from rich.console import Console
from rich.table import Table

import outcrop
from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder, load_embedder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
Batch = tuple[str, str, list[dict[str, str]]]  # session id, timestamp, messages


def sessions(data: Path) -> list[tuple[str, list[dict[str, str]]]]:
    found = []
    for sample in json.loads(data.read_text()):
        conv = sample["conversation"]
        for key, turns in conv.items():
            if key.startswith("session_") and isinstance(turns, list) and turns:
                found.append((conv[f"{key}_date_time"], [{"name": t["speaker"], "content": t["text"]} for t in turns]))
    return found


def user_batches(pool: list[tuple[str, list[dict[str, str]]]], start: int, turns: int) -> list[Batch]:
    """``turns`` messages from the sessions of ``pool``, beginning at session ``start``."""
    batches: list[Batch] = []
    total, n = 0, start
    while total < turns:
        date, messages = pool[n % len(pool)]
        taken = messages[: turns - total]
        batches.append((f"s{n}", date, taken))
        total += len(taken)
        n += 1
    return batches


def build(url: str, embedder: Embedder, users: dict[str, list[Batch]]) -> float:
    """Add every user's batches; the seconds it took."""
    started = time.perf_counter()
    with Memory(config=MemoryConfig(store=url, strata={"on_add": False}), embedder=embedder) as memory:
        for user, batches in users.items():
            for session, date, messages in batches:
                memory.add(messages, user_id=user, session_id=session, timestamp=date)
    return time.perf_counter() - started


def _percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[max(0, int(len(ms) * 0.95) - 1)]


def build_stores(directory: str, args: argparse.Namespace) -> float:
    """``alone.db`` and ``crowded.db`` in ``directory``; the seconds the crowd's build took."""
    pool = sessions(args.data)
    memo = MemoEmbedder(load_embedder("minilm"))
    others = {f"u{n:04d}": user_batches(pool, 7 * (n + 1), args.turns) for n in range(args.users)}
    build(f"sqlite:///{directory}/alone.db", memo, {"target": user_batches(pool, 0, args.turns)})
    shutil.copy(f"{directory}/alone.db", f"{directory}/crowded.db")
    return build(f"sqlite:///{directory}/crowded.db", memo, others)


def probe(url: str, questions: list[str], users: list[str], delete: bool) -> dict[str, Any]:
    """In a fresh process: what a server of this store sees (see the module docstring)."""
    embedder = MemoEmbedder(load_embedder("minilm"))
    embedder.embed(questions)  # the queries' vectors are not what is measured
    config = MemoryConfig(store=url, strata={"on_add": False}, retrieval={"track_access": False})
    out: dict[str, Any] = {}
    with Memory(config=config, embedder=embedder) as memory:

        def timed(user: str, question: str, channels: dict[str, float] | None = None) -> float:
            started = time.perf_counter()
            memory.search(question, user_id=user, limit=10, channels=channels)
            return (time.perf_counter() - started) * 1000

        timed("target", "warm up")
        out["target"] = _percentiles([timed("target", q) for q in questions])
        out["dense"] = _percentiles([timed("target", q, {"dense": 1.0}) for q in questions])
        out["bm25"] = _percentiles([timed("target", q, {"bm25": 1.0}) for q in questions])
        others = [timed(u, questions[n % len(questions)]) for n, u in enumerate(users)]
        out["others"] = _percentiles(others) if others else (0.0, 0.0)
        out["target_after"] = _percentiles([timed("target", q) for q in questions])
        out["cache_mb"] = getattr(memory.store.vectors, "cache_bytes", float("nan")) / 2**20  # none before 0009
        if delete:
            with Memory(config=config, embedder=embedder) as other:
                other.search(questions[0], user_id="target", limit=10)  # it holds the scope now
                victim = memory.search(questions[0], user_id="target", limit=1)[0].id
                started = time.perf_counter()
                memory.delete(victim, user_id="target")
                out["delete"] = (time.perf_counter() - started) * 1000
                out["search_after_delete"] = timed("target", questions[1])
                started = time.perf_counter()
                hits = other.search(questions[0], user_id="target", limit=10)
                out["other_after_delete"] = (time.perf_counter() - started) * 1000
                assert victim not in {h.id for h in hits}
                out["plain_search"] = statistics.median(timed("target", q) for q in questions[:20])
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def in_child(src: str, url: str, args: argparse.Namespace, users: list[str], delete: bool) -> dict[str, Any]:
    """:func:`probe` in a fresh interpreter importing outcrop from ``src``."""
    command = ["--probe", url, "--queries", str(args.queries), "--data", str(args.data)]
    command += ["--probe-users", ",".join(users)] + (["--probe-delete"] if delete else [])
    result: dict[str, Any] = json.loads(_child(src, command))
    return result


def _child(src: str, arguments: list[str]) -> str:
    """This script run with ``arguments`` in a fresh interpreter importing outcrop from ``src``;
    the last line it printed."""
    done = subprocess.run(
        [sys.executable, __file__, *arguments],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _sizes(args: argparse.Namespace) -> list[str]:
    return ["--users", str(args.users), "--turns", str(args.turns), "--data", str(args.data)]


def _ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}" if a else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=60, help="users besides the measured one")
    parser.add_argument("--turns", type=int, default=1000, help="turns of every user")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--compare", metavar="SRC", help="also probe the same stores with outcrop from SRC, interleaved"
    )
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--probe-users", default="", help=argparse.SUPPRESS)
    parser.add_argument("--probe-delete", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--build", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        print(build_stores(args.build, args))
        return
    questions = [qa["question"] for sample in json.loads(args.data.read_text()) for qa in sample["qa"]][: args.queries]
    if args.probe:
        users = [u for u in args.probe_users.split(",") if u]
        print(json.dumps(probe(args.probe, questions, users, args.probe_delete)))
        return
    this = str(Path(outcrop.__file__).resolve().parents[1])
    codes = {"this": this, **({"compare": str(Path(args.compare).resolve())} if args.compare else {})}
    others = [f"u{n:04d}" for n in range(args.users)]
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in codes}
    with tempfile.TemporaryDirectory() as tmp:
        if args.compare:  # built by the older code, which reads only what it wrote
            seconds = float(_child(codes["compare"], ["--build", tmp, *_sizes(args)]))
        else:
            seconds = build_stores(tmp, args)
        for store in ("alone", "crowded"):
            for name in codes:
                shutil.copy(f"{tmp}/{store}.db", f"{tmp}/{store}-{name}.db")
        size = os.path.getsize(f"{tmp}/crowded.db") / 2**20
        for store, users in (("alone", []), ("crowded", others)):
            for name, src in codes.items():  # interleaved: both codes see the same load, in turn
                url = f"sqlite:///{tmp}/{store}-{name}.db"
                results[name][store] = in_child(src, url, args, users, store == "crowded")
    turns = args.turns * (args.users + 1)
    table = Table(title=f"outcrop at scale: SQLite, {args.users + 1} users x {args.turns:,} turns ({turns:,} turns)")
    table.add_column("measure")
    for name in codes:
        label = "" if name == "this" else " (compared)"
        for column in ("alone", f"crowded ({args.users + 1} users)", "ratio"):
            table.add_column(column + label, justify="right")

    markdown: list[str] = []

    def row(measure: str, cell: Callable[[dict[str, Any]], tuple[str, str, str]]) -> None:
        cells = [v for name in codes for v in cell(results[name])]
        table.add_row(measure, *cells)
        markdown.append(f"| {measure} | {' | '.join(cells)} |")

    def pair(key: str, index: int) -> Callable[[dict[str, Any]], tuple[str, str, str]]:
        return lambda r: (
            f"{r['alone'][key][index]:.1f}",
            f"{r['crowded'][key][index]:.1f}",
            _ratio(r["alone"][key][index], r["crowded"][key][index]),
        )

    for key, name in (("target", "search"), ("dense", "dense channel only"), ("bm25", "BM25 channel only")):
        row(f"target {name} p50 ms", pair(key, 0))
        row(f"target {name} p95 ms", pair(key, 1))
    row("target search p50 ms, after every user searched", pair("target_after", 0))
    row("first search of each other user p50 ms", lambda r: ("", f"{r['crowded']['others'][0]:.1f}", ""))
    row("vector cache held MB", lambda r: (f"{r['alone']['cache_mb']:.1f}", f"{r['crowded']['cache_mb']:.1f}", ""))
    row(
        "peak RSS MB (serving process)",
        lambda r: (f"{r['alone']['rss_mb']:,.0f}", f"{r['crowded']['rss_mb']:,.0f}", ""),
    )
    row("delete one turn ms", lambda r: ("", f"{r['crowded']['delete']:.1f}", ""))
    row("next search, same handle ms", lambda r: ("", f"{r['crowded']['search_after_delete']:.1f}", ""))
    row("next search, another handle ms", lambda r: ("", f"{r['crowded']['other_after_delete']:.1f}", ""))
    row("a search, nothing changed, p50 ms", lambda r: ("", f"{r['crowded']['plain_search']:.1f}", ""))
    Console(width=200).print(table)
    print("\n| measure | " + " | ".join(c.header for c in table.columns[1:]) + " |")  # type: ignore[union-attr]
    print("|---" * len(table.columns) + "|")
    print("\n".join(markdown))
    print(f"store on disk {size:,.0f} MB; build through the memo {args.users * args.turns / seconds:,.0f} turns/s")


if __name__ == "__main__":
    main()
