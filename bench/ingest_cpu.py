"""Ingest CPU per turn on the embedded default: one LoCoMo conversation through ``Memory.add``.

    python bench/ingest_cpu.py [--conversation 0] [--settings 128:cut,128:windows] [--rounds 2]

Each session of the conversation is added with its timestamp (as ``outcrop eval locomo`` does) into
a fresh SQLite store, strata inline, until ``wait_for_strata``; the rows are the embedder's
settings (``MiniLMOnnxEmbedder(max_tokens=N, long_texts=MODE)``: word pieces the model reads at
once, and whether a longer text is read in windows or cut), run in interleaved rounds in this one
process, the model loaded once per setting. With windows, only turns are read whole: the strata
embed their derived items from the first window (``providers.base.first_window_only``). Prints this process's CPU (every thread: the model's
too) and wall time per turn, medians over the rounds, the number of texts embedded, and of them
the longer than one window.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from locomo_sample import DEFAULT_DATA

from outcrop import Memory, MemoryConfig
from outcrop.eval.locomo import load_locomo, locomo_cases
from outcrop.providers.base import Vectors
from outcrop.providers.onnx_minilm import LongTexts, MiniLMOnnxEmbedder


class CountingEmbedder(MiniLMOnnxEmbedder):
    """The real model, counting the texts it embeds and those longer than one window."""

    def __init__(self, max_tokens: int, long_texts: LongTexts) -> None:
        super().__init__(max_tokens=max_tokens, long_texts=long_texts)
        self.counts = {"texts": 0, "long": 0}  # shared with its first_window_only() copy

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.counts["texts"] += len(texts)
        self.counts["long"] += sum(bool(e.overflowing) for e in self._tokenizer.encode_batch(list(texts)))
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


def embedder_for(setting: str) -> CountingEmbedder:
    tokens, _, long_texts = setting.partition(":")
    if long_texts not in ("cut", "windows"):
        raise SystemExit(f"a setting is max_tokens:cut or max_tokens:windows, not {setting!r}")
    return CountingEmbedder(int(tokens), cast(LongTexts, long_texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversation", type=int, default=0, help="case number in the data file")
    parser.add_argument(
        "--settings", default="128:cut,128:windows", help="the embedder's settings to compare, max_tokens:long_texts"
    )
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    embedders = {setting: embedder_for(setting) for setting in args.settings.split(",")}
    rows: dict[str, list[tuple[float, float]]] = {n: [] for n in embedders}
    turns = 0
    for _ in range(args.rounds):
        for n, embedder in embedders.items():
            cpu, wall, turns = ingest(args.conversation, args.data, embedder)
            rows[n].append((cpu, wall))
    print(f"conversation {args.conversation}: {turns} turns, {args.rounds} rounds, medians")
    print("| max tokens : long texts | CPU ms / turn | wall ms / turn | texts embedded a round | of them long |")
    print("|---:|---:|---:|---:|---:|")
    for n, embedder in embedders.items():
        cpu = statistics.median(r[0] for r in rows[n])
        wall = statistics.median(r[1] for r in rows[n])
        print(
            f"| {n} | {cpu:.1f} | {wall:.1f} | {embedder.counts['texts'] // args.rounds} | {embedder.counts['long'] // args.rounds} |"
        )


if __name__ == "__main__":
    main()
