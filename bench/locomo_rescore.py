"""Re-score the stores an `outcrop eval locomo --keep-stores` run kept, with this checkout's retrieval.

Ingest is most of an evaluation's time; a retrieval change (a channel, a weight, a fusion step)
does not change the stores, so each setting can be scored on the same stores in minutes. Per
question: `Memory.search` (limit 20) and `Memory.context` at 1000 tokens, scored with the eval's
own provenance (any level's hit counts for the turns it derives from), so the figures are the
eval's R@1, R@10, coverage and answer words @1000 (they reproduce a run of the same code to the question).
Prints R@1 / R@10 / coverage / answer words in the context by category; `--out` writes one JSON line per question.

    outcrop eval locomo --data ../shared/data/locomo/locomo-dev.json --out base --jobs 2 \\
        --no-baselines --keep-stores
    python bench/locomo_rescore.py --stores base/stores --config '{"retrieval": {...}}'
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from locomo_sample import DEFAULT_DATA

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level
from outcrop.eval import runner
from outcrop.eval.locomo import load_locomo, locomo_cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=Path, required=True, help="OUT/stores of a --keep-stores run")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversations", default="all", help="case numbers, e.g. 0,1 (default: every store)")
    parser.add_argument("--config", default="{}", help="MemoryConfig fields as JSON, merged per section")
    parser.add_argument("--out", type=Path, default=None, help="one JSON line per question")
    args = parser.parse_args()
    cases = locomo_cases(load_locomo(args.data), (1, 2, 3, 4))
    numbers = range(len(cases)) if args.conversations == "all" else [int(n) for n in args.conversations.split(",")]
    settings = MemoryConfig().model_dump()
    for section, values in json.loads(args.config).items():
        if isinstance(values, dict):
            settings.setdefault(section, {}).update(values)
        else:
            settings[section] = values
    settings["retrieval"]["track_access"] = False  # as the eval: asking does not change the memory
    rows: list[dict[str, Any]] = []
    embedder = None
    for number in numbers:
        case = cases[number]
        config = MemoryConfig.build({**settings, "store": f"sqlite:///{args.stores / f'case-{number:05d}.db'}"})
        with Memory(config=config, embedder=embedder) as memory:
            embedder = memory.embedder
            keys_of: dict[str, list[str]] = {}
            for turn in memory.list(user_id=case.case_id, level=Level.TURN, limit=10_000):
                key = turn.metadata.get("dia_id")
                if key is not None:
                    keys_of[turn.id] = [str(key)]
                    for source in turn.sources:
                        keys_of.setdefault(source, [str(key)])
            replay = runner._Replay(runner._Provenance(memory, case.case_id, keys_of), case.session_of())
            for q in case.questions:
                with memory.reusing_reads(serving=False):
                    result = runner._search(memory, case, q, replay)
                    runner._context(memory, case, q, replay, result, 1000)
                metrics = result.metrics
                rows.append(
                    {
                        "id": q.id,
                        "question": q.question,
                        "category": q.category,
                        "recall@1": metrics["recall@1"],
                        "recall@10": metrics["recall@10"],
                        "coverage@1000": metrics["context_evidence_coverage@1000"],
                        "answer@1000": metrics["context_answer_recall@1000"],
                        "tokens@1000": result.context["1000"]["tokens"],
                    }
                )
    if args.out is not None:
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["category"]].append(row)
        groups["all"].append(row)
    measures = ("recall@1", "recall@10", "coverage@1000", "answer@1000")
    print("| category | n | R@1 | R@10 | coverage @1000 | answer words @1000 | context tokens |")
    print("|---|---|---|---|---|---|---|")
    for name, group in sorted(groups.items()):
        figures = [100 * sum(r[m] for r in group) / len(group) for m in measures]
        tokens = sum(r["tokens@1000"] for r in group) / len(group)
        print(f"| {name} | {len(group)} | " + " | ".join(f"{f:.1f}" for f in figures) + f" | {tokens:.0f} |")


if __name__ == "__main__":
    main()
