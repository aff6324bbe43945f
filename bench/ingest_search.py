"""Ingest throughput and search latency at 1k / 10k / 100k items, with peak RSS.

    python bench/ingest_search.py [--sizes 1000,10000,100000] [--data ../shared/data/locomo/locomo-dev.json]

Corpus: LoCoMo turns (repeated under new session ids past the 3,435 real turns) mixed 1:1 with
synthetic sentences, in one user scope. Ingest turns/s is measured with real embedding on the
first 2,000 turns; to reach 100k in reasonable time the rest are embedded through a memo of the
same real model (repeated LoCoMo texts reuse their vector; synthetic texts are embedded for
real). Searches are LoCoMo questions through ``Memory.search`` (all channels), timed one by one.
By default only turns are built (the store, indexes and channels at scale); ``--strata`` adds the
rule-based facts, episodes, topics and profile on every add.

First, one table sets ingest beside the embedder's own speed (``--ingest-turns`` turns of the same
corpus, ``--repeats`` interleaved rounds, medians; the ratio is taken within each round): the
embedder alone on the turns' texts in one call; ``Memory.ingest`` of them as a JSONL file (the
batch path) bare (strata off), with strata inline and with strata deferred (both timed until
consolidation has caught up: ``wait_for_strata``); and ``Memory.add`` session by session (the
per-call path); ``--relations`` adds strata inline with relation views and entity pages
(``strata.relations``, ``strata.entity_pages``). ``--sizes none`` prints that table alone.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Vectors
from outcrop.providers import Embedder, load_embedder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
WORDS = [
    "garden",
    "river",
    "piano",
    "budget",
    "hiking",
    "recipe",
    "meeting",
    "deadline",
    "travel",
    "museum",
    "coffee",
    "novel",
    "guitar",
    "marathon",
    "doctor",
    "puppy",
    "library",
    "festival",
    "painting",
    "camera",
    "bicycle",
    "harbor",
]


class MemoEmbedder:
    """The real embedder, remembering vectors of texts it has already embedded."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.id, self.dim, self.batch_size = inner, inner.id, inner.dim, inner.batch_size
        self.memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        for start in range(0, len(missing), 256):  # bounded batches: a large store's build stays small
            part = missing[start : start + 256]
            for text, vector in zip(part, self.inner.embed(part), strict=True):
                self.memo[text] = vector
        return np.vstack([self.memo[t] for t in texts]).astype(np.float32)


def corpus(data: Path, size: int, rng: random.Random) -> list[tuple[str, str, list[dict[str, str]]]]:
    """(session id, timestamp, messages) batches totalling ``size`` messages."""
    raw = json.loads(data.read_text())
    sessions = []
    for sample in raw:
        conv = sample["conversation"]
        for key, turns in conv.items():
            if key.startswith("session_") and isinstance(turns, list) and turns:
                sessions.append(
                    (conv[f"{key}_date_time"], [{"name": t["speaker"], "content": t["text"]} for t in turns])
                )
    batches, total, round_ = [], 0, 0
    while total < size:
        for date, turns in sessions:
            synthetic = [{"name": "Sam", "content": " ".join(rng.choices(WORDS, k=12))} for _ in turns]
            messages = [m for pair in zip(turns, synthetic, strict=True) for m in pair][: size - total]
            batches.append((f"r{round_}-{len(batches)}", date, messages))
            total += len(messages)
            if total >= size:
                break
        round_ += 1
    return batches


def questions(data: Path) -> list[str]:
    return [qa["question"] for sample in json.loads(data.read_text()) for qa in sample["qa"]][:200]


def write_jsonl(path: Path, batches: list[tuple[str, str, list[dict[str, str]]]]) -> int:
    """The batches as a JSONL conversation file of user ``bench``; how many messages."""
    count = 0
    with path.open("w") as out:
        for session, date, messages in batches:
            for message in messages:
                row = {"user_id": "bench", "session_id": session, "timestamp": date, **message}
                out.write(json.dumps(row) + "\n")
                count += 1
    return count


def ingest_rates(data: Path, turns: int, repeats: int, real: Embedder, relations: bool = False) -> Table:
    """Turns/s of each way to ingest ``turns`` turns, beside the embedder's own texts/s (with
    ``relations``: also strata inline with relation views and entity pages)."""
    batches = corpus(data, turns, random.Random(11))
    texts = [f"{m['name']}: {m['content']}" for _, _, messages in batches for m in messages]
    real.embed(texts[:64])  # warm up
    ways = {
        "bare (strata off), batch path": {"on_add": False},
        "strata inline, batch path": {"mode": "inline"},
        "strata deferred, batch path": {"mode": "deferred"},
        "bare, add() per session": {"on_add": False},
        "strata inline, add() per session": {"mode": "inline"},
    }
    if relations:
        ways["strata inline + relations and entity pages, batch path"] = {
            "mode": "inline",
            "relations": True,
            "entity_pages": True,
        }
    rates: dict[str, list[float]] = {"embedder alone": [], **{way: [] for way in ways}}
    ratios: dict[str, list[float]] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "conversation.jsonl"
        write_jsonl(file, batches)
        for round_ in range(repeats):
            started = time.perf_counter()
            real.embed(texts)
            alone = len(texts) / (time.perf_counter() - started)
            rates["embedder alone"].append(alone)
            print(f"round {round_}: embedder alone: {alone:,.1f} texts/s", flush=True)
            for number, (way, strata) in enumerate(ways.items()):
                config = MemoryConfig(store=f"sqlite:///{tmp}/r{round_}-{number}.db", strata=strata)
                with Memory(config=config, embedder=real) as memory:
                    started = time.perf_counter()
                    if "batch" in way:
                        memory.ingest(file)
                    else:
                        for session, date, messages in batches:
                            memory.add(messages, user_id="bench", session_id=session, timestamp=date)
                    assert memory.wait_for_strata()
                    rate = len(texts) / (time.perf_counter() - started)
                rates[way].append(rate)
                ratios[way].append(rate / alone)
                print(f"round {round_}: {way}: {rate:,.1f} turns/s, {rate / alone:.2f}x the embedder", flush=True)
    table = Table(title=f"ingest vs the embedder ({len(texts):,} turns, median of {repeats} rounds)")
    for column in ("way", "turns/s (texts/s)", "x embedder (same round)"):
        table.add_column(column, justify="right")
    for way, values in rates.items():
        ratio = f"{statistics.median(ratios[way]):.2f}" if way in ratios else "1.00"
        table.add_row(way, f"{statistics.median(values):,.0f}", ratio)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--strata",
        action="store_true",
        help="also build facts/episodes/topics/profile on add (default: turns only, the store and channels)",
    )
    parser.add_argument("--ingest-turns", type=int, default=2000, help="turns of the ingest-rate table (0: skip it)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the ingest-rate table")
    parser.add_argument(
        "--relations",
        action="store_true",
        help="the ingest-rate table also times strata with relations and entity pages",
    )
    args = parser.parse_args()
    rng = random.Random(7)
    real = load_embedder("minilm")
    if args.ingest_turns:
        Console().print(ingest_rates(args.data, args.ingest_turns, args.repeats, real, args.relations))
    if args.sizes == "none":
        return
    memo = MemoEmbedder(real)
    asked = questions(args.data)[: args.queries]
    table = Table(title="outcrop ingest + search (SQLite, all-MiniLM-L6-v2 int8, 2 cores)")
    for column in ("items", "ingest turns/s", "search p50 ms", "search p95 ms", "peak RSS MB"):
        table.add_column(column, justify="right")
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            config = MemoryConfig(store=f"sqlite:///{tmp}/bench.db", strata={"on_add": args.strata})
            batches = corpus(args.data, size, rng)
            timed = 0
            with Memory(config=config, embedder=real) as memory:
                started = time.perf_counter()
                for session, date, messages in batches:
                    memory.add(messages, user_id="bench", session_id=session, timestamp=date)
                    timed += len(messages)
                    if timed >= 2000:
                        break
                rate = timed / (time.perf_counter() - started)
            with Memory(config=config, embedder=memo) as memory:
                for session, date, messages in batches:
                    memory.add(messages, user_id="bench", session_id=session, timestamp=date)
                memory.search("warm up the index", user_id="bench")
                latencies = []
                for question in asked:
                    started = time.perf_counter()
                    memory.search(question, user_id="bench", limit=10)
                    latencies.append((time.perf_counter() - started) * 1000)
                count = memory.stats(user_id="bench")["counts"]["turn"]
            latencies.sort()
            p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            table.add_row(
                f"{count:,}", f"{rate:,.0f}", f"{statistics.median(latencies):.1f}", f"{p95:.1f}", f"{rss:,.0f}"
            )
    Console().print(table)


if __name__ == "__main__":
    main()
