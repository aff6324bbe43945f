"""Zero-LLM vs LLM producers on a fixed LoCoMo slice, answered by the same LLM (issue 7).

Slice: conversation 0 of ``locomo-dev.json`` (conv-26), its first ``--questions`` category 1-4
questions in file order; with ``--sessions N`` only its first N sessions are replayed and only
questions whose evidence lies in them are asked. Both runs answer every question with the same
LLM (``answer@1``, context budget 1000 tokens); they differ only in the producers of the
strata above turns (facts, episodes, topics, profile, slot judgements). The model is the bundled
local one unless OUTCROP_LLM_BASE_URL/_MODEL name another.

    python bench/llm_slice.py --data ../shared/data/locomo/locomo-dev.json --out bench-llm
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from outcrop import MemoryConfig
from outcrop.eval import answers as answer_scoring
from outcrop.eval.cases import EvalCase
from outcrop.eval.locomo import load_locomo, locomo_cases
from outcrop.eval.runner import evaluate_cases
from outcrop.eval.summary import summarise
from outcrop.providers.registry import load_embedder

MODES = {
    "zero-LLM producers (rules, central turns, leader topics, slot profile)": {
        "fact_producer": "rules",
        "episode_producer": "central",
        "topic_producer": "leader",
        "profile_producer": "slots",
        "slot_judge": "rules",
    },
    "LLM producers (facts@3, episode@1, topic@1, profile.reflect@1, slot.judge@1)": {
        "fact_producer": "llm",
        "episode_producer": "llm",
        "topic_producer": "llm",
        "profile_producer": "llm",
        "slot_judge": "llm",
    },
}
ANSWERING = ("answer", "judge")  # LLM purposes at question time; every other purpose is ingest


def slice_case(data: Path, sessions: int | None, questions: int) -> EvalCase:
    case = locomo_cases(load_locomo(data)[:1], categories=(1, 2, 3, 4))[0]
    kept = case.sessions[:sessions] if sessions else case.sessions
    keys = {k for s in kept for k in s.keys}
    asked = [q for q in case.questions if set(q.evidence) <= keys][:questions]
    return dataclasses.replace(case, sessions=kept, questions=tuple(asked))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("bench-llm"))
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=None, help="replay only the first N sessions")
    parser.add_argument("--judges", action="store_true", help="also grade with judge.lenient@1 / judge.strict@1")
    parser.add_argument("--modes", default="0,1", help="which of the two runs, e.g. 1")
    parser.add_argument("--structured", default="auto", help="llm.structured for a server named by the env")
    parser.add_argument("--budget", type=int, default=1000, help="context tokens given to the model per answer")
    args = parser.parse_args()
    case = slice_case(args.data, args.sessions, args.questions)
    answer_scoring.ANSWER_BUDGET = args.budget  # read by score_answer at call time
    args.out.mkdir(parents=True, exist_ok=True)
    embedder = load_embedder("minilm")
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        base_url, model = os.environ.get("OUTCROP_LLM_BASE_URL"), os.environ.get("OUTCROP_LLM_MODEL")
        if base_url and model:
            llm: dict[str, Any] = {"base_url": base_url, "model": model, "structured": args.structured}
        else:
            from outcrop.llm.local import LocalServer

            server = stack.enter_context(LocalServer(log=args.out / "llama-server.log"))
            llm = server.llm_config().model_dump(mode="json")
        for index, (name, strata) in enumerate(MODES.items()):
            if str(index) not in args.modes.split(","):
                continue
            config = MemoryConfig.build({"sqlite_synchronous": "NORMAL", "strata": strata, "llm": llm})
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                result = evaluate_cases(
                    [case], config=config, workdir=Path(tmp), embedder=embedder, baselines=False, judges=args.judges
                )
            wall = time.perf_counter() - started
            summary = summarise(result, dataset="locomo-slice")
            usage = summary.get("llm_usage", {})
            ingest_tokens = sum(v.get("total_tokens", 0) for k, v in usage.items() if not k.startswith(ANSWERING))
            answers = summary.get("answers", {})
            row = {
                "mode": name,
                "sessions": len(case.sessions),
                "turns": result.turns,
                "questions": summary["n_questions"],
                "recall@10": summary["overall"].get("recall@10"),
                "answer_f1": answers.get("f1"),
                "bleu1": answers.get("bleu1"),
                "judge_lenient": answers.get("judge_lenient"),
                "judge_strict": answers.get("judge_strict"),
                "abstained": answers.get("abstained"),
                "ingest_llm_tokens": ingest_tokens,
                "answer_tokens_per_question": answers.get("tokens_per_question"),
                "ingest_seconds": round(result.ingest_seconds, 1),
                "wall_seconds": round(wall, 1),
                "answer_ms_p50": answers.get("answer_ms_p50"),
                "llm_usage": usage,
            }
            rows.append(row)
            (args.out / f"mode{index}-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            with (args.out / f"mode{index}-questions.jsonl").open("w") as handle:
                for q in result.questions:
                    handle.write(json.dumps(dataclasses.asdict(q)) + "\n")
            print(json.dumps({k: v for k, v in row.items() if k != "llm_usage"}), flush=True)
    (args.out / "table.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
