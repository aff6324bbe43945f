"""Search latency of one client on one LoCoMo conversation, with and without the gate's widening.

    python bench/search_latency.py [--data ../shared/data/locomo/locomo-dev.json] [--conversation 0]
                                   [--db sqlite:///kept.db] [--rounds 2]

Ingests the conversation into a fresh SQLite file (or reuses ``--db`` when it already holds it:
adds of known messages are no-ops), warms up on ten questions, then asks every question of the
conversation through ``Memory.search`` (limit 10, reads not counted) ``--rounds`` times per
setting, one at a time, and prints p50 / p95 / mean in ms and how many searches widened, for
``widen_search`` off (the default) and on. Read ratios and medians; the machine is noisy.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from locomo_sample import add_sample_arguments, ingest, load_sample
from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sample = load_sample(args)
    user = sample.sample_id
    questions = [q.question for q in sample.questions]
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        ingest(url, sample)
        table = Table(title=f"search latency, {user}: {len(questions)} questions x {args.rounds}, one client")
        for column in ("widen_search", "p50 ms", "p95 ms", "mean ms", "widened"):
            table.add_column(column, justify="right")
        for widen in (False, True):
            settings = {"store": url, "retrieval": {"track_access": False, "widen_search": widen}}
            with Memory(config=MemoryConfig.build(settings)) as memory:
                scope = Scope(tenant=memory.config.tenant, user_id=user)
                for question in questions[:10]:
                    memory.search(question, user_id=user, limit=10)
                times: list[float] = []
                widened = 0
                for _ in range(args.rounds):
                    for question in questions:
                        started = time.perf_counter()
                        memory.search(question, user_id=user, limit=10)
                        times.append((time.perf_counter() - started) * 1000)
                for question in questions:  # how often the gate would widen (not timed)
                    widened += memory.engine.retriever.retrieve(scope, question, limit=10).widened
            times.sort()
            table.add_row(
                str(widen),
                f"{statistics.median(times):.1f}",
                f"{times[int(0.95 * (len(times) - 1))]:.1f}",
                f"{statistics.mean(times):.1f}",
                f"{widened}/{len(questions)}",
            )
        Console().print(table)


if __name__ == "__main__":
    main()
