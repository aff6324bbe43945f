"""Ingest throughput and search latency at 1k / 10k / 100k items, with peak RSS.

    python bench/ingest_search.py [--sizes 1000,10000,100000] [--data ../shared/data/locomo/locomo-dev.json]

Corpus: LoCoMo turns (repeated under new session ids past the 3,435 real turns) mixed 1:1 with
synthetic sentences, in one user scope. Ingest turns/s is measured with real embedding on the
first 2,000 turns; to reach 100k in reasonable time the rest are embedded through a memo of the
same real model (repeated LoCoMo texts reuse their vector; synthetic texts are embedded for
real). Searches are LoCoMo questions through ``Memory.search`` (all channels), timed one by one.
By default only turns are built (the store, indexes and channels at scale); ``--strata`` adds the
rule-based facts, episodes, topics and profile on every add.
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
    args = parser.parse_args()
    rng = random.Random(7)
    real = load_embedder("minilm")
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
