"""Write an evaluation's outputs: ``summary.json``, ``questions.jsonl``, ``report.md`` and plots.

Plots need matplotlib (``pip install ".[eval]"``); without it the report is written
with a note in place of the figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from outcrop.config import MemoryConfig
from outcrop.errors import InvalidInputError, StoreError, install_hint
from outcrop.eval.runner import BUDGETS, METHOD, EvalResult

__all__ = ["LABELS", "OUTPUTS", "config_hash", "run_metadata", "writable_folder", "write_outputs"]

OUTPUTS = ("summary.json", "questions.jsonl", "report.md")

LABELS = {
    METHOD: "outcrop (default pipeline)",
    "turns": "outcrop, L0 turns only",
    "hybrid": "plain hybrid (RRF of BM25 and dense over turns)",
    "bm25": "BM25, turns",
    "dense": "dense, turns",
}
PLOTS = {
    "recall_at_k.png": "Turn-level evidence recall@k per method",
    "context_coverage.png": "Evidence coverage against packed-context tokens",
    "categories.png": "Recall@10 per category and method",
}


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def _git_sha() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def run_metadata(config: MemoryConfig, data: Path, command: Sequence[str]) -> dict[str, Any]:
    """Everything needed to reproduce a run: config (and its hash), data file digest, versions."""
    from outcrop import __version__

    effective = config.model_dump(mode="json")
    effective["store"] = "(a fresh SQLite file per case)"
    digest = hashlib.sha256()
    with data.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(command),
        "data": {"path": str(data), "sha256": digest.hexdigest()},
        "config": effective,
        "config_hash": config_hash(effective),
        "outcrop_version": __version__,
        "git": _git_sha(),
    }


def writable_folder(out: Path) -> None:
    """Refuse, before a run, an ``--out`` the outputs cannot be written into (a file, a path under
    a file, a folder not writable, an output name taken by a folder): the run used to end in a
    traceback after all its work, with some of the outputs written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError as exc:
        raise InvalidInputError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    taken = [name for name in (*OUTPUTS, *PLOTS) if (out / name).is_dir()]
    if taken:
        raise InvalidInputError(f"--out {out}: {taken[0]} is a folder")


def write_outputs(out: Path, result: EvalResult, summary: dict[str, Any], *, title: str) -> list[Path]:
    """Write every output file into ``out``; returns their paths. Each is written into a folder of
    its own in ``out`` first and then moved into place, ``report.md`` last: a write that fails (a
    full disk) leaves the outputs of an earlier run whole, never some cut short beside a complete
    summary, and is one :class:`~outcrop.errors.StoreError`."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=out))
    except OSError as exc:
        raise StoreError(f"cannot write the outputs into {out}: {exc.strerror or exc}") from None
    try:
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
        with (staging / "questions.jsonl").open("w", encoding="utf-8") as handle:
            for q in result.questions:
                handle.write(json.dumps(asdict(q), ensure_ascii=False) + "\n")
        plots, note = _plots(staging, summary)
        text = render_report(summary, title=title, plots=plots, plot_note=note)
        (staging / "report.md").write_text(text, encoding="utf-8")
        names = ["summary.json", "questions.jsonl", *(p.name for p in plots), "report.md"]
        for name in names:
            os.replace(staging / name, out / name)
    except OSError as exc:
        raise StoreError(f"cannot write the outputs into {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in names]


# -- markdown -----------------------------------------------------------------------------------
def _pct(value: Any) -> str:
    return f"{100 * value:.1f}" if isinstance(value, int | float) else "–"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_report(summary: dict[str, Any], *, title: str, plots: Sequence[Path] = (), plot_note: str = "") -> str:
    run = summary.get("run", {})
    overall, baselines = summary["overall"], summary.get("baselines", {})
    separate = summary.get("separate_categories", [])
    lines = [f"# outcrop evaluation: {title}", ""]
    lines += [
        f"- Date: {run.get('date', '–')}",
        f"- Command: `{run.get('command', '–')}`",
        f"- Data: `{run.get('data', {}).get('path', '–')}` (sha256 {run.get('data', {}).get('sha256', '–')[:16]}…): "
        f"{summary['n_cases']} cases, {summary['n_turns']} turns, {summary['n_questions']} scored questions"
        + (f", {summary['n_separate']} more reported separately ({', '.join(separate)})" if separate else ""),
        f"- Skipped: {summary['skipped_evidence_ids']} evidence ids that name no turn, "
        f"{summary['skipped_questions']} questions with no usable evidence; {summary['truncated_turns']} turns cut "
        "to max_text_chars",
        f"- outcrop {run.get('outcrop_version', '?')} (git {run.get('git') or 'n/a'}), "
        f"embedder `{summary.get('embedder', '?')}`, config hash `{run.get('config_hash', '–')}`",
        "",
        "Recall is turn-level: a retrieved item at any level counts for the L0 turns it derives from. "
        "All figures in this section and the next two are machine-independent; only the last section is not.",
        "",
        "## Retrieval (scored questions)",
        "",
    ]
    methods = [(METHOD, overall)] + [(m, baselines[m]) for m in ("turns", "hybrid", "bm25", "dense") if m in baselines]
    keys = ["recall@1", "recall@5", "recall@10", "recall@20", "hit@10", "ndcg@10"]
    lines += _table(
        ["method", "R@1", "R@5", "R@10", "R@20", "hit@10", "nDCG@10"],
        [[LABELS.get(m, m), *(_pct(block.get(k)) for k in keys)] for m, block in methods],
    )
    lines += [""]
    lines += _figure(plots, "recall_at_k.png")
    lines += ["## Packed context (`Memory.context`)", ""]
    rows = [
        [
            str(budget),
            f"{overall.get(f'context_tokens_mean@{budget}', 0):.0f}",
            _pct(overall.get(f"context_evidence_coverage@{budget}")),
            _pct(overall.get(f"context_answer_recall@{budget}")),
        ]
        for budget in BUDGETS
    ]
    if "context_evidence_coverage@1000" in baselines.get("turns", {}):
        turns = baselines["turns"]
        rows.append(
            [
                "1000, L0 turns only",
                "",
                _pct(turns["context_evidence_coverage@1000"]),
                _pct(turns["context_answer_recall@1000"]),
            ]
        )
    if "full-context" in baselines:
        full = baselines["full-context"]
        rows.append(
            [f"full context (every turn; max {full['tokens_max']:.0f})", f"{full['tokens_mean']:.0f}", "100.0", ""]
        )
    lines += _table(
        ["budget (tokens)", "tokens used, mean", "all evidence in context %", "answer tokens in context %"], rows
    )
    lines += [""]
    lines += _figure(plots, "context_coverage.png")
    lines += ["## Per category", ""]
    by_base = summary.get("baselines_by_category", {})
    rows = []
    for name, block in summary["categories"].items():
        label = f"{name} (separate)" if name in separate else name
        row = [label, str(block.get("n", 0))]
        row += [_pct(block.get(k)) for k in ("recall@5", "recall@10", "recall@20", "ndcg@10")]
        row += [_pct(block.get("context_evidence_coverage@1000")), _pct(block.get("context_answer_recall@1000"))]
        row += [_pct(by_base.get(m, {}).get(name, {}).get("recall@10")) for m in ("turns", "hybrid", "bm25", "dense")]
        rows.append(row)
    header = ["category", "n", "R@5", "R@10", "R@20", "nDCG@10", "coverage@1000", "answer@1000"]
    header += ["R@10 turns only", "R@10 plain hybrid", "R@10 BM25", "R@10 dense"]
    lines += _table(header, rows)
    lines += [""]
    lines += _figure(plots, "categories.png")
    if plot_note:
        lines += [f"_{plot_note}_", ""]
    lines += ["## Speed (this machine; not comparable across machines)", ""]
    lines += _table(
        ["search p50 ms", "search p95 ms", "context@1000 p50 ms", "p95 ms", "ingest s", "questions s", "CPU s"],
        [
            [
                str(overall.get("search_ms_p50", "–")),
                str(overall.get("search_ms_p95", "–")),
                str(overall.get("context_ms_p50", "–")),
                str(overall.get("context_ms_p95", "–")),
                str(summary.get("ingest_seconds", "–")),
                str(summary.get("ask_seconds", "–")),
                " + ".join(f"{v} {k}" for k, v in summary.get("cpu_seconds", {}).items()) or "–",
            ]
        ],
    )
    lines += [
        "",
        "_Ingest and questions: wall seconds summed over cases (with `--jobs`, cases overlap); CPU: process"
        " CPU seconds by phase, comparable on a busy machine._",
    ]
    lines += ["", "## Config", "", "```json", json.dumps(run.get("config", {}), indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _figure(plots: Sequence[Path], name: str) -> list[str]:
    return [f"![{PLOTS[name]}]({name})", ""] if any(p.name == name for p in plots) else []


# -- plots --------------------------------------------------------------------------------------
def _plots(out: Path, summary: dict[str, Any]) -> tuple[list[Path], str]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return [], "Plots skipped: matplotlib is not installed (" + install_hint("eval") + ")."

    def save(figure: Any, name: str) -> Path:
        FigureCanvasAgg(figure)
        figure.tight_layout()
        path = out / name
        figure.savefig(path, dpi=110)
        return path

    written = []
    curves = summary.get("curves", {})
    if curves:
        figure = Figure(figsize=(6.4, 4.2))
        ax = figure.add_subplot()
        for method, curve in curves.items():
            ks = [int(k) for k in curve]
            ax.plot(ks, [100 * v for v in curve.values()], marker="o", label=LABELS.get(method, method))
        ax.set(xlabel="k (items retrieved)", ylabel="evidence recall@k (%)", title=PLOTS["recall_at_k.png"])
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        written.append(save(figure, "recall_at_k.png"))

    overall, baselines = summary["overall"], summary.get("baselines", {})
    if "context_evidence_coverage@1000" in overall:
        figure = Figure(figsize=(6.4, 4.2))
        ax = figure.add_subplot()
        tokens = [overall.get(f"context_tokens_mean@{b}", b) or b for b in BUDGETS]
        ax.plot(
            tokens,
            [100 * overall[f"context_evidence_coverage@{b}"] for b in BUDGETS],
            marker="o",
            label="outcrop: all evidence in context",
        )
        ax.plot(
            tokens,
            [100 * overall[f"context_answer_recall@{b}"] for b in BUDGETS],
            marker="s",
            linestyle="--",
            label="outcrop: answer tokens in context",
        )
        for budget, x in zip(BUDGETS, tokens, strict=True):
            ax.annotate(
                f"{budget}",
                (x, 100 * overall[f"context_evidence_coverage@{budget}"]),
                textcoords="offset points",
                xytext=(0, 6),
                fontsize=7,
                ha="center",
            )
        turns = baselines.get("turns", {})
        if "context_evidence_coverage@1000" in turns:
            ax.scatter(
                [overall.get("context_tokens_mean@1000", 1000)],
                [100 * turns["context_evidence_coverage@1000"]],
                marker="x",
                color="black",
                zorder=3,
                label="L0 turns only, 1000-token budget",
            )
        if "full-context" in baselines:
            ax.scatter(
                [baselines["full-context"]["tokens_mean"]],
                [100.0],
                marker="*",
                s=90,
                color="tab:red",
                zorder=3,
                label="full context (every turn)",
            )
        ax.set_xscale("log")
        ax.set(xlabel="context tokens (mean, log scale)", ylabel="% of questions", title=PLOTS["context_coverage.png"])
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        written.append(save(figure, "context_coverage.png"))

    categories = summary.get("categories", {})
    if categories:
        figure = Figure(figsize=(7.2, 4.2))
        ax = figure.add_subplot()
        names = list(categories)
        methods = [(METHOD, {n: categories[n] for n in names})]
        methods += [
            (m, summary.get("baselines_by_category", {}).get(m, {})) for m in ("turns", "hybrid", "bm25", "dense")
        ]
        methods = [(m, blocks) for m, blocks in methods if blocks]
        width = 0.8 / max(1, len(methods))
        for i, (method, blocks) in enumerate(methods):
            xs = [j + (i - (len(methods) - 1) / 2) * width for j in range(len(names))]
            ax.bar(
                xs,
                [100 * blocks.get(n, {}).get("recall@10", 0.0) for n in names],
                width,
                label=LABELS.get(method, method),
            )
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
        ax.set(ylabel="evidence recall@10 (%)", title=PLOTS["categories.png"])
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
        written.append(save(figure, "categories.png"))
    return written, ""
