"""Answer quality with an LLM configured: token F1, BLEU-1, two judges, abstention, cost, latency.

For each question the memory answers with :meth:`outcrop.Memory.answer`; the answer is scored
against the gold answer with LoCoMo's token F1 (lower-cased, punctuation and articles removed)
and BLEU-1 (clipped unigram precision with the brevity penalty), and graded by two pinned judge
prompts (``judge.lenient@1``, ``judge.strict@1``). Adversarial questions (no gold answer: the
conversation does not say) are correct when the memory abstains. A failed answer or judge call
is recorded (``error``) and scores zero; it never stops the run.

Judges run on the same model as the answers unless another is given: with a small local model
the judge figures are indicative only; token F1 and BLEU-1 do not depend on a judge.
"""

from __future__ import annotations

import math
import re
import string
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from outcrop.errors import LLMError
from outcrop.eval.metrics import percentile
from outcrop.llm.base import LLM
from outcrop.llm.prompts import judge
from outcrop.llm.structured import generate

if TYPE_CHECKING:  # pragma: no cover
    from outcrop.api.memory import Memory
    from outcrop.eval.runner import QuestionResult

__all__ = ["ANSWER_BUDGET", "bleu1", "score_answer", "summarise_answers", "token_f1"]

ANSWER_BUDGET = 1000  # context tokens given to the model per answer
_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def _tokens(text: str) -> list[str]:
    text = _ARTICLES.sub(" ", text.lower().replace(",", " ").translate(_PUNCT))
    return text.split()


def token_f1(prediction: str, gold: str) -> float:
    """LoCoMo/SQuAD token F1 between normalised ``prediction`` and ``gold``."""
    pred, ref = _tokens(prediction), _tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def bleu1(prediction: str, gold: str) -> float:
    """BLEU-1: clipped unigram precision times the brevity penalty (one reference)."""
    pred, ref = _tokens(prediction), _tokens(gold)
    if not pred or not ref:
        return 0.0
    precision = sum((Counter(pred) & Counter(ref)).values()) / len(pred)
    penalty = 1.0 if len(pred) > len(ref) else math.exp(1 - len(ref) / len(pred))
    return precision * penalty


def score_answer(
    memory: Memory,
    question: str,
    gold: str | None,
    *,
    user_id: str,
    judge_llm: LLM | None = None,
    judges: bool = True,
) -> dict[str, Any]:
    """Answer ``question`` from ``memory`` and score it; one JSON-ready row for questions.jsonl."""
    assert memory.llm is not None
    row: dict[str, Any] = {"adversarial": gold is None}
    started = time.perf_counter()
    try:
        got = memory.answer(question, user_id=user_id, max_tokens=ANSWER_BUDGET)
    except LLMError as exc:
        row.update(
            text="", abstained=False, error=f"{type(exc).__name__}: {exc}", tokens=0, f1=0.0, bleu1=0.0,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )  # fmt: skip
        if gold is None:
            row["abstention_correct"] = 0.0
        else:
            row["judges"] = dict.fromkeys(judge.JUDGES, 0.0) if judges else {}
        return row
    row.update(
        text=got.text,
        abstained=got.abstained,
        citations=got.citations,
        model=got.model,
        prompt=got.prompt,
        tokens=got.tokens,
        latency_ms=round(got.latency_ms, 1),
    )
    if gold is None:
        row["abstention_correct"] = float(got.abstained)
        return row
    row["f1"] = round(token_f1(got.text, gold), 4)
    row["bleu1"] = round(bleu1(got.text, gold), 4)
    row["judges"] = {}
    if judges:
        grader = judge_llm or memory.llm
        for name, prompt in judge.JUDGES.items():
            try:
                verdict = generate(
                    grader, prompt, judge.messages(prompt, question, gold, got.text), max_tokens=20, item=question[:80]
                )
            except LLMError as exc:
                row["judges"][name] = 0.0
                row.setdefault("judge_errors", {})[name] = f"{type(exc).__name__}: {exc}"
                continue
            row["judges"][name] = 1.0 if verdict.value.verdict == "CORRECT" and not got.abstained else 0.0
            row["tokens"] += verdict.tokens
    return row


def summarise_answers(questions: Sequence[QuestionResult], llm_usage: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``answers`` block of summary.json (scored questions; adversarial ones apart)."""
    rows = [q.llm for q in questions if q.llm and q.scored and not q.llm.get("adversarial")]
    adversarial = [q.llm for q in questions if q.llm and q.llm.get("adversarial")]
    out: dict[str, Any] = {"n": len(rows)}
    if rows:
        out["f1"] = round(sum(r["f1"] for r in rows) / len(rows), 4)
        out["bleu1"] = round(sum(r["bleu1"] for r in rows) / len(rows), 4)
        for name in judge.JUDGES:
            graded = [r["judges"][name] for r in rows if name in r.get("judges", {})]
            if graded:
                out[f"judge_{name}"] = round(sum(graded) / len(graded), 4)
                out[f"judge_{name}_prompt"] = judge.JUDGES[name].id
        out["abstained"] = round(sum(1 for r in rows if r["abstained"]) / len(rows), 4)
        out["errors"] = sum(1 for r in rows if r.get("error"))
    every = rows + adversarial
    if adversarial:
        out["adversarial_n"] = len(adversarial)
        out["adversarial_abstention_accuracy"] = round(
            sum(r["abstention_correct"] for r in adversarial) / len(adversarial), 4
        )
    if every:
        out["tokens_per_question"] = round(sum(r["tokens"] for r in every) / len(every), 1)
        latency = [r["latency_ms"] for r in every]
        out["answer_ms_p50"] = round(percentile(latency, 50), 1)
        out["answer_ms_p95"] = round(percentile(latency, 95), 1)
    by_category: dict[str, list[float]] = {}
    for q in questions:
        if q.llm and "f1" in q.llm:
            by_category.setdefault(q.category, []).append(q.llm["f1"])
    out["f1_by_category"] = {c: round(sum(v) / len(v), 4) for c, v in by_category.items()}
    if llm_usage:
        out["llm_usage"] = llm_usage
    return out


def merge_usage(into: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """Add one memory's ledger summary (``Memory.stats()["llm"]``) into running per-purpose totals."""
    for purpose, row in summary.get("by_purpose", {}).items():
        total = into.setdefault(purpose, {})
        for key, value in row.items():
            if isinstance(value, int | float):
                total[key] = round(total.get(key, 0) + value, 6)
    return into
