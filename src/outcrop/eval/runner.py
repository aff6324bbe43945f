"""Replay benchmark haystacks into memory and score retrieval and packed contexts.

Everything goes through the public :class:`~outcrop.Memory` API, so the figures are what
users get. Each case (a LoCoMo conversation, a LongMemEval question) is replayed into a fresh
SQLite file: BM25 statistics are table-wide, so a shared store would make one conversation's
figures depend on the others.

Recall is turn-level: a retrieved item at any level counts for the L0 turns it derives from,
followed through ``Hit.sources`` (and the sources of those sources) down to the turns.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from outcrop import Embedder
from outcrop.api.memory import Memory
from outcrop.config import MemoryConfig
from outcrop.core.ids import reproducible_ids
from outcrop.core.text import estimate_tokens, words
from outcrop.core.types import Hit, Level
from outcrop.errors import InvalidInputError, NotFoundError
from outcrop.eval.answers import merge_usage, score_answer
from outcrop.eval.cases import EvalCase, EvalQuestion
from outcrop.eval.metrics import hit_at, ndcg_at, recall_at
from outcrop.eval.workers import in_workers as _in_workers
from outcrop.eval.workers import on_ray as _on_ray

__all__ = [
    "BASELINES",
    "BUDGETS",
    "CURVE_KS",
    "KS",
    "EvalResult",
    "ProgressSink",
    "QuestionResult",
    "case_store",
    "evaluate_cases",
]

KS = (1, 5, 10, 20)
CURVE_KS = (1, 2, 3, 5, 7, 10, 15, 20)
BUDGETS = (256, 512, 1000, 2000)
TURNS_ONLY = {"level": "turn"}
# baseline name → the retrieval recipe it measures (outcrop.retrieve.recipes); each searches L0 turns only
BASELINES: dict[str, str] = {"bm25": "bm25", "dense": "dense", "turns": "turns", "hybrid": "plain-hybrid"}
METHOD = "outcrop"


@dataclass
class QuestionResult:
    id: str
    case_id: str
    question: str
    answer: str | None
    category: str
    scored: bool
    evidence: list[str]
    evidence_level: str
    retrieved: list[dict[str, Any]]
    metrics: dict[str, float]
    curves: dict[str, dict[str, float]] = field(default_factory=dict)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline_retrieved: dict[str, list[list[str]]] = field(default_factory=dict)
    context: dict[str, dict[str, Any]] = field(default_factory=dict)
    search_ms: float = 0.0
    context_ms: float = 0.0  # the context at 1000 tokens (the default budget), computed in full
    llm: dict[str, Any] = field(default_factory=dict)  # answer scores, with an LLM (eval/answers.py)


@dataclass
class EvalResult:
    questions: list[QuestionResult] = field(default_factory=list)
    full_context_tokens: list[int] = field(default_factory=list)  # one per case: every turn
    cases: int = 0
    turns: int = 0
    skipped_evidence: int = 0
    skipped_questions: int = 0
    truncated_turns: int = 0
    ingest_seconds: float = 0.0  # wall time replaying the cases (summed over cases)
    ask_seconds: float = 0.0  # wall time asking their questions, baselines included
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # process CPU by phase: "ingest", "ask"
    embedder: str = ""
    llm_usage: dict[str, Any] = field(default_factory=dict)  # LLM ledger totals per purpose


class ProgressSink(Protocol):
    """Told about each case as it is replayed and asked."""

    def start(self, case_id: str, questions: int) -> None: ...

    def advance(self, case_id: str, done: int) -> None: ...

    def finish(self, case_id: str) -> None: ...


def case_store(workdir: Path, number: int) -> Path:
    """The SQLite file case ``number`` is replayed into."""
    return workdir / f"case-{number:05d}.db"


def evaluate_cases(
    cases: Sequence[EvalCase],
    *,
    config: MemoryConfig,
    workdir: Path,
    embedder: Embedder | None = None,
    limit: int | None = None,
    baselines: bool = True,
    keep_stores: bool = False,
    jobs: int = 1,
    progress: ProgressSink | None = None,
    answers: bool = True,
    judges: bool = True,
    ray: str | None = None,
) -> EvalResult:
    """Replay each case into ``workdir/case-<n>.db`` (a fresh store) and ask its questions.

    ``config.store`` is ignored; ``limit`` caps the number of questions over all cases (the first
    ones, in order). ``jobs > 1`` runs cases in that many worker processes (each loads the
    embedder named by ``config.embedder``); results are merged in case order, so the figures do
    not depend on ``jobs``. ``ray`` (a cluster, :func:`outcrop.distributed.connect`) runs each
    case as a Ray task instead, with the same figures; ``jobs`` is then ignored.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    plan: list[tuple[int, EvalCase, list[EvalQuestion]]] = []
    asked = 0
    considered = list(cases)  # the cases the run reads: all, or those up to the limit's
    for number, case in enumerate(cases):
        questions = list(case.questions)
        if limit is not None:
            questions = questions[: max(0, limit - asked)]
        asked += len(questions)
        if questions:
            plan.append((number, case, questions))
        if limit is not None and asked >= limit:
            considered = list(cases[: number + 1])
            break
    # a case none of whose questions can be scored is not run; its skipped questions and
    # evidence ids still count (they used to be dropped from the report's figures)
    skipped = sum(c.skipped_questions for c in considered)
    earlier = [db for number, _, _ in plan if (db := case_store(workdir, number)).exists()]
    if earlier:  # its replay would meet its own log ids, after the other cases' work (a kept run's folder)
        more = f" and {len(earlier) - 1} more" if len(earlier) > 1 else ""
        raise InvalidInputError(
            f"{earlier[0]}{more}: stores of an earlier run; each case is replayed into a fresh one:"
            f" remove the case-*.db files in {workdir}, or write into another folder (eval's --out)"
        )
    task = _CaseTask(config, workdir, baselines, keep_stores, answers, judges)
    if ray is not None:
        parts = _on_ray(task, plan, ray, progress)
    elif jobs > 1 and len(plan) > 1:
        parts = _in_workers(task, plan, jobs, progress)
    else:
        parts = []
        for number, case, questions in plan:
            part = task.run(number, case, questions, embedder, progress)
            embedder = part.loaded  # the model is loaded once and shared by every case
            parts.append(part)
    result = EvalResult(skipped_questions=skipped)
    result.skipped_evidence = sum(c.skipped_question_evidence for c in considered)
    for part in parts:
        result.questions += part.questions
        result.full_context_tokens += part.full_context_tokens
        result.cases += part.cases
        result.turns += part.turns
        result.skipped_evidence += part.skipped_evidence
        result.truncated_turns += part.truncated_turns
        result.ingest_seconds += part.ingest_seconds
        result.ask_seconds += part.ask_seconds
        for phase, seconds in part.cpu_seconds.items():
            result.cpu_seconds[phase] = result.cpu_seconds.get(phase, 0.0) + seconds
        result.embedder = part.embedder
        merge_usage(result.llm_usage, {"by_purpose": part.llm_usage})
    return result


@dataclass
class _CaseResult(EvalResult):
    loaded: Embedder | None = None  # not sent back from worker processes

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "loaded": None}


@dataclass
class _CaseTask:
    config: MemoryConfig
    workdir: Path
    baselines: bool
    keep_stores: bool
    answers: bool = True  # with an LLM configured: answer and score each question
    judges: bool = True  # ... and grade each answer with the two judge prompts

    def run(
        self,
        number: int,
        case: EvalCase,
        questions: list[EvalQuestion],
        embedder: Embedder | None,
        progress: ProgressSink | None,
    ) -> _CaseResult:
        result = _CaseResult(cases=1)
        db = case_store(self.workdir, number)
        # Asking must not change the memory: reads are not counted as accesses (they would slow
        # the fading of what earlier questions retrieved, and each figure would depend on the order).
        settings = self.config.model_dump()
        settings["retrieval"]["track_access"] = False
        case_config = MemoryConfig.build({**settings, "store": f"sqlite:///{db}"})
        if progress:
            progress.start(case.case_id, len(questions))
        # ids from a counter: ties broken by id, and derived ids hashed from turn ids, are the same
        # in every run (with clock-made ids a tie could fall either way from one run to the next)
        with reproducible_ids(), Memory(config=case_config, embedder=embedder) as memory:
            result.loaded = memory.embedder
            result.embedder = memory.embedder.id
            replay = _replay(memory, case, result)
            started, cpu = time.perf_counter(), time.process_time()
            for done, question in enumerate(questions, start=1):
                result.questions.append(_ask(memory, case, question, replay, self.baselines))
                if self.answers and memory.llm is not None:
                    result.questions[-1].llm = score_answer(
                        memory, question.question, question.answer, user_id=case.case_id, judges=self.judges
                    )
                result.skipped_evidence += len(question.skipped_evidence)
                if progress:
                    progress.advance(case.case_id, done)
            result.ask_seconds += time.perf_counter() - started
            _add_cpu(result, "ask", time.process_time() - cpu)
            if memory.llm is not None:
                merge_usage(result.llm_usage, memory.llm.ledger.summary())
        if not self.keep_stores:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        if progress:
            progress.finish(case.case_id)
        return result


class _Provenance:
    """Maps any item, at any level, to the evidence keys of the L0 turns it derives from."""

    def __init__(self, memory: Memory, user_id: str, keys_of: dict[str, list[str]]) -> None:
        self.memory = memory
        self.user_id = user_id
        self.keys_of = keys_of  # turn item ids and their log ids → keys
        self.memo: dict[str, list[str]] = {}

    def of_hit(self, hit: Hit) -> list[str]:
        if hit.id in self.keys_of:
            return self.keys_of[hit.id]
        return self._from(hit.sources, 0)

    def _from(self, sources: Sequence[str], depth: int) -> list[str]:
        keys: dict[str, None] = {}
        for source in sources:
            keys.update(dict.fromkeys(self._item(source, depth)))
        return list(keys)

    def _item(self, item_id: str, depth: int) -> list[str]:
        if item_id in self.keys_of:
            return self.keys_of[item_id]
        if item_id in self.memo or depth > 8:
            return self.memo.get(item_id, [])
        self.memo[item_id] = []  # guards against cycles while resolving
        try:
            item = self.memory.get(item_id, user_id=self.user_id)
        except NotFoundError:
            return []
        self.memo[item_id] = self._from(item.sources, depth + 1)
        return self.memo[item_id]


@dataclass
class _Replay:
    provenance: _Provenance
    session_of: dict[str, str]


def _replay(memory: Memory, case: EvalCase, result: EvalResult) -> _Replay:
    """Add every session with its real timestamp; map turn ids (and their log ids) to keys."""
    limit = memory.config.max_text_chars
    keys_of: dict[str, list[str]] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for session in case.sessions:
        messages = []
        for message in session.messages:
            if len(message["content"]) > limit:  # an oversized turn is cut, not dropped, and counted
                message = {**message, "content": message["content"][:limit]}
                result.truncated_turns += 1
            messages.append(message)
        ids = memory.add(messages, user_id=case.case_id, session_id=session.session_id, timestamp=session.timestamp)
        for item_id, key in zip(ids, session.keys, strict=True):
            keys_of.setdefault(item_id, [])
            if key not in keys_of[item_id]:
                keys_of[item_id].append(key)
    memory.wait_for_strata()  # strata.mode deferred: search what a caught-up memory holds (its time counts)
    result.ingest_seconds += time.perf_counter() - started
    _add_cpu(result, "ingest", time.process_time() - cpu)
    tokens, offset = 0, 0
    while True:
        page = memory.list(user_id=case.case_id, level=Level.TURN, limit=10_000, offset=offset)
        for turn in page:
            tokens += estimate_tokens(turn.text)
            for source in turn.sources:
                keys_of.setdefault(source, keys_of.get(turn.id, []))
        offset += len(page)
        if len(page) < 10_000:
            break
    result.full_context_tokens.append(tokens)
    result.turns += offset
    return _Replay(_Provenance(memory, case.case_id, keys_of), case.session_of())


def _add_cpu(result: EvalResult, phase: str, seconds: float) -> None:
    """CPU time of this process (all its threads) in ``phase``: comparable on a loaded machine."""
    result.cpu_seconds[phase] = result.cpu_seconds.get(phase, 0.0) + seconds


def _units(hit_keys: list[str], q: EvalQuestion, replay: _Replay) -> list[str]:
    """A hit's evidence units: its turn keys, or their sessions for session-level evidence."""
    if q.evidence_level == "turn":
        return hit_keys
    return list(dict.fromkeys(replay.session_of[k] for k in hit_keys if k in replay.session_of))


def _retrieval_metrics(unit_lists: Sequence[Sequence[str]], evidence: Sequence[str]) -> dict[str, float]:
    metrics = {f"recall@{k}": recall_at(unit_lists, evidence, k) for k in KS}
    metrics["hit@10"] = hit_at(unit_lists, evidence, 10)
    metrics["ndcg@10"] = ndcg_at(unit_lists, evidence, 10)
    return metrics


def _curve(unit_lists: Sequence[Sequence[str]], evidence: Sequence[str]) -> dict[str, float]:
    return {str(k): round(recall_at(unit_lists, evidence, k), 4) for k in CURVE_KS}


_REFERENCE = re.compile(r"^\[\d+\]", re.MULTILINE)


def answer_recall(answer: str | None, text: str) -> float:
    """Share of the answer's word tokens that occur in ``text`` (a context's line references,
    ``[7]``, are not its words: they would credit "7 May")."""
    wanted = set(words(answer or ""))
    if not wanted:
        return 0.0
    return len(wanted & set(words(_REFERENCE.sub("", text)))) / len(wanted)


def _ask(memory: Memory, case: EvalCase, q: EvalQuestion, replay: _Replay, baselines: bool) -> QuestionResult:
    """Score one question: the full search, packed contexts at every budget, the baselines.

    All of them ask the same text of an unchanging store, so channel rankings and the query vector
    are shared between them (:meth:`Memory.reusing_reads`; every figure is what each call returns alone).
    The two timed calls, the search and the context at 1000 tokens, run first and in full."""
    with memory.reusing_reads(serving=False) as reuse:
        result = _search(memory, case, q, replay)
        started = time.perf_counter()
        _context(memory, case, q, replay, result, 1000)
        result.context_ms = (time.perf_counter() - started) * 1000
        reuse.serving = True
        for budget in BUDGETS:
            if str(budget) not in result.context:
                _context(memory, case, q, replay, result, budget)
        _in_budget_order(result)
        if baselines:
            _baselines(memory, case, q, replay, result)
    return result


def _in_budget_order(result: QuestionResult) -> None:
    """Context figures listed by budget, whichever budget was computed first."""
    result.context = {str(b): result.context[str(b)] for b in BUDGETS}
    budgets = [f"context_{m}@{b}" for b in BUDGETS for m in ("evidence_coverage", "answer_recall")]
    rest = {k: v for k, v in result.metrics.items() if k not in budgets}
    result.metrics = {**rest, **{k: result.metrics[k] for k in budgets}}


def _search(memory: Memory, case: EvalCase, q: EvalQuestion, replay: _Replay) -> QuestionResult:
    started = time.perf_counter()
    hits = memory.search(q.question, user_id=case.case_id, limit=max(KS))
    search_ms = (time.perf_counter() - started) * 1000
    turn_lists = [replay.provenance.of_hit(h) for h in hits]
    unit_lists = [_units(t, q, replay) for t in turn_lists]
    return QuestionResult(
        id=q.id,
        case_id=case.case_id,
        question=q.question,
        answer=q.answer,
        category=q.category,
        scored=q.scored,
        evidence=list(q.evidence),
        evidence_level=q.evidence_level,
        retrieved=[
            {"rank": rank, "id": h.id, "level": h.level.value, "score": round(h.score, 6), "turns": turns}
            for rank, (h, turns) in enumerate(zip(hits, turn_lists, strict=True), start=1)
        ],
        metrics=_retrieval_metrics(unit_lists, q.evidence),
        curves={METHOD: _curve(unit_lists, q.evidence)},
        search_ms=search_ms,
    )


def _context(
    memory: Memory, case: EvalCase, q: EvalQuestion, replay: _Replay, result: QuestionResult, budget: int
) -> None:
    context = memory.context(q.question, user_id=case.case_id, max_tokens=budget)
    covered = {u for h in context.items for u in _units(replay.provenance.of_hit(h), q, replay)}
    metrics = result.metrics
    metrics[f"context_evidence_coverage@{budget}"] = float(set(q.evidence) <= covered)
    metrics[f"context_answer_recall@{budget}"] = answer_recall(q.answer, context.text)
    row: dict[str, Any] = {"tokens": context.tokens, "items": [h.id for h in context.items]}
    for flag in ("confidence", "answerable", "complete"):  # the confidence gate, when present
        if hasattr(context, flag):
            row[flag] = getattr(context, flag)
    result.context[str(budget)] = row


def _baselines(memory: Memory, case: EvalCase, q: EvalQuestion, replay: _Replay, result: QuestionResult) -> None:
    user = case.case_id
    for name, recipe in BASELINES.items():
        base = memory.search(q.question, user_id=user, limit=max(KS), recipe=recipe)
        base_units = [_units(replay.provenance.of_hit(h), q, replay) for h in base]
        result.baselines[name] = _retrieval_metrics(base_units, q.evidence)
        result.curves[name] = _curve(base_units, q.evidence)
        result.baseline_retrieved[name] = base_units
    context = memory.context(q.question, user_id=user, max_tokens=1000, filters=TURNS_ONLY)
    covered = {u for h in context.items for u in _units(replay.provenance.of_hit(h), q, replay)}
    result.baselines["turns"]["context_evidence_coverage@1000"] = float(set(q.evidence) <= covered)
    result.baselines["turns"]["context_answer_recall@1000"] = answer_recall(q.answer, context.text)
