"""The runner: provenance down to L0 turns, determinism, and the written report."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from outcrop import Hit, InvalidInputError, Item, Level, MemoryConfig, NotFoundError, Scope
from outcrop.eval.cases import EvalCase, EvalSession
from outcrop.eval.locomo import load_locomo, locomo_cases
from outcrop.eval.longmemeval import load_longmemeval
from outcrop.eval.report import write_outputs
from outcrop.eval.runner import _Provenance, answer_recall, evaluate_cases
from outcrop.eval.summary import TIMING_KEYS, quality_figures, summarise
from outcrop.providers import Embedder


class _Items:
    """Just enough of ``Memory.get`` for provenance: items by id, derived ones pointing at sources."""

    def __init__(self, items: dict[str, list[str]]) -> None:
        self.items = items
        self.calls: list[str] = []

    def get(self, item_id: str, *, user_id: str | None = None) -> Item:
        self.calls.append(item_id)
        if item_id not in self.items:
            raise NotFoundError(f"no memory item {item_id!r}")
        return Item(id=item_id, level=Level.FACT, scope=Scope(user_id=user_id), text="x", sources=self.items[item_id])


def _hit(item_id: str, level: Level, sources: list[str]) -> Hit:
    return Hit(id=item_id, text="x", score=1.0, level=level, sources=sources)


def test_any_level_counts_for_the_turns_it_derives_from() -> None:
    keys_of = {"t1": ["D1:1"], "l1": ["D1:1"], "t2": ["D1:2"], "l2": ["D1:2"], "t3": ["D2:1"]}
    store = _Items({"f1": ["t1"], "f2": ["l2", "t3"], "e1": ["f1", "f2", "missing"], "c1": ["c2"], "c2": ["c1", "t1"]})
    provenance = _Provenance(store, "u", keys_of)  # type: ignore[arg-type]
    assert provenance.of_hit(_hit("t2", Level.TURN, ["l2"])) == ["D1:2"]
    assert provenance.of_hit(_hit("f1", Level.FACT, ["t1"])) == ["D1:1"]  # fact → its turn
    assert provenance.of_hit(_hit("fx", Level.FACT, ["l2"])) == ["D1:2"]  # sources may be log ids
    # episode → facts → turns (and an unknown source is ignored)
    assert provenance.of_hit(_hit("e1", Level.EPISODE, ["f1", "f2", "missing"])) == ["D1:1", "D1:2", "D2:1"]
    assert provenance.of_hit(_hit("c1", Level.TOPIC, ["c2"])) == ["D1:1"]  # a cycle ends
    calls = len(store.calls)
    provenance.of_hit(_hit("e1", Level.EPISODE, ["f1", "f2"]))
    assert len(store.calls) == calls  # resolved items are remembered


@pytest.mark.parametrize(
    ("answer", "text", "expected"),
    [("7 May 2023", "on 7 May, 2023 she", 1.0), ("Pixel the cat", "a cat", 1 / 3), (None, "x", 0.0), ("", "x", 0.0)],
)
def test_answer_recall(answer: str | None, text: str, expected: float) -> None:
    assert answer_recall(answer, text) == pytest.approx(expected)


@pytest.mark.slow
def test_two_runs_give_identical_quality_figures(locomo_slice: Path, embedder: Embedder, tmp_path: Path) -> None:
    cases = locomo_cases(load_locomo(locomo_slice))
    config = MemoryConfig(sqlite_synchronous="NORMAL")
    summaries: list[dict[str, Any]] = []
    for run in range(2):
        result = evaluate_cases(cases, config=config, workdir=tmp_path / f"run{run}", embedder=embedder)
        summaries.append(summarise(result, dataset="locomo"))
        if run == 0:
            written = write_outputs(tmp_path / "out", result, summaries[0], title="LoCoMo")
    first, second = (quality_figures(s) for s in summaries)
    assert first == second
    assert first["n_questions"] == 20 and first["n_separate"] == 5
    assert not any(key in str(first) for key in TIMING_KEYS)
    assert {p.name for p in written} >= {"summary.json", "questions.jsonl", "report.md", "recall_at_k.png"}
    assert all(p.stat().st_size > 0 for p in written)
    baselines = summaries[0]["baselines"]
    assert set(baselines) >= {"bm25", "dense", "turns", "hybrid", "full-context"}
    assert 0.0 < baselines["hybrid"]["recall@10"] <= 1.0
    assert "plain hybrid" in (tmp_path / "out" / "report.md").read_text()


class _Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []

    def start(self, case_id: str, questions: int) -> None:
        self.events.append(("start", case_id, questions))

    def advance(self, case_id: str, done: int) -> None:
        self.events.append(("advance", case_id, done))

    def finish(self, case_id: str) -> None:
        self.events.append(("finish", case_id, 0))


@pytest.mark.integration  # spawns worker processes that load the model
def test_worker_processes_give_the_same_figures_in_the_same_order(lme_path: Path, tmp_path: Path) -> None:
    cases = load_longmemeval(lme_path)
    runs, recorders = [], []
    for jobs in (1, 2):
        recorder = _Recorder()
        result = evaluate_cases(
            cases, config=MemoryConfig(), workdir=tmp_path / f"j{jobs}", jobs=jobs, progress=recorder
        )
        runs.append(result)
        recorders.append(recorder)
    assert [q.id for q in runs[1].questions] == [q.id for q in runs[0].questions] == ["q-degree", "q-cat", "q-dog_abs"]
    assert [q.metrics for q in runs[1].questions] == [q.metrics for q in runs[0].questions]
    assert runs[1].turns == runs[0].turns and runs[1].embedder == runs[0].embedder
    for recorder in recorders:
        assert sorted(e for e in recorder.events if e[0] != "advance") == sorted(
            [("start", c.case_id, 1) for c in cases] + [("finish", c.case_id, 0) for c in cases]
        )


def test_limit_takes_the_first_questions_in_order(lme_path: Path, embedder: Embedder, tmp_path: Path) -> None:
    result = evaluate_cases(
        load_longmemeval(lme_path), config=MemoryConfig(), workdir=tmp_path, embedder=embedder, limit=2, baselines=False
    )
    assert [q.id for q in result.questions] == ["q-degree", "q-cat"] and result.cases == 2
    assert not result.questions[0].baselines


def test_report_without_matplotlib_says_how_to_get_plots(
    lme_path: Path, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = evaluate_cases(load_longmemeval(lme_path), config=MemoryConfig(), workdir=tmp_path, embedder=embedder)
    summary = summarise(result, dataset="longmemeval", categories=["single-session-user"])
    assert list(summary["categories"]) == ["single-session-user", "abstention", "multi-session"]
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if not installed
    written = write_outputs(tmp_path / "out", result, summary, title="LongMemEval")
    assert [p.name for p in written] == ["summary.json", "questions.jsonl", "report.md"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert 'pip install ".[eval]" from a clone of outcrop' in report and ".png" not in report
    assert "| abstention (separate) | 1 |" in report
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["n_questions"] == 2


def test_cases_that_are_not_run_still_count_what_they_skipped(tmp_path: Path) -> None:
    """A case none of whose questions names a real turn is not run: its skipped questions and
    their evidence ids were dropped from the figures (the report said 1 question, 0 ids, for 5
    and 4)."""
    session = EvalSession(
        session_id="s1", timestamp=None, messages=({"role": "user", "content": "hi"},), keys=("D1:1",)
    )
    cases = [
        EvalCase("a", (session,), (), skipped_questions=1, skipped_question_evidence=0),
        EvalCase("b", (session,), (), skipped_questions=4, skipped_question_evidence=4),
    ]
    result = evaluate_cases(cases, config=MemoryConfig(), workdir=tmp_path)
    assert (result.skipped_questions, result.skipped_evidence, result.questions) == (5, 4, [])


def test_a_folder_holding_an_earlier_runs_store_is_refused_before_any_case_runs(
    lme_path: Path, embedder: Embedder, tmp_path: Path
) -> None:
    """`outcrop eval ... --keep-stores` into the --out of an earlier run replayed the other cases for
    minutes, then failed on the first kept store ("UNIQUE constraint failed: log.id")."""
    cases = load_longmemeval(lme_path)
    stores = tmp_path / "stores"
    stores.mkdir()
    (stores / "case-00001.db").write_bytes(b"")
    with pytest.raises(InvalidInputError, match=r"case-00001\.db: stores of an earlier run"):
        evaluate_cases(cases, config=MemoryConfig(), workdir=stores, embedder=embedder, keep_stores=True)
    assert sorted(p.name for p in stores.iterdir()) == ["case-00001.db"]  # no case ran
