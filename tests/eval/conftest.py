"""Small benchmark files for the eval tests: a real LoCoMo slice and a hand-written LongMemEval file."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import locomo_file

SLICE_SESSIONS = 3  # conv-26 sessions 1-3: 58 turns, 25 questions (5 adversarial)


def _session_of(dia_id: str) -> int | None:
    match = re.match(r"^D(\d+):\d+$", dia_id)
    return int(match.group(1)) if match else None


@pytest.fixture(scope="session")
def locomo_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first sessions of the first LoCoMo conversation, with the questions they answer."""
    sample = json.loads(locomo_file().read_text())[0]
    conversation = {
        key: value
        for key, value in sample["conversation"].items()
        if not key.startswith("session_") or int(re.findall(r"\d+", key)[0]) <= SLICE_SESSIONS
    }
    qa = []
    for item in sample["qa"]:
        ids = [p for e in item.get("evidence", []) for p in re.split(r"[;,\s]+", e) if p]
        sessions = [_session_of(i) for i in ids]
        if ids and all(s is not None and s <= SLICE_SESSIONS for s in sessions):
            qa.append(item)
    path = tmp_path_factory.mktemp("locomo") / "locomo-slice.json"
    path.write_text(json.dumps([{"sample_id": sample["sample_id"], "conversation": conversation, "qa": qa}]))
    return path


def lme_turn(role: str, content: str, has_answer: bool = False) -> dict[str, Any]:
    turn: dict[str, Any] = {"role": role, "content": content}
    if has_answer:
        turn["has_answer"] = True
    return turn


def lme_item(question_id: str, question_type: str, question: str, answer: Any, **fields: Any) -> dict[str, Any]:
    """A LongMemEval question with a three-session haystack; ``fields`` override any key."""
    item: dict[str, Any] = {
        "question_id": question_id,
        "question_type": question_type,
        "question": question,
        "answer": answer,
        "question_date": "2023/06/01 (Thu) 10:00",
        "haystack_session_ids": ["sharegpt_a_0", "answer_b1", "ultrachat_c"],
        "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/05/22 (Mon) 18:05", "2023/05/28 (Sun) 09:40"],
        "haystack_sessions": [
            [
                lme_turn("user", "Can you suggest a recipe for a quick weeknight pasta?"),
                lme_turn("assistant", "Try garlic, olive oil and chili flakes with spaghetti."),
            ],
            [
                lme_turn("user", "I just graduated with a degree in Business Administration!", True),
                lme_turn("assistant", "Congratulations on finishing your Business Administration degree."),
                lme_turn("user", "My sister Ana adopted a grey cat called Pixel last week."),
            ],
            [
                lme_turn("user", "What are good stretches after running?"),
                lme_turn("assistant", "Hamstring and calf stretches help; hold each for thirty seconds."),
                lme_turn("user", ""),
            ],
        ],
        "answer_session_ids": ["answer_b1"],
    }
    item.update(fields)
    return item


def lme_file(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(items))
    return path


@pytest.fixture
def lme_path(tmp_path: Path) -> Path:
    """Three questions: turn-level evidence, session-level fallback, and an abstention."""
    return lme_file(
        tmp_path / "longmemeval_tiny.json",
        [
            lme_item("q-degree", "single-session-user", "What degree did I graduate with?", "Business Administration"),
            lme_item(
                "q-cat",
                "multi-session",
                "What is the name of my sister's cat?",
                "Pixel",
                haystack_sessions=[
                    [lme_turn("user", "Can you suggest a recipe for a quick weeknight pasta?")],
                    [lme_turn("user", "My sister Ana adopted a grey cat called Pixel last week.")],
                    [lme_turn("user", "What are good stretches after running?")],
                ],
            ),
            lme_item("q-dog_abs", "single-session-user", "What is the name of my dog?", "You did not mention a dog."),
        ],
    )
