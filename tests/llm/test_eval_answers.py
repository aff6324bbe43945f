"""Answer scoring in the eval runner: F1, BLEU-1, judges, adversarial abstention, tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from outcrop import MemoryConfig
from outcrop.eval.answers import bleu1, token_f1
from outcrop.eval.cases import EvalCase, EvalQuestion, EvalSession
from outcrop.eval.runner import evaluate_cases
from outcrop.eval.summary import quality_figures, summarise
from outcrop.llm.scripted import Reply, ScriptedServer
from outcrop.providers import Embedder


@pytest.mark.parametrize(
    ("prediction", "gold", "f1", "bleu"),
    [
        ("Boston", "Boston", 1.0, 1.0),
        ("the city of Boston", "Boston", 0.5, 1 / 3),  # "the" is dropped: 3 tokens, 1 right
        ("7 May 2023", "7 May, 2023", 1.0, 1.0),
        ("Paris", "Boston", 0.0, 0.0),
        ("", "Boston", 0.0, 0.0),
    ],
)
def test_token_f1_and_bleu1(prediction: str, gold: str, f1: float, bleu: float) -> None:
    assert token_f1(prediction, gold) == pytest.approx(f1)
    assert bleu1(prediction, gold) == pytest.approx(bleu)


def test_bleu1_brevity_penalty() -> None:
    assert bleu1("pottery", "pottery and painting classes") == pytest.approx(1.0 * 2.718281828 ** (1 - 3))


CASE = EvalCase(
    case_id="c1",
    sessions=(
        EvalSession(
            "s1",
            "2023-05-08T13:56:00",
            (
                {"role": "user", "name": "Caroline", "content": "I live in Boston with my two cats."},
                {"role": "user", "name": "Melanie", "content": "I love pottery and painting on weekends."},
            ),
            ("D1:1", "D1:2"),
        ),
    ),
    questions=(
        EvalQuestion("q1", "Where does Caroline live?", "Boston", "single-hop", True, ("D1:1",)),
        EvalQuestion("q2", "What does Melanie love?", "pottery and painting", "single-hop", True, ("D1:2",)),
        EvalQuestion("q3", "What did Melanie name her dog?", None, "adversarial", False, ("D1:2",)),
    ),
)


def model(request: dict[str, object]) -> Reply:
    system = str(request["messages"][0]["content"])  # type: ignore[index]
    user = str(request["messages"][-1]["content"])  # type: ignore[index]
    if "grade answers" in system:
        gold = re.search(r"Gold answer: (.*)", user)
        given = re.search(r"Generated answer: (.*)", user)
        assert gold and given
        strict = "Be strict" in user
        ok = given.group(1) == gold.group(1) or (not strict and gold.group(1) in given.group(1))
        return Reply(content=json.dumps({"verdict": "CORRECT" if ok else "WRONG"}), prompt_tokens=50)
    if "Caroline live" in user:
        return Reply(content='{"answer": "Boston", "citations": [], "abstain": false}', prompt_tokens=100)
    if "Melanie love" in user:
        return Reply(content='{"answer": "pottery", "citations": [], "abstain": false}', prompt_tokens=100)
    return Reply(content='{"answer": "", "citations": [], "abstain": true}', prompt_tokens=100)


def test_runner_scores_answers_with_an_llm(tmp_path: Path, embedder: Embedder) -> None:
    with ScriptedServer(model) as server:
        config = MemoryConfig.build({"llm": {"base_url": server.base_url, "model": "scripted"}})
        result = evaluate_cases([CASE], config=config, workdir=tmp_path, embedder=embedder, baselines=False)
    q1, q2, q3 = (q.llm for q in result.questions)
    assert (q1["f1"], q1["judges"]) == (1.0, {"lenient": 1.0, "strict": 1.0})
    assert q2["f1"] == pytest.approx(2 / 3, abs=1e-4)  # "and" is dropped, as in LoCoMo
    assert q2["judges"] == {"lenient": 0.0, "strict": 0.0}
    assert q3 == {**q3, "adversarial": True, "abstained": True, "abstention_correct": 1.0}
    summary = summarise(result, dataset="test")
    answers = summary["answers"]
    assert answers["n"] == 2 and answers["f1"] == pytest.approx(5 / 6, abs=1e-4) and answers["judge_lenient"] == 0.5
    assert answers["judge_strict_prompt"] == "judge.strict@1" and answers["adversarial_abstention_accuracy"] == 1.0
    # q1, q2: one answer call (5+100 tokens) and two judge calls (55 each); q3: one answer call
    assert answers["tokens_per_question"] == pytest.approx((215 * 2 + 105) / 3, abs=0.1)
    assert summary["llm_usage"]["answer@2"]["calls"] == 3 and summary["llm_usage"]["judge.strict@1"]["calls"] == 2
    assert "answers" not in quality_figures(summary)  # model-dependent figures stay out of the determinism check
