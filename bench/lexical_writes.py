"""A large user's search right after each of its writes: its postings held in memory patched for
the documents the write touched (the journal, ``lexical_changes``), against read again whole.

    python bench/lexical_writes.py --dir <a copy of /work/scale-stores/full> [--rounds 30] [--user big]
    python bench/lexical_writes.py --cost 3000 --users 1,10 --dir <an empty scratch dir>

WRITES to the store (one turn per round per way): run it on a copy of the store ``bench/scale.py``
keeps, never on a store others read.

A process opens the crowded store and, each way in turn, searches ``--user``'s first
``--rounds`` LoCoMo questions once (their query terms' postings then held, as a serving process
holds them), then for each question: adds one turn to the user (a LoCoMo turn's text through
``Memory.add``: its lexical document, its vector) and searches the question again. The ways:

* ``journal``: this code: the held postings are patched for the written document (its rows of
  the query's terms and its length read by key);
* ``read again``: the journal out of reach (``_JOURNALED`` 0: no version journaled), every held
  term of the user read whole again after each write, as before the journal.

It prints the thread CPU of the search's lexical calls (the store's ``lexical.search``) per
search after a write, p50 / p95 / mean, and the whole search's wall p50 / p95 (which also holds
the dense channel's growth of the user's vectors after the add, the same both ways), and whether
both ways return the same ids and scores as FTS5's ``bm25()`` over the same calls.

``--cost N``: what the writes cost. For each number of ``--users``, a fresh store in ``--dir``
takes ``N`` LoCoMo turns, one write each (``records.write``: items and lexical documents, no
vectors; a turn's context the two turns before it), the users taking turns (one user: every turn its; ten: its turns interleaved, as users
of one server write); it prints the thread CPU per write, p50 / p95 / max / mean, and the writes
per CPU second (the writes that fold a tenant's tail of postings into its packs included; run
with ``PYTHONPATH=<main>/src`` for ``main``'s); the wall time a write's caller waits, p50 / p95 /
its three largest (a fold in its transaction is in its write's; one after the commit, in a thread of
its own, is in no write's, but a write meanwhile waits for its round); and
the writes per CPU second of the whole process (that thread's folds included, the store closed
after the writes: the folds queued finished). ``--onto FILE``: the writes go to the tenant of a
copy of a store (e.g. ``bench/scale.py``'s 110k-turn ``crowded.db``), its users ``user-N``.
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
from outcrop.stores.sqlite import lexical as lexical_module  # noqa: E402

FAR = 1 << 62


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=scale.DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--user", default="big")
    parser.add_argument("--cost", type=int, default=0, help="turns written into a fresh store (see above)")
    parser.add_argument("--users", default="1,10")
    parser.add_argument("--onto", type=Path, help="with --cost: write into this store file (a copy) instead")
    args = parser.parse_args()
    if args.cost:
        write_cost(args)
        return
    asked = scale.questions(args.data)[: args.rounds]
    texts = [f"{m['name']}: {m['content']}" for _, messages in scale.sessions(args.data) for m in messages]
    config = MemoryConfig(
        store=str(args.dir / "sqlite" / "crowded.db"),
        strata={"on_add": False},
        retrieval={"track_access": False},
        ann_background=False,
    )
    journaled = lexical_module._JOURNALED
    cpu: dict[str, list[float]] = {"journal": [], "read again": []}
    wall: dict[str, list[float]] = {"journal": [], "read again": []}
    same: dict[str, int] = {"journal": 0, "read again": 0}
    with Memory(config=config, embedder=scale.memo_embedder(args.dir.parent, args.data)) as memory:
        lexical: Any = memory.store.lexical
        inner = lexical.search
        calls: list[tuple[Any, ...]] = []
        spent = [0.0]

        def spy(*call: Any) -> Any:
            started = time.thread_time()
            out = inner(*call)
            spent[0] += time.thread_time() - started
            calls.append((call, out))
            return out

        lexical.search = spy
        session = f"lexical-writes-{time.time_ns()}"  # each run's turns are new ones (an add is idempotent)
        added: set[str] = set()
        for way in cpu:
            lexical_module._JOURNALED = journaled if way == "journal" else 0
            for question in asked:  # held as a serving process holds them
                memory.search(question, user_id=args.user, limit=10)
            for n, question in enumerate(asked):
                text = texts[(7 * n + len(way)) % len(texts)]
                ids = memory.add([{"role": "user", "content": text}], user_id=args.user, session_id=session)
                if ids[0] in added:  # an add of a message already ingested writes nothing
                    raise SystemExit(f"not written: {text!r}")
                added.add(ids[0])
                calls.clear()
                spent[0] = 0.0
                started = time.perf_counter()
                memory.search(question, user_id=args.user, limit=10)
                wall[way].append((time.perf_counter() - started) * 1000)
                cpu[way].append(spent[0] * 1000)
                reference = (lexical.postings_share, lexical.large_user)
                lexical.postings_share = lexical.large_user = FAR  # FTS5's bm25() over the same calls
                try:
                    same[way] += all(inner(*call) == out for call, out in calls)
                finally:
                    lexical.postings_share, lexical.large_user = reference
        lexical_module._JOURNALED = journaled
    table = Table(title=f"{args.user}: a search right after each write, {args.rounds} rounds per way")
    for column in (
        "way",
        "lexical CPU p50 / p95 / mean ms",
        "search wall p50 / p95 ms",
        "searches whose lexical calls equal FTS5's",
    ):
        table.add_column(column)
    for way in cpu:
        table.add_row(
            way,
            f"{statistics.median(cpu[way]):.1f} / {_p95(cpu[way]):.1f} / {statistics.mean(cpu[way]):.1f}",
            f"{statistics.median(wall[way]):.1f} / {_p95(wall[way]):.1f}",
            f"{same[way]} of {len(cpu[way])}",
        )
    Console(width=160).print(table)


def write_cost(args: argparse.Namespace) -> None:
    from outcrop.core.documents import LexicalDocument
    from outcrop.core.ids import new_id
    from outcrop.core.time import now
    from outcrop.core.types import Item, Level, Scope
    from outcrop.stores.base import WriteBatch
    from outcrop.stores.registry import open_store

    texts = [f"{m['name']}: {m['content']}" for _, messages in scale.sessions(args.data) for m in messages]
    table = Table(title=f"{args.cost} turns written one write each into a fresh store")
    columns = ("users", "CPU ms per write p50 / p95 / max / mean", "writes per CPU second")
    for column in (*columns, "wall ms per write p50 / p95 / 3 largest", "writes per process CPU second"):
        table.add_column(column)
    for users in (int(u) for u in args.users.split(",")):
        path = args.onto or args.dir / f"cost-{users}-{time.time_ns()}.db"
        store = open_store(f"sqlite:///{path}")
        spent: list[float] = []
        waited: list[float] = []
        process = time.process_time()
        try:
            for n in range(args.cost):
                scope = Scope(tenant="default", user_id=f"user-{n % users}", session_id=f"s{n // 20}")
                text = texts[n % len(texts)]
                context = " ".join(texts[max(0, n % len(texts) - 2) : n % len(texts)])  # its two turns before
                item = Item(
                    id=new_id("t"), level=Level.TURN, scope=scope, text=text, timestamp=now(), recorded_at=now()
                )
                started, wall = time.thread_time(), time.perf_counter()
                store.records.write(WriteBatch(items=[item], lexical={item.id: LexicalDocument(text, context)}))
                spent.append((time.thread_time() - started) * 1000)
                waited.append((time.perf_counter() - wall) * 1000)
        finally:
            store.close()
        process = time.process_time() - process
        table.add_row(
            str(users),
            f"{statistics.median(spent):.2f} / {_p95(spent):.2f} / {max(spent):.1f} / {statistics.mean(spent):.2f}",
            f"{1000 * len(spent) / sum(spent):.0f}",
            f"{statistics.median(waited):.2f} / {_p95(waited):.2f} / "
            + ", ".join(f"{w:.0f}" for w in sorted(waited)[-3:][::-1]),
            f"{len(spent) / process:.0f}",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
