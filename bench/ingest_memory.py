"""Peak memory of ingesting a large conversation file: RSS stays flat as the file grows.

    python bench/ingest_memory.py [--sizes 10000,50000,200000] [--embedder hash|minilm] [--strata]

Each size is a generated JSONL file (sessions of 20 messages between two speakers, sentences from
a small vocabulary, unique per message) ingested by ``Memory.ingest`` into a new SQLite store in
a child process of its own; the table shows the file's size, the rate, the child's RSS at a
quarter, half and the end of the writes, and its peak RSS (``ru_maxrss``). ``--embedder hash``
(default) puts a deterministic hashing embedder (384-d, numpy, no model) in place of the model, so
200,000 messages take minutes and the figures are the pipeline's own memory (the model adds a
constant ~100 MB); ``--embedder minilm`` runs the real model (about 100-200 texts/s here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

WORDS = (
    "garden river piano budget hiking recipe meeting deadline travel museum coffee novel guitar marathon doctor puppy"
    " library festival painting camera bicycle harbor Paris Boston sister brother weekend yesterday tomorrow job"
).split()


def write_file(path: Path, messages: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    with path.open("w") as out:
        for i in range(messages):
            words = " ".join(rng.choices(WORDS, k=rng.randint(6, 30)))
            row = {
                "user_id": "big",
                "session_id": f"s{i // 20}",
                "timestamp": f"2023-{1 + (i // 20) % 12:02d}-{1 + (i // 20) % 28:02d}T10:00:00",
                "name": "Ann" if i % 2 else "Bob",
                "content": f"Message {i}: I went to the {words}.",
            }
            out.write(json.dumps(row) + "\n")


class HashEmbedder:
    """Deterministic 384-d vectors from hashed words: the pipeline without a model's cost."""

    id, dim, batch_size = "bench-hash-384", 384, 64

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % 384] += 1
        norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        normalised: np.ndarray = out / norms
        return normalised


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(file: Path, db: Path, embedder_spec: str, strata: bool) -> None:
    """Ingest ``file``; print one JSON line of figures."""
    from outcrop import Memory, MemoryConfig
    from outcrop.providers import Embedder, load_embedder

    embedder: Embedder = HashEmbedder() if embedder_spec == "hash" else load_embedder(embedder_spec)
    samples: dict[str, float] = {}
    total = [0]

    def progress(done: int) -> None:
        for mark in (0.25, 0.5):
            key = f"{int(mark * 100)}%"
            if key not in samples and done >= mark * total[0]:
                samples[key] = rss_mb()

    config = MemoryConfig(store=f"sqlite:///{db}", strata={"on_add": strata})
    with Memory(config=config, embedder=embedder) as memory:
        samples["open"] = rss_mb()
        started = time.perf_counter()
        report = memory.ingest(file, progress=progress, total=lambda n: total.__setitem__(0, n))
        memory.wait_for_strata()
        seconds = time.perf_counter() - started
        samples["end"] = rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"messages": report.messages, "seconds": seconds, "peak": peak, **samples}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument("--embedder", default="hash", help="hash (no model) | minilm")
    parser.add_argument("--strata", action="store_true", help="strata on (inline, by chunk); default: bare ingest")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.embedder, args.strata)
        return
    table = Table(title=f"ingest of a generated JSONL file (SQLite, embedder {args.embedder}, strata {args.strata})")
    for column in ("messages", "file MB", "turns/s", "RSS open MB", "25%", "50%", "end", "peak RSS MB"):
        table.add_column(column, justify="right")
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            file, db = Path(tmp) / "big.jsonl", Path(tmp) / "big.db"
            write_file(file, size)
            command = [sys.executable, __file__, "--embedder", args.embedder, "--child", str(file), str(db)]
            out = subprocess.run(command + (["--strata"] if args.strata else []), capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            table.add_row(
                f"{r['messages']:,}",
                f"{file.stat().st_size / 2**20:,.0f}",
                f"{r['messages'] / r['seconds']:,.0f}",
                *(f"{r[k]:,.0f}" for k in ("open", "25%", "50%", "end", "peak")),
            )
    Console().print(table)


if __name__ == "__main__":
    main()
