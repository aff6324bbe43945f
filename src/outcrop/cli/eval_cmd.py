"""``outcrop eval``: benchmarks from local files, each case replayed into a fresh store."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from outcrop.cli.common import console, err_console, plain, settings
from outcrop.config import MemoryConfig
from outcrop.errors import InvalidInputError
from outcrop.eval.cases import EvalCase

if TYPE_CHECKING:
    from outcrop.eval.locomo import LocomoSample

app = typer.Typer(help="Evaluate retrieval and context quality on LoCoMo / LongMemEval files.", no_args_is_help=True)

# The options every benchmark command takes.
OUT = typer.Option(Path("eval-out"), "--out", help="output folder: summary.json, questions.jsonl, report.md, *.png")
CONFIG = typer.Option(
    None, "--config", help="JSON/TOML MemoryConfig file (retrieval, strata, embedder); its store is ignored"
)
NO_BASELINES = typer.Option(False, "--no-baselines", help="skip the BM25, dense and turns-only runs")
KEEP_STORES = typer.Option(False, "--keep-stores", help="keep each case's SQLite file in OUT/stores")
JOBS = typer.Option(
    0,
    "--jobs",
    "-j",
    help="cases run in parallel worker processes (0: one per CPU, at most 4); figures do not depend on it",
)
RAY = typer.Option(
    None,
    "--ray",
    metavar="auto|local|ADDRESS",
    help="run each case as a Ray task instead of --jobs: auto (this machine's cluster, or a local one),"
    " local, or a cluster address; figures do not depend on it",
)


def _ints(value: str | None, what: str) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise InvalidInputError(f"--{what} expects comma-separated integers, got {value!r}") from None


def _config(ctx: typer.Context, config_file: Path | None) -> MemoryConfig:
    """``--config`` here, else the global ``--config``/``OUTCROP_CONFIG``; the global ``--embedder``
    wins. Stores are throwaway, so they skip fsync (``sqlite_synchronous=NORMAL``)."""
    opts = settings(ctx)
    file = str(config_file) if config_file else opts.config_file
    if file:
        return MemoryConfig.from_file(file, embedder=opts.embedder, sqlite_synchronous="NORMAL")
    return MemoryConfig.from_env(embedder=opts.embedder, sqlite_synchronous="NORMAL")


@dataclass(frozen=True)
class _Run:
    """What every benchmark command was asked for, beside its data."""

    out: Path
    config_file: Path | None
    limit: int | None
    baselines: bool
    keep_stores: bool
    jobs: int
    ray: str | None = None


class _Bars:
    """Rich progress: one bar per case (LoCoMo conversations), or one bar over all cases. A case id
    comes from the data file, so it is shown escaped (:func:`_label`)."""

    def __init__(self, progress: Progress, cases: int, per_case: bool) -> None:
        self.progress = progress
        self.per_case = per_case
        self.tasks: dict[str, TaskID] = {}
        self.overall = None if per_case else progress.add_task("questions", total=cases)

    def start(self, case_id: str, questions: int) -> None:
        if self.per_case:
            self.tasks[case_id] = self.progress.add_task(f"{_label(case_id)} replaying", total=questions)
        elif self.overall is not None:
            self.progress.update(self.overall, description=f"{_label(case_id)} replaying")

    def advance(self, case_id: str, done: int) -> None:
        if case_id in self.tasks:
            self.progress.update(self.tasks[case_id], completed=done, description=_label(case_id))
        elif self.overall is not None:
            self.progress.update(self.overall, description=f"{_label(case_id)} asking")

    def finish(self, case_id: str) -> None:
        if self.overall is not None:
            self.progress.advance(self.overall)


def _label(case_id: str) -> str:
    """``case_id`` as a bar's description: control characters written as ``\\x1b`` (an escape
    sequence in a sample id drove the terminal) and console markup escaped (``[/x]`` in one ended
    the run in a MarkupError traceback)."""
    return escape(plain(case_id))


def _run(
    ctx: typer.Context,
    run: _Run,
    *,
    dataset: str,
    title: str,
    data: Path,
    cases: Sequence[EvalCase],
    categories: Sequence[str],
    per_case: bool,
    answers: bool = True,
) -> None:
    from outcrop.eval.report import run_metadata, writable_folder, write_outputs
    from outcrop.eval.runner import evaluate_cases
    from outcrop.eval.summary import summarise

    out, limit, keep_stores, jobs = run.out, run.limit, run.keep_stores, run.jobs
    if limit is not None and limit < 1:
        raise InvalidInputError("--limit must be at least 1")
    if jobs < 0:
        raise InvalidInputError("--jobs must be 0 (auto) or more")
    jobs = jobs or min(4, os.cpu_count() or 1)
    config = _config(ctx, run.config_file)
    if not any(c.questions for c in cases):
        raise InvalidInputError(f"{data}: no question (of those chosen) names an evidence turn: nothing to score")
    writable_folder(out)  # before the run, not after its work
    meta = run_metadata(config, data, ["outcrop", *(shlex.quote(a) for a in sys.argv[1:])])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with tempfile.TemporaryDirectory(prefix="outcrop-eval-") as tmp, Progress(*columns, console=err_console) as bar:
        workdir = out / "stores" if keep_stores else Path(tmp)
        sink = _Bars(bar, sum(1 for c in cases if c.questions), per_case)
        result = evaluate_cases(
            cases,
            config=config,
            workdir=workdir,
            limit=limit,
            baselines=run.baselines,
            keep_stores=keep_stores,
            jobs=jobs,
            progress=sink,
            answers=answers,
            ray=run.ray,
        )
    summary = summarise(result, dataset=dataset, categories=categories, extra={"run": meta})
    write_outputs(out, result, summary, title=title)
    overall = summary["overall"]
    console.print(
        f"{summary['n_questions']} questions ({summary['n_separate']} more reported separately): "
        f"recall@10 {overall.get('recall@10', 0):.3f}, recall@5 {overall.get('recall@5', 0):.3f}, "
        f"context coverage@1000 {overall.get('context_evidence_coverage@1000', 0):.3f}, "
        f"search p50 {overall.get('search_ms_p50', 0)} ms → {out}/report.md"
    )
    if scored := summary.get("answers"):  # an LLM answered each question (eval/answers.py)
        console.print(
            f"answers: F1 {scored.get('f1', 0):.3f}, BLEU-1 {scored.get('bleu1', 0):.3f}, "
            f"judge lenient {scored.get('judge_lenient', 0):.3f} / strict {scored.get('judge_strict', 0):.3f}, "
            f"adversarial abstention {scored.get('adversarial_abstention_accuracy', 0):.3f}, "
            f"{scored.get('tokens_per_question', 0):.0f} tokens/question, p50 {scored.get('answer_ms_p50', 0)} ms"
        )


def _chosen_samples(samples: Sequence[LocomoSample], conversations: str) -> list[LocomoSample]:
    """The samples ``--conversations`` names, by index or sample id. Naming none (``""``, ``,,,``)
    is refused: it ran every conversation, or none with a misleading "nothing to score"."""
    tokens = [t.strip() for t in conversations.split(",") if t.strip()]
    if not tokens:
        raise InvalidInputError(
            "--conversations: no conversation named (give indexes or sample ids, e.g. 0,1 or conv-26)"
        )
    by_id = {s.sample_id: s for s in samples}
    chosen: dict[str, LocomoSample] = {}
    for token in tokens:
        if token in by_id:
            sample = by_id[token]
        elif token.isdigit() and int(token) < len(samples):
            sample = samples[int(token)]
        else:
            raise InvalidInputError(f"--conversations: no conversation {token!r} (0..{len(samples) - 1} or an id)")
        if sample.sample_id in chosen:  # it ran twice, and its questions counted twice
            raise InvalidInputError(f"--conversations: {token!r} names {sample.sample_id!r} again")
        chosen[sample.sample_id] = sample
    return list(chosen.values())


@app.command()
def locomo(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="LoCoMo JSON file (locomo10.json layout)"),
    out: Path = OUT,
    conversations: str | None = typer.Option(
        None, "--conversations", help="conversations to run: indexes or sample ids, e.g. 0,1 or conv-26"
    ),
    categories: str = typer.Option(
        "1,2,3,4,5", "--categories", help="1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop, 5 adversarial"
    ),
    limit: int | None = typer.Option(None, "--limit", help="at most N questions in all"),
    config_file: Path | None = CONFIG,
    no_baselines: bool = NO_BASELINES,
    keep_stores: bool = KEEP_STORES,
    jobs: int = JOBS,
    ray: str | None = RAY,
    no_answers: bool = typer.Option(False, "--no-answers", help="with an LLM configured: skip answering/judging"),
) -> None:
    """Replay each conversation into a fresh store; score every question's retrieval and context.
    With an LLM configured (llm.base_url, llm.model), also answer each question and score the answers.

    Overall figures are over categories 1-4; adversarial questions (5) are reported separately.
    """
    from outcrop.eval.locomo import CATEGORIES, load_locomo, locomo_cases

    samples = load_locomo(data)
    if conversations is not None:
        samples = _chosen_samples(samples, conversations)
    cats = _ints(categories, "categories") or [1, 2, 3, 4, 5]
    if unknown := [c for c in cats if c not in CATEGORIES]:
        raise InvalidInputError(f"--categories: unknown {unknown}; LoCoMo categories are 1-5")
    _run(
        ctx,
        _Run(out, config_file, limit, not no_baselines, keep_stores, jobs, ray),
        dataset="locomo",
        title="LoCoMo",
        data=data,
        cases=locomo_cases(samples, cats),
        categories=list(CATEGORIES.values()),
        per_case=True,
        answers=not no_answers,
    )


@app.command()
def longmemeval(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="LongMemEval JSON file (longmemeval_s/_m/_oracle layout)"),
    out: Path = OUT,
    types: str | None = typer.Option(
        None, "--types", help="question types to run, e.g. multi-session,temporal-reasoning (abstention: _abs ids)"
    ),
    limit: int | None = typer.Option(None, "--limit", help="at most N questions"),
    config_file: Path | None = CONFIG,
    no_baselines: bool = NO_BASELINES,
    keep_stores: bool = KEEP_STORES,
    jobs: int = JOBS,
    ray: str | None = RAY,
) -> None:
    """Replay each question's own haystack into a fresh store and score its retrieval and context.

    Evidence is the turns marked has_answer (session-level via answer_session_ids when none is
    marked). Overall figures leave out abstention questions, which are reported separately.
    """
    from outcrop.eval.longmemeval import ABSTENTION, QUESTION_TYPES, load_longmemeval

    wanted = [t.strip() for t in types.split(",") if t.strip()] if types else None
    if wanted and (unknown := [t for t in wanted if t not in (*QUESTION_TYPES, ABSTENTION)]):
        raise InvalidInputError(f"--types: unknown {unknown}; types: {', '.join((*QUESTION_TYPES, ABSTENTION))}")
    _run(
        ctx,
        _Run(out, config_file, limit, not no_baselines, keep_stores, jobs, ray),
        dataset="longmemeval",
        title="LongMemEval",
        data=data,
        cases=load_longmemeval(data, types=wanted),
        categories=[*QUESTION_TYPES, ABSTENTION],
        per_case=False,
    )
