"""What reading one user's log costs in a large tenant: ``records.count`` (the log rows of
``Memory.stats``) and ``iter_log`` (every record in append order: what forget, export and rebuild
read), for each user named, two rounds, on an existing store.

    python bench/log_scope.py --store sqlite:////work/scale-stores/full/sqlite/crowded.db --users target,big

Opening the store applies its pending migrations (their time is printed first).
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.lifecycle.logs import iter_log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True, help="a store URL")
    parser.add_argument("--tenant", default="default")
    parser.add_argument("--users", default="target,big")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    memory = Memory(config=MemoryConfig(store=args.store, tenant=args.tenant))
    print(f"opened (migrations applied) in {time.perf_counter() - started:.2f} s")
    table = Table(title=f"one user's log in tenant {args.tenant!r} of {args.store}")
    for column in ("user", "round", "log records", "count ms", "read whole log s"):
        table.add_column(column, justify="right")
    with memory:
        for user in args.users.split(","):
            scope = Scope(tenant=args.tenant, user_id=user)
            for round_ in range(args.rounds):
                started = time.perf_counter()
                counted = memory.store.records.count(scope)["log"]
                count_ms = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                read = sum(1 for _ in iter_log(memory.store, scope))
                table.add_row(
                    user, str(round_), f"{read:,}", f"{count_ms:,.1f}", f"{time.perf_counter() - started:.2f}"
                )
                assert read == counted
    Console().print(table)


if __name__ == "__main__":
    main()
