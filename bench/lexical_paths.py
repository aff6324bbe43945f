"""A user's BM25 calls on the kept 1.1M-turn store, replayed through FTS5's ``bm25()`` and through
the store's own paths: the same ids and scores (compared with ``==``), and the CPU per call.

    python bench/lexical_paths.py [--dir /work/scale-stores/full] [--queries 100] [--users target,big]

For each user of the crowded store ``bench/scale.py`` keeps, the lexical calls of ``--queries``
LoCoMo questions are recorded as ``Memory.search`` makes them (the question's terms, then the
pseudo-relevance feedback's), then replayed in one process through ``SQLiteLexical.search``:

* ``FTS5``: FTS5's ``bm25()`` for every call (``postings_share`` and ``large_user`` out of reach),
  the reference: what a user's search cost before the statistics kept on write;
* ``cold``: the store's paths with an empty postings cache (a fresh process, or every term's
  first call after a write of the user's documents);
* ``warm``: the same calls again, their postings held.

It prints, per user and way, the calls whose ids and scores equal the FTS5 way's, and the thread
CPU per call (p50, p95, mean). Reads only (the store's file is opened, migrated if needed, and
searched).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale  # noqa: E402

from outcrop import Memory, MemoryConfig  # noqa: E402

FAR = 1 << 62  # a share or size no user reaches: FTS5's bm25() for every call


def record(root: Path, data: Path, user: str, queries: int) -> list[tuple[Any, ...]]:
    """The lexical calls (scope, terms, k, filters, context weight) of ``user``'s searches."""
    config = MemoryConfig(
        store=str(root / "sqlite" / "crowded.db"),
        strata={"on_add": False},
        retrieval={"track_access": False},
        ann_background=False,
    )
    calls: list[tuple[Any, ...]] = []
    with Memory(config=config, embedder=scale.memo_embedder(root, data)) as memory:
        lexical: Any = memory.store.lexical
        inner = lexical.search

        def spy(*args: Any) -> Any:
            calls.append(args)
            return inner(*args)

        lexical.search = spy
        for question in scale.questions(data)[:queries]:
            memory.search(question, user_id=user, limit=10)
    return calls


def replay(lexical: Any, calls: list[tuple[Any, ...]]) -> tuple[list[Any], list[float]]:
    found, cpu = [], []
    for call in calls:
        started = time.thread_time()
        found.append(lexical.search(*call))
        cpu.append((time.thread_time() - started) * 1000)
    return found, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=scale.DEFAULT_DIR)
    parser.add_argument("--data", type=Path, default=scale.DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--users", default="target,big")
    args = parser.parse_args()
    from outcrop.stores.registry import open_store

    table = Table(title=f"lexical calls of {args.queries} questions, thread CPU per call (ms)")
    for column in ("user", "way", "calls", "same ids and scores as FTS5", "p50", "p95", "mean"):
        table.add_column(column)
    for user in args.users.split(","):
        calls = record(args.dir, args.data, user, args.queries)
        store = open_store(str(args.dir / "sqlite" / "crowded.db"))
        try:
            lexical: Any = store.lexical
            defaults = lexical.postings_share, lexical.large_user
            lexical.postings_share = lexical.large_user = FAR
            reference, cpu = replay(lexical, calls)
            ways = [("FTS5", reference, cpu)]
            lexical.postings_share, lexical.large_user = defaults
            for way in ("cold", "warm"):
                ways.append((way, *replay(lexical, calls)))
        finally:
            store.close()
        for way, found, cpu in ways:
            same = sum(a == b for a, b in zip(found, reference, strict=True))
            cpu.sort()
            p95 = cpu[max(0, int(len(cpu) * 0.95) - 1)]
            table.add_row(
                user,
                way,
                str(len(calls)),
                f"{same} of {len(calls)}",
                f"{statistics.median(cpu):.2f}",
                f"{p95:.2f}",
                f"{statistics.mean(cpu):.2f}",
            )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
