"""The same mem0 code on the real mem0 (offline) and on outcrop.compat.mem0: one LoCoMo conversation.

    python bench/mem0_compat.py [--data ../shared/data/locomo/locomo-dev.json] [--conversation 0] [--top-k 5]

Adds every turn of the conversation, one ``add`` per message as mem0 code does (``infer=False``,
the speaker as ``name``, the session as ``run_id``, the turn's ``dia_id`` in metadata), to the
real ``mem0ai`` (local Qdrant folder; its ``langchain`` embedder given outcrop's packaged MiniLM,
so both embed with one model; its LLM is never called) and to the shim (a SQLite file). Then asks
every question that has evidence through ``search(question, filters={"user_id": ...}, top_k=k,
threshold=0)`` and prints adds per second, search p50/p90 in ms, and evidence hit@k (a question
counts when one of its evidence turns is in the results). mem0 runs dense-only here: its BM25 needs
fastembed and a hub model, which are not installed. Read ratios and medians; the machine is noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from locomo_sample import add_sample_arguments, load_sample
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.mem0_offline: mem0's offline config

from tests.mem0_offline import close_mem0, mem0_config  # sets mem0's environment before mem0 loads

from outcrop.compat.mem0 import Memory
from outcrop.config import MemoryConfig
from outcrop.providers import load_embedder


def run(m: Any, sample: Any, top_k: int) -> dict[str, float]:
    user = sample.sample_id
    started = time.perf_counter()
    adds = 0
    for batch in sample.batches:
        for message in batch.messages:
            name = message.get("name") or message.get("speaker")
            m.add(
                {"role": "user", "content": message["content"], **({"name": name} if name else {})},
                user_id=user,
                run_id=batch.session_id,
                metadata={"dia_id": message["metadata"]["dia_id"]},
                infer=False,
            )
            adds += 1
    add_seconds = time.perf_counter() - started
    questions = [q for q in sample.questions if q.evidence]
    timings: list[float] = []
    hits = 0
    for q in questions:
        t0 = time.perf_counter()
        found = m.search(q.question, filters={"user_id": user}, top_k=top_k, threshold=0.0)["results"]
        timings.append((time.perf_counter() - t0) * 1000)
        ids = {(r.get("metadata") or {}).get("dia_id") for r in found}
        hits += bool(ids & set(q.evidence))
    timings.sort()
    return {
        "turns": adds,
        "adds/s": adds / add_seconds,
        "p50": statistics.median(timings),
        "p90": timings[int(0.9 * (len(timings) - 1))],
        "questions": len(questions),
        "hit": hits / len(questions),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sample_arguments(parser)
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()
    sample = load_sample(args)
    embedder = load_embedder("minilm")
    from mem0 import Memory as Mem0Memory
    from mem0.utils import spacy_models

    spacy_models._load_failed_full = spacy_models._load_failed_lemma = True  # no download attempt
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        theirs = Mem0Memory.from_config(mem0_config(folder / "mem0", embedder))
        makers: dict[str, Callable[[], Any]] = {
            "mem0ai 2.2.1 (dense only)": lambda: theirs,
            "outcrop.compat.mem0": lambda: Memory(
                MemoryConfig(store=f"sqlite:///{folder / 'o.db'}"), embedder=embedder
            ),
        }
        for name, make in makers.items():
            m = make()
            try:
                results[name] = run(m, sample, args.top_k)
            finally:
                close_mem0(m) if m is theirs else m.close()
    first = next(iter(results.values()))
    table = Table(
        title=f"{sample.sample_id}: {int(first['turns'])} turns added one by one, "
        f"{int(first['questions'])} questions, top_k={args.top_k}, one model (MiniLM int8)"
    )
    for column in ("", "adds/s", "search p50 ms", "search p90 ms", f"evidence hit@{args.top_k}"):
        table.add_column(column, justify="right" if column else "left")
    for name, r in results.items():
        table.add_row(name, f"{r['adds/s']:.1f}", f"{r['p50']:.1f}", f"{r['p90']:.1f}", f"{r['hit']:.3f}")
    Console().print(table)
    print(f"pid {os.getpid()}; load: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
