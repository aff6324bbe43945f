"""A large scope's BM25 on PostgreSQL with and without its near-stopwords left out of the match
(``PostgresLexical.large_scope``): the same rows and scores, and the time per call.

    python bench/pg_lexical_large.py [--dir /work/scale-stores/pg-full] [--queries 40] [--users big,target]

Over the crowded store ``bench/scale.py --stores postgres`` keeps in ``--dir`` (its server started
here and stopped at the end), the lexical calls that ``--queries`` LoCoMo questions make through
``Memory.search`` for each user are recorded, then each is replayed twice in turn, with
``large_scope`` at its default (left out) and out of reach (every term matched, the statement
before), each replay timed (wall ms). Prints per user: calls, calls with the same ids in the same
order and the same scores (``==`` on the floats), and p50 / p95 / mean ms of each way.
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


def _pct(ms: list[float]) -> str:
    ordered = sorted(ms)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"{statistics.median(ordered):.1f} / {p95:.1f} / {statistics.mean(ordered):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/work/scale-stores/pg-full"))
    parser.add_argument("--data", type=Path, default=scale.DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--users", default="big,target")
    args = parser.parse_args()
    asked = scale.questions(args.data)[: args.queries]
    embedder = scale.memo_embedder(args.dir.parent, args.data)
    table = Table(title=f"BM25 calls of {args.queries} questions on the 1.1M-turn PostgreSQL store (wall ms)")
    for column in (
        "user",
        "calls",
        "same rows and scores",
        "left out: p50 / p95 / mean",
        "every term: p50 / p95 / mean",
    ):
        table.add_column(column, justify="right")
    with scale.local_postgres(args.dir / "postgres" / "pg") as server:
        url = scale.postgres_database(server, "crowded")
        config = MemoryConfig(store=url, strata={"on_add": False}, retrieval={"track_access": False})
        with Memory(config=config, embedder=embedder) as memory:
            lexical = memory.store.lexical
            default = lexical.large_scope
            for user in [u for u in args.users.split(",") if u]:
                calls: list[tuple[Any, ...]] = []
                inner = lexical.search

                def recording(*a: Any, _inner: Any = inner, _calls: list[Any] = calls, **kw: Any) -> Any:
                    _calls.append((a, kw))
                    return _inner(*a, **kw)

                lexical.search = recording  # type: ignore[method-assign]
                for question in asked:
                    memory.search(question, user_id=user, limit=10)
                lexical.search = inner  # type: ignore[method-assign]
                same, fast, slow = 0, [], []
                for a, kw in calls:
                    results = []
                    for limit, times in ((default, fast), (10**12, slow)):
                        lexical.large_scope = limit
                        started = time.perf_counter()
                        results.append(lexical.search(*a, **kw))
                        times.append((time.perf_counter() - started) * 1000)
                    same += results[0] == results[1]
                lexical.large_scope = default
                table.add_row(user, str(len(calls)), str(same), _pct(fast), _pct(slow))
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
