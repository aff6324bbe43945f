"""Replay LoCoMo conversations into memory and score retrieval and packed contexts.

Everything goes through the public :class:`~memstrata.Memory` API, so the figures are what
users get. Each conversation is replayed into its own user scope of a fresh store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memstrata.api.memory import Memory
from memstrata.core.text import estimate_tokens, words
from memstrata.core.types import Hit, Level
from memstrata.eval.locomo import CATEGORIES, LocomoQuestion, LocomoSample
from memstrata.eval.metrics import hit_at, ndcg_at, percentile, recall_at

__all__ = ["EvalResult", "QuestionResult", "evaluate_samples", "summarise"]

KS = (1, 5, 10, 20)
BUDGETS = (256, 512, 1000, 2000)
BASELINES = {"bm25": {"bm25": 1.0}, "dense": {"dense": 1.0}}


@dataclass
class QuestionResult:
    sample_id: str
    index: int
    question: str
    category: int
    evidence: list[str]
    retrieved: list[dict[str, Any]]
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    context_tokens: dict[str, int] = field(default_factory=dict)
    search_ms: float = 0.0


@dataclass
class EvalResult:
    questions: list[QuestionResult]
    full_context_tokens: list[int]
    skipped_evidence: int
    ingest_seconds: float


def _turns_of(hit: Hit, dia_of: dict[str, str], turns_of_item: Callable[[str], list[str]]) -> list[str]:
    """The LoCoMo dia_ids an item carries: its own for a turn, its source turns' otherwise."""
    if hit.level == Level.TURN:
        return [dia_of[hit.id]] if hit.id in dia_of else []
    return [dia_of[t] for t in turns_of_item(hit.id) if t in dia_of]


def _retrieval_metrics(turn_lists: Sequence[Sequence[str]], evidence: Sequence[str]) -> dict[str, float]:
    metrics = {f"recall@{k}": recall_at(turn_lists, evidence, k) for k in KS}
    metrics["hit@10"] = hit_at(turn_lists, evidence, 10)
    metrics["ndcg@10"] = ndcg_at(turn_lists, evidence, 10)
    return metrics


def _answer_recall(answer: str | None, text: str) -> float:
    wanted = set(words(answer or ""))
    if not wanted:
        return 0.0
    return len(wanted & set(words(text))) / len(wanted)


def evaluate_samples(
    memory: Memory,
    samples: Sequence[LocomoSample],
    *,
    categories: Sequence[int] = (1, 2, 3, 4, 5),
    limit: int | None = None,
    baselines: bool = True,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> EvalResult:
    """Ingest each sample into scope ``user_id=sample_id`` and ask its questions."""
    results: list[QuestionResult] = []
    full_tokens: list[int] = []
    skipped = 0
    ingest_seconds = 0.0
    for sample in samples:
        started = time.perf_counter()
        for batch in sample.batches:
            memory.add(batch.messages, user_id=sample.sample_id, session_id=batch.session_id, timestamp=batch.timestamp)
        ingest_seconds += time.perf_counter() - started
        turns = memory.list(user_id=sample.sample_id, level=Level.TURN, limit=10_000)
        dia_of = {t.id: str(t.metadata.get("dia_id")) for t in turns}
        full_tokens.append(sum(estimate_tokens(t.text) for t in turns))

        def turns_of_item(item_id: str, user_id: str = sample.sample_id) -> list[str]:
            return memory.get(item_id, user_id=user_id).sources

        questions = [q for q in sample.questions if q.category in categories and q.evidence]
        if limit is not None:
            questions = questions[: max(0, limit - len(results))]
        skipped += sum(len(q.skipped_evidence) for q in questions)
        for n, question in enumerate(questions, start=1):
            results.append(_ask(memory, question, dia_of, turns_of_item, baselines))
            if on_progress:
                on_progress(sample.sample_id, n, len(questions))
        if limit is not None and len(results) >= limit:
            break
    return EvalResult(results, full_tokens, skipped, ingest_seconds)


def _ask(
    memory: Memory,
    q: LocomoQuestion,
    dia_of: dict[str, str],
    turns_of_item: Callable[[str], list[str]],
    baselines: bool,
) -> QuestionResult:
    started = time.perf_counter()
    hits = memory.search(q.question, user_id=q.sample_id, limit=max(KS))
    search_ms = (time.perf_counter() - started) * 1000
    turn_lists = [_turns_of(h, dia_of, turns_of_item) for h in hits]
    metrics = _retrieval_metrics(turn_lists, q.evidence)
    tokens: dict[str, int] = {}
    for budget in BUDGETS:
        context = memory.context(q.question, user_id=q.sample_id, max_tokens=budget)
        covered = {t for h in context.items for t in _turns_of(h, dia_of, turns_of_item)}
        metrics[f"context_evidence_coverage@{budget}"] = float(set(q.evidence) <= covered)
        metrics[f"context_answer_recall@{budget}"] = _answer_recall(q.answer, context.text)
        tokens[str(budget)] = context.tokens
    result = QuestionResult(
        sample_id=q.sample_id,
        index=q.index,
        question=q.question,
        category=q.category,
        evidence=list(q.evidence),
        retrieved=[
            {"id": h.id, "level": h.level.value, "turns": t, "score": round(h.score, 6)}
            for h, t in zip(hits, turn_lists, strict=True)
        ],
        metrics=metrics,
        context_tokens=tokens,
        search_ms=search_ms,
    )
    if baselines:
        for name, weights in BASELINES.items():
            base_hits = memory.search(q.question, user_id=q.sample_id, limit=max(KS), channels=weights)
            result.baselines[name] = _retrieval_metrics(
                [_turns_of(h, dia_of, turns_of_item) for h in base_hits], q.evidence
            )
    return result


def _mean(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {}
    keys = rows[0].keys()
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys}


def summarise(result: EvalResult, *, dataset: str = "locomo", extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``summary.json`` document: overall over categories 1-4, per category, baselines."""
    answerable = [q for q in result.questions if q.category in (1, 2, 3, 4)]

    def block(questions: Sequence[QuestionResult]) -> dict[str, float]:
        out = _mean([q.metrics for q in questions])
        if questions:
            latencies = [q.search_ms for q in questions]
            out["search_ms_p50"] = round(percentile(latencies, 50), 2)
            out["search_ms_p95"] = round(percentile(latencies, 95), 2)
            out["n"] = len(questions)
        return out

    categories = {
        name: block([q for q in result.questions if q.category == number])
        for number, name in CATEGORIES.items()
        if any(q.category == number for q in result.questions)
    }
    baselines: dict[str, Any] = {}
    for name in BASELINES:
        rows = [q.baselines[name] for q in answerable if name in q.baselines]
        if rows:
            baselines[name] = _mean(rows)
    if result.full_context_tokens:
        baselines["full-context"] = {
            "tokens_mean": round(sum(result.full_context_tokens) / len(result.full_context_tokens), 1),
            "context_evidence_coverage": 1.0,
        }
    summary: dict[str, Any] = {
        "dataset": dataset,
        "n_questions": len(answerable),
        "n_adversarial": len(result.questions) - len(answerable),
        "skipped_evidence_ids": result.skipped_evidence,
        "ingest_seconds": round(result.ingest_seconds, 2),
        "overall": block(answerable),
        "categories": categories,
        "baselines": baselines,
    }
    summary.update(extra or {})
    return summary


def load_and_evaluate(path: Path, memory: Memory, **kwargs: Any) -> EvalResult:
    from memstrata.eval.locomo import load_locomo

    return evaluate_samples(memory, load_locomo(path), **kwargs)
