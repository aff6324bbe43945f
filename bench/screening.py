"""Instruction screening (``outcrop.core.screening``): false positives on LoCoMo, detections on a
hand-written injection set.

    python bench/screening.py [--data /work/shared/data/locomo] [--show 20]

False positives: every turn of every LoCoMo file under ``--data`` (the text as ``outcrop ingest``
stores it, image captions included), then, as a second check on prose that is not chat, the
LLM-written session summaries and observations and the QA questions of the same files. Detection:
``tests/data/injections.jsonl``, a set written by hand for the tests (not a benchmark), per
kind; and ``tests/data/benign.jsonl``, hand-written ordinary sentences near the rules' words.
Prints one table; ``--show`` lists the flagged LoCoMo texts so each can be judged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from outcrop.core.formats import locomo_message, locomo_sessions
from outcrop.core.screening import screen

TESTS_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def locomo_texts(folder: Path) -> Iterator[tuple[str, str]]:
    """(source, text): every turn, then summaries, observations and questions."""
    for path in sorted(folder.glob("*.json")):
        samples = json.loads(path.read_text(encoding="utf-8"))
        for sample in samples if isinstance(samples, list) else [samples]:
            for _, turns, _ in locomo_sessions(sample["conversation"]):
                for turn in turns:
                    yield "turn", str(locomo_message(turn)["content"])
            for summary in (sample.get("session_summary") or {}).values():
                yield "summary", str(summary)
            for observation in (sample.get("observation") or {}).values():
                for facts in observation.values():
                    for fact in facts:
                        yield "observation", str(fact[0] if isinstance(fact, list) else fact)
            for qa in sample.get("qa") or []:
                yield "question", str(qa.get("question", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/locomo"))
    parser.add_argument("--show", type=int, default=20, help="flagged LoCoMo texts to list")
    args = parser.parse_args()
    if not any(args.data.glob("*.json")):
        sys.exit(f"no LoCoMo *.json under {args.data}")

    seen: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    flagged: list[tuple[str, tuple[str, ...], str]] = []
    for source, text in locomo_texts(args.data):
        seen[source] += 1
        found = screen(text)
        if found.flagged:
            hit[source] += 1
            flagged.append((source, found.flags, text))

    table = Table(title="Instruction screening (rules@1)")
    for column in ("set", "texts", "flagged", "rate", "kind"):
        table.add_column(column, justify="right" if column in ("texts", "flagged", "rate") else "left")
    for source in ("turn", "summary", "observation", "question"):
        rate = hit[source] / seen[source] if seen[source] else 0.0
        label = "summaries" if source == "summary" else f"{source}s"
        table.add_row(f"LoCoMo {label}", str(seen[source]), str(hit[source]), f"{rate:.2%}", "false positives")
    cases = [json.loads(line) for line in (TESTS_DATA / "injections.jsonl").read_text().splitlines() if line]
    by_kind: dict[str, list[bool]] = {}
    for case in cases:
        by_kind.setdefault(case["kind"], []).append(screen(case["text"]).flagged)
    for kind, results in sorted(by_kind.items()):
        table.add_row(
            f"injections: {kind}",
            str(len(results)),
            str(sum(results)),
            f"{sum(results) / len(results):.0%}",
            "detected",
        )
    detected = sum(sum(r) for r in by_kind.values())
    table.add_row("injections: all", str(len(cases)), str(detected), f"{detected / len(cases):.1%}", "detected")
    benign = [json.loads(line)["text"] for line in (TESTS_DATA / "benign.jsonl").read_text().splitlines() if line]
    wrong = sum(screen(text).flagged for text in benign)
    table.add_row("hand-written benign", str(len(benign)), str(wrong), f"{wrong / len(benign):.1%}", "false positives")
    console = Console()
    console.print(table)
    for source, flags, text in flagged[: args.show]:
        console.print(f"[{source}] {','.join(flags)}: {text[:160]!r}")


if __name__ == "__main__":
    main()
