"""Several processes adding to one store at once: errors, lost writes and doubled positions.

    python bench/concurrent_writers.py [--writers 4] [--adds 30] [--store sqlite|postgres|both]

Each writer process opens its own ``Memory`` on the same store and adds ``--adds`` one-message
turns to the same session of the same user; every third message is the same input from every
writer (an idempotent add: it must be stored once, and every writer must get its id). Prints,
per store, the adds attempted, the errors callers saw (by type), the turns stored against the
number expected, the session positions given twice, and the wall time. ``--store postgres``
starts a local PostgreSQL + pgvector server the way the test suite does
(``tests/helpers.py:start_postgres``). The writers are ``tests/reliability/writers.py``'s, which
``bench/reliability.py`` also runs for a number of seconds, and over several servers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test suite's helpers

from rich.console import Console
from rich.table import Table
from tests.helpers import fresh_database, start_postgres
from tests.reliability.writers import process_writers


def run(kind: str, writers: int, adds: int, folder: Path) -> dict[str, object]:
    url = f"sqlite:///{folder / 'bench.db'}" if kind == "sqlite" else fresh_database(start_postgres(folder / "pg"))
    report = process_writers(url, folder, writers=writers, adds=adds)
    return {
        "store": kind,
        "adds": report.adds,
        "errors": ", ".join(f"{k} {v}" for k, v in report.errors.items()) or "0",
        "turns": f"{report.turns} / {report.expected}",
        "shared input, ids differing": report.split_ids,
        "positions doubled": report.doubled,
        "seconds": f"{report.seconds:.1f}",
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
