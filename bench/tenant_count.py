"""One user's search cost as the number of other tenants in the same SQLite file grows.

    python bench/tenant_count.py [--tenants 0,100,400] [--queries 60] [--conversation 0]
                                 [--data ../shared/data/locomo/locomo-dev.json]

Ingests one LoCoMo conversation (turns only) as user ``u1`` of the default tenant, then adds
other tenants one short turn each (each tenant has its own two FTS5 tables in the file), and at
each count of ``--tenants`` times ``--queries`` of that conversation's questions through
``Memory.search`` (after five warm-up searches, twenty before the first count). Prints p50/p95 per count and the ratio of each
p50 to the first. A tenant's own data is tiny here on purpose: what grows is the file's schema,
which every new connection parses. Run it with ``PYTHONPATH=<other checkout>/src`` to compare
with other code on the same machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", default="0,100,400")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--conversation", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    sample = json.loads(args.data.read_text())[args.conversation]
    conv = sample["conversation"]
    questions = [q["question"] for q in sample["qa"]][: args.queries]
    table = Table(title=f"search of one {sample['sample_id']} user as other tenants are added (SQLite)")
    for column in ("other tenants", "p50 ms", "p95 ms", "p50 / first", "load"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        config = MemoryConfig(store=f"sqlite:///{Path(tmp) / 'm.db'}", strata={"on_add": False})
        with Memory(config=config) as memory:
            for key, turns in conv.items():
                if key.startswith("session_") and isinstance(turns, list) and turns:
                    messages = [{"name": t["speaker"], "content": t["text"]} for t in turns]
                    memory.add(messages, user_id="u1", session_id=key, timestamp=conv[f"{key}_date_time"])
            added, first = 0, None
            for target in (int(n) for n in args.tenants.split(",")):
                while added < target:
                    memory.for_tenant(f"t{added}").add("I went hiking with my sister last weekend.", user_id="x")
                    added += 1
                for question in questions[: 5 if first else 20]:  # the first round also warms the process up
                    memory.search(question, user_id="u1")
                times = []
                for question in questions:
                    started = time.perf_counter()
                    memory.search(question, user_id="u1")
                    times.append((time.perf_counter() - started) * 1000)
                p50 = statistics.median(times)
                first = first or p50
                p95 = sorted(times)[int(0.95 * (len(times) - 1))]
                table.add_row(
                    str(target), f"{p50:.1f}", f"{p95:.1f}", f"{p50 / first:.2f}", f"{os.getloadavg()[0]:.1f}"
                )
    Console().print(table)


if __name__ == "__main__":
    main()
