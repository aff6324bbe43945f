"""BM25 of one user inside a large tenant on SQLite: the user's lexical calls alone and among
41, 200 and 1,000 users of 1k documents each, three ways: this code (a user under 1/64 of its
tenant scored from the postings and statistics the writes keep, FTS5's ``bm25()`` otherwise),
the postings always, and FTS5's ``bm25()`` always (the code before: its IDF walks each term's
postings over the whole tenant at every call).

    python bench/lexical_scope.py [--sizes 41,200,1000] [--real 40] [--questions 150] [--dir DIR]

Stores are written through the store's own writes (no embeddings: the lexical index only):
``target`` holds 1,000 LoCoMo turns (sessions from the first), each with its lexical document as
the engine makes it (speaker and date, text; the neighbouring turns as context); ``--real`` more
users of 1,000 turns each start at other sessions. The larger tenants add synthetic users: copies
of the real users' documents under further user numbers in the tenant's FTS5 tables, postings and
lengths, then the tenant's statistics counted afresh (as migration 0015 does): only the tenant's
size grows.

Measured, each size in a fresh store handle, LoCoMo questions one by one for ``target``: the BM25
channel as retrieval runs it (``BM25Channel``: the question's terms over both fields, then the
pseudo-relevance feedback terms over the own field) and each lexical call in it; p50/p95 ms, with
the kept statistics and with FTS5's ``bm25()``; and whether the two give the same ranking.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from outcrop.config import RetrievalConfig
from outcrop.core.documents import lexical_document
from outcrop.core.ids import new_id
from outcrop.core.time import now
from outcrop.core.time.clock import memory_time
from outcrop.core.types import Item, Level, Scope
from outcrop.retrieve.channels import BM25Channel, ChannelRequest
from outcrop.retrieve.query import analyse_query
from outcrop.stores.base import ScoredId, SearchFilters, Store, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.lexical import _fts_query
from outcrop.stores.sqlite.rows import where
from outcrop.stores.sqlite.schema import LEXICAL_ITEM_BITS, count_lexical_terms, postings_table

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
TURNS = 1000
MASK = (1 << LEXICAL_ITEM_BITS) - 1


def sessions(data: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    found = []
    for sample in json.loads(data.read_text()):
        conv = sample["conversation"]
        for key, turns in conv.items():
            if key.startswith("session_") and isinstance(turns, list) and turns:
                found.append((conv[f"{key}_date_time"], [(t["speaker"], t["text"]) for t in turns]))
    return found


def write_user(store: Store, user: str, pool: list[tuple[str, list[tuple[str, str]]]], start: int) -> None:
    """``TURNS`` turns of ``pool``'s sessions from session ``start``, one write per session."""
    total, n = 0, start
    while total < TURNS:
        date, turns = pool[n % len(pool)]
        taken = turns[: TURNS - total]
        scope = Scope(tenant="default", user_id=user, session_id=f"s{n}")
        items = [
            Item(
                id=new_id("t"),
                level=Level.TURN,
                scope=scope,
                text=text,
                speaker=speaker,
                timestamp=memory_time(date),
                recorded_at=now(),
            )
            for speaker, text in taken
        ]
        batch = WriteBatch(items=items)
        for i, item in enumerate(items):
            batch.lexical[item.id] = lexical_document(item, items[max(0, i - 2) : i + 3])
        store.records.write(batch)
        total += len(taken)
        n += 1


def grow(path: Path, users: int, real: int) -> None:
    """Synthetic users up to ``users`` in all: the real users' documents (numbers 2 .. real + 1)
    copied under numbers real + 2 .., then the tenant's statistics counted afresh."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        own, ctx = db.execute("SELECT own, ctx FROM lexical_tables WHERE tenant = 'default'").fetchone()
        (have,) = db.execute("SELECT MAX(number) FROM lexical_users").fetchone()
        (present,) = db.execute(f"SELECT MAX(rowid) >> {LEXICAL_ITEM_BITS} FROM {own}").fetchone()
        db.execute("BEGIN")
        db.execute("CREATE TEMP TABLE copies (number INTEGER PRIMARY KEY, source INTEGER NOT NULL)")
        db.executemany(
            "INSERT INTO temp.copies VALUES (?, ?)",
            [(n, 2 + (n - 2) % real) for n in range(present + 1, users + 1)],
        )
        for number, source in db.execute("SELECT number, source FROM temp.copies").fetchall():
            for table in (own, ctx):
                db.execute(
                    f"INSERT INTO {table}(rowid, body) SELECT (? << {LEXICAL_ITEM_BITS}) | (rowid & {MASK}), body"
                    f" FROM {table} WHERE rowid BETWEEN ? AND ?",
                    (number, source << LEXICAL_ITEM_BITS, (source << LEXICAL_ITEM_BITS) | MASK),
                )
        db.execute(
            f"INSERT INTO lexical_docs SELECT (c.number << {LEXICAL_ITEM_BITS}) | (d.key & {MASK}), d.own_len, d.ctx_len"
            f" FROM temp.copies c JOIN lexical_docs d ON d.key BETWEEN c.source << {LEXICAL_ITEM_BITS}"
            f" AND (c.source << {LEXICAL_ITEM_BITS}) | {MASK}"
        )
        postings = postings_table(own)
        db.execute(  # the real users' postings, each copied under its copies' numbers
            f"INSERT INTO {postings} SELECT p.term, (c.number << {LEXICAL_ITEM_BITS}) | (p.key & {MASK}), p.own, p.ctx"
            f" FROM {postings} p JOIN temp.copies c ON c.source = p.key >> {LEXICAL_ITEM_BITS}"
            f" WHERE p.key >> {LEXICAL_ITEM_BITS} BETWEEN 2 AND {real + 1} ORDER BY 1, 2"
        )
        db.execute("DROP TABLE temp.copies")
        count_lexical_terms(db, "default")
        db.execute("COMMIT")
        for table in (own, ctx):
            db.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
        assert have == real + 1


def fts5_search(
    store: Store, scope: Scope, terms: dict[str, float], k: int, filters: SearchFilters | None = None, cw: float = 0.0
) -> list[ScoredId]:
    """The user's search with FTS5's ``bm25()`` (the code before the kept statistics)."""
    lexical: Any = store.lexical
    own, ctx = lexical._tables(scope.tenant)
    number = lexical._number(scope.tenant, scope.user_id)
    clause, params = where(scope, filters, alias="i")
    by_weight: dict[float, list[str]] = {}
    for term, weight in terms.items():
        by_weight.setdefault(round(weight, 3), []).append(term)
    tables = [(own, 1.0)] + ([(ctx, cw)] if cw > 0 else [])
    depth = max(k, 1) * (1 if len(by_weight) * len(tables) == 1 else 3)
    scores: dict[str, float] = {}
    first = number << LEXICAL_ITEM_BITS
    for weight, group in by_weight.items():
        for table, table_weight in tables:
            rows = lexical._conn.query(
                f"SELECT i.id, -bm25({table}) FROM {table} JOIN items i ON i.rowid = ({table}.rowid & {MASK})"
                f" WHERE {table} MATCH ? AND {table}.rowid BETWEEN ? AND ? AND {clause}"
                f" ORDER BY bm25({table}), i.rowid LIMIT ?",
                [_fts_query(group), first, first | MASK, *params, depth],
            )
            for item_id, score in rows:
                scores[item_id] = scores.get(item_id, 0.0) + weight * table_weight * float(score)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def _p(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[max(0, int(len(ms) * 0.95) - 1)]


def measure(path: Path, questions: list[str], mode: str) -> dict[str, Any]:
    """The BM25 channel of ``target`` per question, and its lexical calls, in ms; the rankings.
    ``mode``: "code" (this code: postings or FTS5 by the user's share), "postings" (always the
    postings), "fts5" (always FTS5's ``bm25()``, the code before)."""
    fts5 = mode == "fts5"
    calls: list[float] = []
    channel_ms: list[float] = []
    rankings: list[list[str]] = []
    with closing(open_store(f"sqlite:///{path}")) as store:
        plain = store.lexical.search
        search: Callable[..., list[ScoredId]] = (lambda *a, **kw: fts5_search(store, *a, **kw)) if fts5 else plain

        def timed(*args: Any, **kwargs: Any) -> list[ScoredId]:
            started = time.perf_counter()
            found = search(*args, **kwargs)
            calls.append((time.perf_counter() - started) * 1000)
            return found

        if mode == "postings":
            lexical: Any = store.lexical
            lexical.postings_share = 0
        store.lexical.search = timed  # type: ignore[method-assign]
        channel = BM25Channel(store, RetrievalConfig())
        scope = Scope(tenant="default", user_id="target")
        for n, question in enumerate([questions[0], *questions]):
            request = ChannelRequest(scope=scope, query=analyse_query(question, ()), filters=None, k=100)
            started = time.perf_counter()
            found = channel.search(request)
            if n:  # the first is a warm-up
                channel_ms.append((time.perf_counter() - started) * 1000)
                rankings.append([i for i, _ in found])
            else:
                calls.clear()
    return {"calls": _p(calls), "channel": _p(channel_ms), "n_calls": len(calls), "rankings": rankings}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="41,200,1000", help="tenant sizes, in users of 1k turns")
    parser.add_argument("--real", type=int, default=40, help="users written through the store besides target")
    parser.add_argument("--questions", type=int, default=150)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dir", type=Path, default=None, help="where the stores go (default: a temporary one)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    directory = args.dir or Path(tempfile.mkdtemp(prefix="lexical_scope_"))
    directory.mkdir(parents=True, exist_ok=True)
    pool = sessions(args.data)
    questions = [qa["question"] for sample in json.loads(args.data.read_text()) for qa in sample["qa"]]
    questions = questions[: args.questions]
    alone, crowded = directory / "alone.db", directory / "crowded.db"
    for path in (alone, crowded):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    with closing(open_store(f"sqlite:///{alone}")) as store:
        write_user(store, "target", pool, 0)
    shutil.copy(alone, crowded)
    with closing(open_store(f"sqlite:///{crowded}")) as store:
        for n in range(args.real):
            write_user(store, f"u{n:04d}", pool, 7 * (n + 1))
    print(f"built target + {args.real} users through the store in {time.perf_counter() - started:.0f} s")

    def three(path: Path) -> list[dict[str, Any]]:
        return [measure(path, questions, mode) for mode in ("code", "postings", "fts5")]

    rows: list[tuple[str, list[dict[str, Any]]]] = [("alone (1k documents)", three(alone))]
    for users in sizes:
        if users > args.real + 1:
            started = time.perf_counter()
            grow(crowded, users, args.real)
            print(f"grew to {users} users in {time.perf_counter() - started:.0f} s")
        rows.append((f"{users} users ({users}k documents)", three(crowded)))
        print(rows[-1][0], [(m["calls"], m["channel"]) for m in rows[-1][1]], flush=True)

    base = rows[0][1]
    table = Table(
        title=f"target's BM25 on SQLite, {len(questions)} LoCoMo questions: p50 / p95 ms (ratio of p50 to alone)"
    )
    table.add_column("tenant")
    for what in ("lexical call", "BM25 channel"):
        for mode in ("this code", "postings always", "bm25() (before)"):
            table.add_column(f"{what}: {mode}", justify="right")
    table.add_column("rankings as bm25()'s", justify="right")
    for name, measured in rows:
        cells = [
            f"{m[what][0]:.2f} / {m[what][1]:.2f} ({m[what][0] / b[what][0]:.2f})"
            for what in ("calls", "channel")
            for m, b in zip(measured, base, strict=True)
        ]
        same = sum(a == b == c for a, b, c in zip(*(m["rankings"] for m in measured), strict=True))
        table.add_row(name, *cells, f"{same} of {len(measured[0]['rankings'])}")
    Console().print(table)
    print(f"{rows[0][1][0]['n_calls']} lexical calls per round; stores in {directory}")


if __name__ == "__main__":
    main()
