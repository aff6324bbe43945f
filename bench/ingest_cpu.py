"""Ingest CPU per turn on the embedded default: one LoCoMo conversation through ``Memory.add``.

    python bench/ingest_cpu.py [--conversation 0] [--max-tokens 256,128] [--rounds 2]

Each session of the conversation is added with its timestamp (as ``outcrop eval locomo`` does) into
a fresh SQLite store, strata inline, until ``wait_for_strata``; the rows are the embedder's text
cut (``MiniLMOnnxEmbedder(max_tokens=...)``: word pieces a text is embedded from), run in
interleaved rounds in this one process, the model loaded once per setting. Prints this process's
CPU (every thread: the model's too) and wall time per turn, medians over the rounds, and the
number of texts embedded and cut.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from locomo_sample import DEFAULT_DATA

from outcrop import Memory, MemoryConfig
from outcrop.eval.locomo import load_locomo, locomo_cases
from outcrop.providers.base import Vectors
from outcrop.providers.onnx_minilm import MiniLMOnnxEmbedder


class CountingEmbedder(MiniLMOnnxEmbedder):
    """The real model, counting the texts it embeds and those it cuts."""

    def __init__(self, max_tokens: int) -> None:
        super().__init__(max_tokens=max_tokens)
        self.max_tokens, self.texts, self.cut = max_tokens, 0, 0

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.texts += len(texts)
        self.cut += sum(len(e.ids) >= self.max_tokens for e in self._tokenizer.encode_batch(list(texts)))
        return super().embed(texts)


def ingest(case_number: int, data: Path, embedder: CountingEmbedder) -> tuple[float, float, int]:
    case = locomo_cases(load_locomo(data), (1, 2, 3, 4))[case_number]
    with tempfile.TemporaryDirectory() as folder:
        config = MemoryConfig.build({"store": f"sqlite:///{folder}/bench.db"})
        with Memory(config=config, embedder=embedder) as memory:
            cpu, wall = time.process_time(), time.perf_counter()
            for session in case.sessions:
                memory.add(
                    session.messages, user_id=case.case_id, session_id=session.session_id, timestamp=session.timestamp
                )
            memory.wait_for_strata()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    turns = sum(len(session.messages) for session in case.sessions)
    return 1000 * cpu / turns, 1000 * wall / turns, turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversation", type=int, default=0, help="case number in the data file")
    parser.add_argument("--max-tokens", default="256,128", help="the embedder's cuts to compare")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    embedders = {int(n): CountingEmbedder(int(n)) for n in args.max_tokens.split(",")}
    rows: dict[int, list[tuple[float, float]]] = {n: [] for n in embedders}
    turns = 0
    for _ in range(args.rounds):
        for n, embedder in embedders.items():
            cpu, wall, turns = ingest(args.conversation, args.data, embedder)
            rows[n].append((cpu, wall))
    print(f"conversation {args.conversation}: {turns} turns, {args.rounds} rounds, medians")
    print("| max tokens | CPU ms / turn | wall ms / turn | texts embedded a round | of them cut |")
    print("|---:|---:|---:|---:|---:|")
    for n, embedder in embedders.items():
        cpu = statistics.median(r[0] for r in rows[n])
        wall = statistics.median(r[1] for r in rows[n])
        print(f"| {n} | {cpu:.1f} | {wall:.1f} | {embedder.texts // args.rounds} | {embedder.cut // args.rounds} |")


if __name__ == "__main__":
    main()
