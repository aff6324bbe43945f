"""Where the evidence a packed context misses ranks, over the stores an eval run kept.

For each question whose context at ``--budget`` tokens leaves out some of its evidence, each
missing evidence unit's rank in `Memory.search` (the whole pipeline, ``--depth`` hits) and in the
single-channel recipes (``bm25``, ``dense``, ``--depth`` hits each); prints the missing units by
search rank, the questions by the rank of their worst-ranked missing unit, and each recipe's
reach. `--out` writes one JSON line per question with something missing (texts included). These
counts say how far ranking, not packing, bounds coverage (docs/decisions.md, issue 18).

    outcrop eval locomo --data ../shared/data/locomo/locomo-dev.json --out base --keep-stores
    python bench/locomo_misses.py --stores base/stores [--config '{"retrieval": {...}}']
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from locomo_kept import KeptCase, add_kept_arguments, kept_cases

from outcrop.eval import runner

RECIPES = ("bm25", "dense")
UNIT_BUCKETS = ((1, 10), (11, 30), (31, 100), (101, 300), (301, 10**9))  # cut at --depth
QUESTION_BUCKETS = ((1, 20), (21, 30), (31, 50), (51, 100), (101, 10**9))


def _ranks(kept: KeptCase, question: Any, hits: list[Any]) -> dict[str, int]:
    """Each evidence unit's first rank (1-based) among ``hits``."""
    first: dict[str, int] = {}
    for rank, hit in enumerate(hits, start=1):
        for unit in runner._units(kept.keys(hit), question, kept.replay):
            first.setdefault(unit, rank)
    return first


def _bucket(rank: int | None, buckets: tuple[tuple[int, int], ...]) -> str:
    for low, high in buckets:
        if rank is not None and low <= rank <= high:
            return f"{low}-{high}"
    return "not found"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_kept_arguments(parser)
    parser.add_argument("--budget", type=int, default=1000, help="context tokens")
    parser.add_argument("--depth", type=int, default=300, help="hits ranked per method")
    parser.add_argument("--out", type=Path, default=None, help="one JSON line per question missing evidence")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    asked = 0
    for kept in kept_cases(args):
        memory, user = kept.memory, kept.case.case_id
        texts = {str(t.metadata.get("dia_id")): t.text for t in memory.list(user_id=user, level="turn", limit=10_000)}
        for q in kept.case.questions:
            asked += 1
            context = memory.context(q.question, user_id=user, max_tokens=args.budget)
            covered = {u for h in context.items for u in runner._units(kept.keys(h), q, kept.replay)}
            missing = [u for u in q.evidence if u not in covered]
            if not missing:
                continue
            ranks = {"default": _ranks(kept, q, memory.search(q.question, user_id=user, limit=args.depth))}
            for recipe in RECIPES:
                hits = memory.search(q.question, user_id=user, limit=args.depth, recipe=recipe)
                ranks[recipe] = _ranks(kept, q, hits)
            rows.append(
                {
                    "id": q.id,
                    "category": q.category,
                    "question": q.question,
                    "answer": q.answer,
                    "missing": missing,
                    "ranks": {name: {u: found.get(u) for u in missing} for name, found in ranks.items()},
                    "texts": {u: texts.get(u, "") for u in missing},
                }
            )
    if args.out is not None:
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    _report(rows, asked, args)


def _within(buckets: tuple[tuple[int, int], ...], depth: int) -> tuple[tuple[int, int], ...]:
    """``buckets`` cut at ``depth`` (ranks past it are "not found")."""
    return tuple((low, min(high, depth)) for low, high in buckets if low <= depth)


def _report(rows: list[dict[str, Any]], asked: int, args: argparse.Namespace) -> None:
    unit_buckets, question_buckets = _within(UNIT_BUCKETS, args.depth), _within(QUESTION_BUCKETS, args.depth)
    units = sum(len(r["missing"]) for r in rows)
    by_category = Counter(r["category"] for r in rows)
    print(f"{len(rows)} of {asked} questions miss evidence in a {args.budget}-token context ({units} units):")
    print(", ".join(f"{name} {n}" for name, n in by_category.most_common()))
    print()
    print("| missing units ranked by | " + " | ".join(f"{lo}-{hi}" for lo, hi in unit_buckets) + " | not found |")
    print("|---|" + "---|" * (len(unit_buckets) + 1))
    for method in ("default", *RECIPES):
        counts = Counter(_bucket(r["ranks"][method][u], unit_buckets) for r in rows for u in r["missing"])
        cells = [counts[f"{lo}-{hi}"] for lo, hi in unit_buckets] + [counts["not found"]]
        label = "search (whole pipeline)" if method == "default" else f"recipe {method}"
        print(f"| {label} | " + " | ".join(map(str, cells)) + " |")
    print()
    print(
        "| questions by their worst missing unit's search rank | "
        + " | ".join(f"{lo}-{hi}" for lo, hi in question_buckets)
        + " | not found |"
    )
    print("|---|" + "---|" * (len(question_buckets) + 1))
    for category in ("all", *sorted(by_category)):
        chosen = [r for r in rows if category in ("all", r["category"])]
        worst = [
            None if any(v is None for v in r["ranks"]["default"].values()) else max(r["ranks"]["default"].values())
            for r in chosen
        ]
        counts = Counter(_bucket(w, question_buckets) for w in worst)
        cells = [counts[f"{lo}-{hi}"] for lo, hi in question_buckets] + [counts["not found"]]
        print(f"| {category} | " + " | ".join(map(str, cells)) + " |")


if __name__ == "__main__":
    main()
