"""Cost that follows the scope: one user's search alone and among many users, peak RSS of a
serving process, store size, and the price of a delete, on SQLite.

    python bench/scale.py [--users 60] [--turns 1000] [--queries 150] [--data ../shared/data/locomo/locomo-dev.json]

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

Run with ``PYTHONPATH`` pointing at another checkout's ``src`` to measure it with the same script.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Vectors
from outcrop.providers import Embedder, load_embedder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
Batch = tuple[str, str, list[dict[str, str]]]  # session id, timestamp, messages


class MemoEmbedder:
    """The real embedder, remembering vectors of texts it has already embedded."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.id, self.dim, self.batch_size = inner, inner.id, inner.dim, inner.batch_size
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        for start in range(0, len(missing), 256):
            part = missing[start : start + 256]
            for text, vector in zip(part, self.inner.embed(part), strict=True):
                self.memo[text] = vector
        return np.vstack([self.memo[t] for t in texts]).astype(np.float32)


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


def in_child(*args: Any) -> dict[str, Any]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, Any] = pool.apply(probe, args)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=60, help="users besides the measured one")
    parser.add_argument("--turns", type=int, default=1000, help="turns of every user")
    parser.add_argument("--queries", type=int, default=150)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    pool = sessions(args.data)
    questions = [qa["question"] for sample in json.loads(args.data.read_text()) for qa in sample["qa"]][: args.queries]
    memo = MemoEmbedder(load_embedder("minilm"))
    others = {f"u{n:04d}": user_batches(pool, 7 * (n + 1), args.turns) for n in range(args.users)}
    with tempfile.TemporaryDirectory() as tmp:
        alone, crowded = f"sqlite:///{tmp}/alone.db", f"sqlite:///{tmp}/crowded.db"
        build(alone, memo, {"target": user_batches(pool, 0, args.turns)})
        shutil.copy(f"{tmp}/alone.db", f"{tmp}/crowded.db")
        seconds = build(crowded, memo, others)
        turns = args.turns * (args.users + 1)
        a = in_child(alone, questions, [], False)
        c = in_child(crowded, questions, list(others), True)
        size = os.path.getsize(f"{tmp}/crowded.db") / 2**20
    table = Table(title=f"outcrop at scale: SQLite, {args.users + 1} users x {args.turns:,} turns ({turns:,} turns)")
    for column in ("measure", "alone (1 user)", f"crowded ({args.users + 1} users)", "ratio"):
        table.add_column(column, justify="right")
    table.add_row(
        "target search p50 ms",
        f"{a['target'][0]:.1f}",
        f"{c['target'][0]:.1f}",
        f"{c['target'][0] / a['target'][0]:.2f}",
    )
    table.add_row(
        "target search p95 ms",
        f"{a['target'][1]:.1f}",
        f"{c['target'][1]:.1f}",
        f"{c['target'][1] / a['target'][1]:.2f}",
    )
    for key, name in (("dense", "dense channel only"), ("bm25", "BM25 channel only")):
        table.add_row(
            f"target {name} p50 / p95 ms",
            f"{a[key][0]:.1f} / {a[key][1]:.1f}",
            f"{c[key][0]:.1f} / {c[key][1]:.1f}",
            f"{c[key][0] / a[key][0]:.2f}",
        )
    table.add_row(
        "target p50 ms after every user searched",
        f"{a['target_after'][0]:.1f}",
        f"{c['target_after'][0]:.1f}",
        f"{c['target_after'][0] / a['target_after'][0]:.2f}",
    )
    table.add_row(
        "first search of each other user p50 / p95 ms", "", f"{c['others'][0]:.1f} / {c['others'][1]:.1f}", ""
    )
    table.add_row("vector cache held MB", f"{a['cache_mb']:,.1f}", f"{c['cache_mb']:,.1f}", "")
    table.add_row("peak RSS MB (serving process)", f"{a['rss_mb']:,.0f}", f"{c['rss_mb']:,.0f}", "")
    table.add_row("store on disk MB", "", f"{size:,.0f}", "")
    table.add_row("delete one turn ms", "", f"{c['delete']:.1f}", "")
    table.add_row("next search, same handle ms", "", f"{c['search_after_delete']:.1f}", "")
    table.add_row("next search, another handle ms", "", f"{c['other_after_delete']:.1f}", "")
    table.add_row("a search, nothing changed, p50 ms", "", f"{c['plain_search']:.1f}", "")
    table.add_row("build (memo embedder) turns/s", "", f"{args.users * args.turns / seconds:,.0f}", "")
    Console().print(table)


if __name__ == "__main__":
    main()
