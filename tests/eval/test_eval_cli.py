"""``outcrop eval`` through the real executable: a LoCoMo slice and a LongMemEval file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.integration  # the real executable in child processes

METRICS = {
    "recall@1",
    "recall@5",
    "recall@10",
    "recall@20",
    "hit@10",
    "ndcg@10",
    "context_evidence_coverage@1000",
    "context_answer_recall@1000",
    "search_ms_p50",
    "search_ms_p95",
}


@pytest.mark.slow
def test_locomo_slice_writes_summary_questions_report_and_plots(locomo_slice: Path, tmp_path: Path) -> None:
    config = tmp_path / "tuned.toml"
    config.write_text("[retrieval]\nchannel_weights = { bm25 = 1.0, dense = 0.3, recency = 0.05 }\n")
    out = tmp_path / "out"
    result = run_cli(
        "eval",
        "locomo",
        "--data",
        str(locomo_slice),
        "--out",
        str(out),
        "--config",
        str(config),
        "--conversations",
        "conv-26",
        "--limit",
        "12",
    )
    assert "12 questions" in result.stdout and "report.md" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "locomo" and summary["n_questions"] == 12
    assert set(summary["overall"]) >= METRICS
    assert set(summary["categories"]) <= {"multi-hop", "temporal", "open-domain", "single-hop", "adversarial"}
    assert {"bm25", "dense", "full-context"} <= set(summary["baselines"])
    assert summary["baselines"]["full-context"]["tokens_mean"] > 1000
    assert summary["run"]["config"]["retrieval"]["channel_weights"]["dense"] == 0.3  # --config was used
    rows = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    assert rows[0]["retrieved"][0]["turns"] and "recall@10" in rows[0]["metrics"]
    report = (out / "report.md").read_text()
    assert summary["run"]["config_hash"] in report and "eval locomo" in report
    for plot in ("recall_at_k.png", "context_coverage.png", "categories.png"):
        assert f"]({plot})" in report
        assert (out / plot).read_bytes().startswith(b"\x89PNG") and (out / plot).stat().st_size > 1000


def test_longmemeval_command_on_a_small_file(lme_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "lme"
    run_cli("eval", "longmemeval", "--data", str(lme_path), "--out", str(out), "--no-baselines")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["dataset"] == "longmemeval" and summary["n_questions"] == 2 and summary["n_separate"] == 1
    assert summary["n_cases"] == 3 and summary["overall"]["recall@5"] == 1.0
    assert (out / "report.md").stat().st_size > 0 and (out / "recall_at_k.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["locomo", "--conversations", "7"], "no conversation '7'"),
        (["locomo", "--categories", "1,9"], "unknown [9]"),
        (["longmemeval", "--types", "gossip"], "unknown ['gossip']"),
        (["locomo", "--config", "/nonexistent.toml"], "cannot read config file"),
    ],
)
def test_bad_options_fail_with_one_line(args: list[str], message: str, request: pytest.FixtureRequest) -> None:
    data = request.getfixturevalue("lme_path" if args[0] == "longmemeval" else "locomo_slice")
    result = run_cli("eval", args[0], "--data", str(data), *args[1:], check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def _out_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    taken = tmp_path / "taken"
    (taken / "report.md").mkdir(parents=True)
    return {
        "a file": (a_file, "cannot write there"),
        "under a file": (a_file / "out", "cannot write there"),
        "an output name taken by a folder": (taken, "report.md is a folder"),
    }


@pytest.mark.parametrize("case", ["a file", "under a file", "an output name taken by a folder"])
def test_an_unusable_out_is_refused_before_the_run(locomo_slice: Path, tmp_path: Path, case: str) -> None:
    """It used to end in a traceback after the whole evaluation, with some outputs written."""
    out, message = _out_cases(tmp_path)[case]
    result = run_cli("eval", "locomo", "--data", str(locomo_slice), "--out", str(out), "--limit", "1", check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deep"),
        (
            '[{"sample_id": "x", "conversation": {"speaker_a": "A", "speaker_b": "B"}, "qa": [{"question": "Q?",'
            ' "category": 1e400, "evidence": []}]}]',
            "has category",
        ),
        (
            '[{"sample_id": "x", "conversation": {"speaker_a": "A", "speaker_b": "B"}, "qa": [{"question": "Q?",'
            ' "category": true, "evidence": []}]}]',
            "has category",
        ),
        (
            '[{"sample_id": "x", "conversation": {"session_1": [{"speaker": "A", "dia_id": "D1:1", "text": null}]},'
            ' "qa": []}]',
            "sample x: turn 'D1:1' of session_1 has a null 'text'",
        ),
        (
            '[{"sample_id": "x", "conversation": {"session_1": [{"speaker": "A", "dia_id": "D1:1", "text": "a"},'
            ' {"speaker": "B", "dia_id": "D1:1", "text": "b"}]}, "qa": []}]',
            "sample x: dia_id 'D1:1' names two turns",
        ),
    ],
)
def test_malformed_locomo_data_is_one_line(tmp_path: Path, data: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(data)
    result = run_cli("eval", "locomo", "--data", str(path), "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("conversations", "said"),
    [
        (",,,", "--conversations: no conversation named"),
        ("", "--conversations: no conversation named"),
        (" , ", "--conversations: no conversation named"),
        ("0,0", "--conversations: '0' names 'conv-26' again"),
        ("0,conv-26", "--conversations: 'conv-26' names 'conv-26' again"),
    ],
)
def test_conversations_naming_none_or_one_twice_is_refused(
    locomo_slice: Path, tmp_path: Path, conversations: str, said: str
) -> None:
    """``,,,`` ran none and blamed the data ("nothing to score"); ``""`` ran every conversation;
    ``0,0`` ran one twice and counted its questions twice."""
    out = tmp_path / "out"
    args = ("--data", str(locomo_slice), "--out", str(out), "--conversations", conversations, "--no-baselines")
    result = run_cli("eval", "locomo", *args, check=False)
    assert result.returncode == 2 and said in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


def _one_conversation(tmp_path: Path, sample_id: str) -> Path:
    turn = {"speaker": "A", "dia_id": "D1:1", "text": "I adopted a grey cat called Pixel."}
    qa = [{"question": "What is the cat called?", "answer": "Pixel", "evidence": ["D1:1"], "category": 4}]
    conversation = {"speaker_a": "A", "speaker_b": "B", "session_1_date_time": "1:56 pm on 8 May, 2023"}
    path = tmp_path / "one.json"
    path.write_text(
        json.dumps([{"sample_id": sample_id, "conversation": {**conversation, "session_1": [turn]}, "qa": qa}])
    )
    return path


def test_a_sample_id_with_an_escape_sequence_is_one_escaped_line(tmp_path: Path) -> None:
    """The id was echoed raw into the progress bar (ESC [2J clears the screen), then the run failed
    on "user_id contains a control character" without naming the sample."""
    path = _one_conversation(tmp_path, "conv\x1b[2J\x00")
    result = run_cli("eval", "locomo", "--data", str(path), "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2 and "sample 0: sample_id 'conv\\x1b[2J\\x00'" in result.stderr, result.stderr
    assert "\x1b" not in result.stderr and "\x00" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_sample_id_is_shown_literally_in_the_progress_bar(tmp_path: Path) -> None:
    """Console markup in an id ended the run in a MarkupError traceback; a C1 control (a valid
    user_id) was written raw to the terminal."""
    path = _one_conversation(tmp_path, "conv-[/x][red]\x9b")
    result = run_cli("eval", "locomo", "--data", str(path), "--out", str(tmp_path / "out"), "--no-baselines")
    assert "Traceback" not in result.stderr and "\x9b" not in result.stderr
    assert "conv-[/x][red]\\x9b" in result.stderr, result.stderr
    assert "1 questions" in result.stdout


def test_a_file_with_nothing_to_score_is_refused(locomo_slice: Path, tmp_path: Path) -> None:
    """Every question naming no turn ran, reported 0 cases and recall 0.000, and exited 0."""
    sample = json.loads(locomo_slice.read_text())[0]
    for qa in sample["qa"]:
        qa["evidence"] = ["D99:1"]
    path = tmp_path / "none.json"
    path.write_text(json.dumps([sample]))
    result = run_cli("eval", "locomo", "--data", str(path), "--out", str(tmp_path / "out"), check=False)
    assert result.returncode == 2 and "nothing to score" in result.stderr, result.stderr
