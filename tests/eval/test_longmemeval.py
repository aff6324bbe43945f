"""The LongMemEval loader on files in the published format, written here (the data is not on this machine)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from outcrop import InvalidInputError, MemoryConfig
from outcrop.eval.longmemeval import ABSTENTION, load_longmemeval
from outcrop.eval.runner import evaluate_cases
from outcrop.eval.summary import summarise
from outcrop.providers import Embedder
from tests.eval.conftest import lme_file, lme_item


def test_loads_turn_evidence_session_fallback_and_abstention(lme_path: Path) -> None:
    degree, cat, dog = load_longmemeval(lme_path)
    assert [c.case_id for c in (degree, cat, dog)] == ["q-degree", "q-cat", "q-dog_abs"]
    (q,) = degree.questions
    assert q.evidence == ("answer_b1#1",) and q.evidence_level == "turn" and q.scored
    assert q.category == "single-session-user" and q.question_date == "2023/06/01 (Thu) 10:00"
    assert [s.session_id for s in degree.sessions] == ["sharegpt_a_0", "answer_b1", "ultrachat_c"]
    assert degree.sessions[1].timestamp == "2023/05/22 (Mon) 18:05"
    assert degree.sessions[2].keys == ("ultrachat_c#1", "ultrachat_c#2")  # the empty turn is skipped
    assert degree.sessions[1].messages[0] == {
        "role": "user",
        "content": "I just graduated with a degree in Business Administration!",
        "metadata": {"turn": "answer_b1#1"},
    }
    (q,) = cat.questions  # no has_answer turn: session-level recall via answer_session_ids
    assert q.evidence == ("answer_b1",) and q.evidence_level == "session"
    (q,) = dog.questions
    assert q.category == ABSTENTION and not q.scored


def test_types_filter_and_numeric_answers(tmp_path: Path) -> None:
    path = lme_file(
        tmp_path / "lme.json",
        [
            lme_item("a", "multi-session", "How many cats?", 2),
            lme_item("b", "temporal-reasoning", "When?", "May"),
            lme_item("c_abs", "temporal-reasoning", "When did I buy a boat?", "Not mentioned"),
        ],
    )
    assert [c.case_id for c in load_longmemeval(path, types=["multi-session"])] == ["a"]
    assert [c.case_id for c in load_longmemeval(path, types=["abstention"])] == ["c_abs"]
    assert load_longmemeval(path)[0].questions[0].answer == "2"


def test_question_without_any_evidence_is_counted_not_asked(tmp_path: Path) -> None:
    item = lme_item("q", "single-session-user", "Where do I live?", "Lisbon", answer_session_ids=["gone"])
    item["haystack_sessions"][1][0].pop("has_answer")
    (case,) = load_longmemeval(lme_file(tmp_path / "lme.json", [item]))
    assert case.questions == () and case.skipped_questions == 1


def _without(key: str) -> dict[str, Any]:
    item = lme_item("q1", "single-session-user", "What degree?", "BA")
    del item[key]
    return item


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"question_id": "q1"}), "must hold a JSON list"),
        (json.dumps([["a list"]]), "item 0: must be an object"),
        (json.dumps([_without("haystack_sessions")]), "item 0 (q1): missing field(s) haystack_sessions"),
        (json.dumps([_without("answer")]), "missing field(s) answer"),
        (json.dumps([_without("question_type")]), "missing field(s) question_type"),
        (json.dumps([{"question_id": "q1"}]), "missing field(s) question_type, question, answer, haystack_sessions"),
        (
            json.dumps([lme_item("q1", "multi-session", "Q?", "A", haystack_dates=["2023/05/20 (Sat) 02:21"])]),
            "3 haystack_sessions but 1 haystack_dates",
        ),
        (
            json.dumps([lme_item("q1", "multi-session", "Q?", "A", haystack_session_ids=["x"])]),
            "3 haystack_sessions but 1 haystack_session_ids",
        ),
        (
            json.dumps([lme_item("q1", "multi-session", "Q?", "A", haystack_dates=["yesterday", "x", "y"])]),
            "haystack_dates[0]: cannot parse timestamp 'yesterday'",
        ),
        (
            json.dumps([lme_item("q1", "multi-session", "Q?", "A", haystack_sessions=[[{"role": "user"}], [], []])]),
            "haystack_sessions[0][0] has no 'content' string",
        ),
        (
            json.dumps([lme_item("q1", "multi-session", "Q?", "A", haystack_sessions=[["hi"], [], []])]),
            "haystack_sessions[0][0] must be an object",
        ),
        (
            json.dumps([lme_item("q1", "multi-session", "", "A")]),
            "question must be a non-empty string",
        ),
        (
            json.dumps([lme_item("q1", "multi-session", "Q?", "A"), lme_item("q1", "multi-session", "Q?", "A")]),
            "question_id 'q1' occurs twice",
        ),
    ],
)
def test_odd_input_is_refused_with_a_clear_message(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match="LongMemEval") as raised:
        load_longmemeval(path)
    assert message in str(raised.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read LongMemEval file"):
        load_longmemeval(tmp_path / "nope.json")


def test_each_question_gets_its_own_store_and_is_scored(lme_path: Path, embedder: Embedder, tmp_path: Path) -> None:
    cases = load_longmemeval(lme_path)
    result = evaluate_cases(cases, config=MemoryConfig(), workdir=tmp_path / "stores", embedder=embedder)
    assert result.cases == 3 and result.turns == 7 + 3 + 7
    assert list((tmp_path / "stores").iterdir()) == []  # each case's store is removed after it
    by_id = {q.id: q for q in result.questions}
    assert by_id["q-degree"].metrics["recall@5"] == 1.0
    assert by_id["q-degree"].retrieved[0]["turns"]
    assert by_id["q-cat"].metrics["recall@5"] == 1.0  # session-level: any turn of answer_b1 counts
    summary = summarise(result, dataset="longmemeval")
    assert summary["n_questions"] == 2 and summary["n_separate"] == 1
    assert summary["separate_categories"] == ["abstention"]
    assert set(summary["categories"]) == {"single-session-user", "multi-session", "abstention"}


def test_repeated_session_ids_get_scopes_no_given_id_holds(tmp_path: Path) -> None:
    """``s, s, s~2``: the repeat was renamed ``s~2``, the name the third session already had."""
    item = lme_item("q", "single-session-user", "What degree did I graduate with?", "Business Administration")
    item["haystack_session_ids"] = ["s", "s", "s~2"]
    (case,) = load_longmemeval(lme_file(tmp_path / "lme.json", [item]))
    ids = [s.session_id for s in case.sessions]
    assert ids == ["s", "s~3", "s~2"] and len({k for s in case.sessions for k in s.keys}) == 7
