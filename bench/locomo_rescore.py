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

from locomo_kept import add_kept_arguments, kept_cases

from outcrop.eval import runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_kept_arguments(parser)
    parser.add_argument("--out", type=Path, default=None, help="one JSON line per question")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for kept in kept_cases(args):
        memory, case, replay = kept.memory, kept.case, kept.replay
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
