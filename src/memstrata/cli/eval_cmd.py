"""``memstrata eval``: benchmarks from local files."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from memstrata.api.memory import Memory
from memstrata.cli.common import console, err_console, settings
from memstrata.config import MemoryConfig
from memstrata.errors import InvalidInputError

app = typer.Typer(help="Evaluate retrieval and context quality on LoCoMo / LongMemEval files.", no_args_is_help=True)


def _ints(value: str | None, what: str) -> list[int] | None:
    if not value:
        return None
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise InvalidInputError(f"--{what} expects comma-separated integers, got {value!r}") from None


@app.command()
def locomo(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="LoCoMo JSON file (locomo10.json layout)"),
    out: Path = typer.Option(Path("eval-out"), "--out", help="output folder"),
    conversations: str | None = typer.Option(None, "--conversations", help="sample indexes, e.g. 0,1"),
    categories: str = typer.Option("1,2,3,4,5", "--categories"),
    limit: int | None = typer.Option(None, "--limit", help="at most N questions"),
    no_baselines: bool = typer.Option(False, "--no-baselines", help="skip the BM25-only and dense-only runs"),
) -> None:
    """Replay each conversation into a fresh store and score retrieval per question."""
    from memstrata.eval.locomo import load_locomo
    from memstrata.eval.runner import evaluate_samples, summarise

    samples = load_locomo(data)
    chosen = _ints(conversations, "conversations")
    if chosen is not None:
        samples = [samples[i] for i in chosen if 0 <= i < len(samples)]
    cats = _ints(categories, "categories") or [1, 2, 3, 4, 5]
    opts = settings(ctx)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = MemoryConfig.from_env(
            store=f"sqlite:///{tmp}/eval.db", embedder=opts.embedder, sqlite_synchronous="NORMAL"
        )
        with (
            Memory(config=config) as memory,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
            ) as progress,
        ):
            tasks = {s.sample_id: progress.add_task(s.sample_id, total=None) for s in samples}

            def on_progress(sample_id: str, done: int, total: int) -> None:
                progress.update(tasks[sample_id], completed=done, total=total)

            result = evaluate_samples(
                memory, samples, categories=cats, limit=limit, baselines=not no_baselines, on_progress=on_progress
            )
            summary = summarise(result, extra={"embedder": memory.embedder.id})
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    with (out / "questions.jsonl").open("w") as handle:
        for q in result.questions:
            handle.write(json.dumps(q.__dict__, ensure_ascii=False) + "\n")
    overall = summary["overall"]
    console.print(
        f"{summary['n_questions']} questions: recall@10 {overall.get('recall@10', 0):.3f}, "
        f"recall@5 {overall.get('recall@5', 0):.3f}, "
        f"context coverage@1000 {overall.get('context_evidence_coverage@1000', 0):.3f}, "
        f"search p50 {overall.get('search_ms_p50', 0)} ms → {out}/summary.json"
    )
