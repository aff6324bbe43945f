"""Search latency of one client on one LoCoMo conversation, with and without the gate's widening.

    python bench/search_latency.py [--data ../shared/data/locomo/locomo-dev.json] [--conversation 0]
                                   [--db sqlite:///kept.db] [--rounds 2] [--context 1000]
                                   [--config '{"strata": {"pages": true}}'] [--variant 'NAME={"retrieval": {...}}']

Ingests the conversation into a fresh SQLite file (or reuses ``--db`` when it already holds it:
adds of known messages are no-ops), warms up on ten questions, then asks every question of the
conversation through ``Memory.search`` (limit 10, reads not counted) ``--rounds`` times per
setting, one at a time, and prints p50 / p95 / mean in ms and how many searches widened, for
``widen_search`` off (the default) and on, then one row per ``--variant`` (settings merged over
``--config``, which also applies to the ingest). ``--context N`` times ``Memory.context`` at ``N``
tokens instead of search (contexts fuse the dense feedback channel, which search does not, and
always widen when the gate is low: one "default" row, then the variants). Read ratios and medians;
the machine is noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from locomo_sample import add_sample_arguments, ingest, load_sample
from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--config", default="{}", help="MemoryConfig settings (JSON) for the ingest and every row")
    parser.add_argument("--variant", action="append", default=[], help="NAME=JSON: a row with these settings merged")
    parser.add_argument("--context", type=int, default=0, help="time Memory.context at this many tokens instead")
    args = parser.parse_args()
    base = json.loads(args.config)
    rows: list[tuple[str, dict[str, Any]]] = [
        ("widen_search off", _merge(base, {"retrieval": {"widen_search": False}})),
        ("widen_search on", _merge(base, {"retrieval": {"widen_search": True}})),
    ]
    if args.context > 0:  # a context always widens when the gate is low: one row for the default
        rows = [("default", base)]
    for variant in args.variant:
        name, _, settings = variant.partition("=")
        rows.append((name, _merge(base, json.loads(settings))))
    sample = load_sample(args)
    user = sample.sample_id
    questions = [q.question for q in sample.questions]
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        ingest(url, sample, base)
        what = f"context ({args.context} tokens)" if args.context > 0 else "search"
        table = Table(title=f"{what} latency, {user}: {len(questions)} questions x {args.rounds}, one client")
        for column in ("setting", "p50 ms", "p95 ms", "mean ms", "widened"):
            table.add_column(column, justify="right")
        for name, row in rows:
            settings = _merge(row, {"store": url, "retrieval": {"track_access": False}})
            with Memory(config=MemoryConfig.build(settings)) as memory:
                scope = Scope(tenant=memory.config.tenant, user_id=user)

                def ask(question: str, memory: Memory = memory) -> None:
                    if args.context > 0:
                        memory.context(question, user_id=user, max_tokens=args.context)
                    else:
                        memory.search(question, user_id=user, limit=10)

                for question in questions[:10]:
                    ask(question)
                times: list[float] = []
                widened = 0
                for _ in range(args.rounds):
                    for question in questions:
                        started = time.perf_counter()
                        ask(question)
                        times.append((time.perf_counter() - started) * 1000)
                for question in questions:  # how often the gate would widen (not timed)
                    if args.context > 0:
                        context = memory.context(question, user_id=user, max_tokens=args.context)
                        widened += bool(context.explain.get("widened"))
                    else:
                        widened += memory.engine.retriever.retrieve(scope, question, limit=10).widened
            times.sort()
            table.add_row(
                name,
                f"{statistics.median(times):.1f}",
                f"{times[int(0.95 * (len(times) - 1))]:.1f}",
                f"{statistics.mean(times):.1f}",
                f"{widened}/{len(questions)}",
            )
        Console().print(table)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, section by section."""
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    return merged


if __name__ == "__main__":
    main()
