"""The ``summary.json`` document: means over questions, per category, per method.

Quality figures are deterministic for a given dataset, config and embedder; timing figures
(keys ending in ``_ms_p50``/``_ms_p95``, ``ingest_seconds``, ``ask_seconds``, ``cpu_seconds``) depend
on the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from outcrop.eval.answers import summarise_answers
from outcrop.eval.metrics import percentile
from outcrop.eval.runner import BASELINES, BUDGETS, CURVE_KS, METHOD, EvalResult, QuestionResult

__all__ = ["TIMING_KEYS", "quality_figures", "summarise"]

TIMING_KEYS = (
    "search_ms_p50",
    "search_ms_p95",
    "context_ms_p50",
    "context_ms_p95",
    "ingest_seconds",
    "ask_seconds",
    "cpu_seconds",
)


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    keys = [k for k in rows[0] if all(k in r for r in rows)]
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys}


def _block(questions: Sequence[QuestionResult]) -> dict[str, float]:
    out = _mean([q.metrics for q in questions])
    if not questions:
        return out
    for budget in BUDGETS:
        rows = [q.context.get(str(budget), {}) for q in questions]
        out[f"context_tokens_mean@{budget}"] = round(sum(r.get("tokens", 0) for r in rows) / len(rows), 1)
        flags = [r["answerable"] for r in rows if isinstance(r.get("answerable"), bool)]
        if budget == 1000 and len(flags) == len(rows):
            out["answerable@1000"] = round(sum(flags) / len(flags), 4)
    search = [q.search_ms for q in questions]
    context = [q.context_ms for q in questions]
    out["search_ms_p50"] = round(percentile(search, 50), 2)
    out["search_ms_p95"] = round(percentile(search, 95), 2)
    out["context_ms_p50"] = round(percentile(context, 50), 2)
    out["context_ms_p95"] = round(percentile(context, 95), 2)
    out["n"] = len(questions)
    return out


def _curve(questions: Sequence[QuestionResult], method: str) -> dict[str, float]:
    rows = [q.curves[method] for q in questions if method in q.curves]
    if not rows:
        return {}
    return {str(k): round(sum(r[str(k)] for r in rows) / len(rows), 4) for k in CURVE_KS}


def summarise(
    result: EvalResult,
    *,
    dataset: str,
    categories: Sequence[str] = (),
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Overall figures over the scored questions (LoCoMo categories 1-4; LongMemEval without
    abstention), each category on its own (``categories`` gives the order), and the baselines."""
    scored = [q for q in result.questions if q.scored]
    present = list(dict.fromkeys(q.category for q in result.questions))
    order = [c for c in categories if c in present] + sorted(c for c in present if c not in categories)
    by_category = {name: [q for q in result.questions if q.category == name] for name in order}
    baselines: dict[str, Any] = {}
    baselines_by_category: dict[str, Any] = {}
    for name in BASELINES:
        rows = [q.baselines[name] for q in scored if name in q.baselines]
        if rows:
            baselines[name] = _mean(rows)
            baselines_by_category[name] = {
                cat: _mean([q.baselines[name] for q in qs if name in q.baselines]) for cat, qs in by_category.items()
            }
    if result.full_context_tokens:
        tokens = result.full_context_tokens
        baselines["full-context"] = {
            "tokens_mean": round(sum(tokens) / len(tokens), 1),
            "tokens_max": float(max(tokens)),
            "context_evidence_coverage": 1.0,
        }
    summary: dict[str, Any] = {
        "dataset": dataset,
        "n_questions": len(scored),
        "n_separate": len(result.questions) - len(scored),
        "separate_categories": sorted({q.category for q in result.questions if not q.scored}),
        "n_cases": result.cases,
        "n_turns": result.turns,
        "skipped_evidence_ids": result.skipped_evidence,
        "skipped_questions": result.skipped_questions,
        "truncated_turns": result.truncated_turns,
        "embedder": result.embedder,
        "ingest_seconds": round(result.ingest_seconds, 2),
        "ask_seconds": round(result.ask_seconds, 2),
        "cpu_seconds": {phase: round(seconds, 2) for phase, seconds in result.cpu_seconds.items()},
        "overall": _block(scored),
        "categories": {name: _block(qs) for name, qs in by_category.items()},
        "baselines": baselines,
        "baselines_by_category": baselines_by_category,
        "curves": {m: c for m in (METHOD, *BASELINES) if (c := _curve(scored, m))},
    }
    if any(q.llm for q in result.questions):  # an LLM answered (eval/answers.py)
        summary["answers"] = summarise_answers(result.questions)
    if result.llm_usage:  # LLM ledger totals per purpose: producers, reranker, answers, judges
        summary["llm_usage"] = result.llm_usage
    summary.update(extra or {})
    return summary


def quality_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The machine-independent part of a summary: what two runs on the same data must agree on."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMING_KEYS}
        return value

    keys = ("n_questions", "n_separate", "overall", "categories", "baselines", "baselines_by_category", "curves")
    return {k: strip(summary[k]) for k in keys if k in summary}
