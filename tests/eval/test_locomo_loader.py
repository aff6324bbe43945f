"""The LoCoMo loader on small hand-written files: malformed turns and sample ids are refused with
one error naming the sample and turn, never stored as "None" or left ambiguous."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from outcrop.errors import InvalidInputError
from outcrop.eval.locomo import load_locomo, locomo_cases


def _turn(dia_id: str, text: Any = "I adopted a grey cat called Pixel.", **fields: Any) -> dict[str, Any]:
    return {"speaker": "Caroline", "dia_id": dia_id, "text": text, **fields}


def _file(tmp_path: Path, *sessions: list[dict[str, Any]], sample_id: Any = "conv-x") -> Path:
    conversation: dict[str, Any] = {"speaker_a": "Caroline", "speaker_b": "Melanie"}
    for number, turns in enumerate(sessions, 1):
        conversation[f"session_{number}_date_time"] = "1:56 pm on 8 May, 2023"
        conversation[f"session_{number}"] = turns
    qa = [{"question": "What is the cat called?", "answer": "Pixel", "evidence": ["D1:1"], "category": 4}]
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([{"sample_id": sample_id, "conversation": conversation, "qa": qa}]))
    return path


def test_a_well_formed_file_loads(tmp_path: Path) -> None:
    path = _file(tmp_path, [_turn("D1:1"), _turn("D1:2", "", blip_caption="a grey cat")], [_turn("D2:1")])
    (case,) = locomo_cases(load_locomo(path))
    assert [s.keys for s in case.sessions] == [("D1:1", "D1:2"), ("D2:1",)]
    assert case.sessions[0].messages[1]["content"] == "[shared an image: a grey cat]"  # an image-only turn
    assert [q.evidence for q in case.questions] == [("D1:1",)]


@pytest.mark.parametrize(
    ("turn", "problem"),
    [
        (_turn("D1:2", None), "has a null 'text'"),
        ({"speaker": "Melanie", "dia_id": "D1:2"}, "has no 'text'"),
        (_turn("D1:2", 42), "has a number 'text'"),
        (_turn("D1:2", ["a", "b"]), "has a list 'text'"),
        (_turn("D1:2", "   "), "has an empty 'text'"),
        (_turn("D1:2", speaker=7), "'speaker' must be a non-empty string"),
        (_turn("D1:2", speaker="Mel\x1b[2J"), "'speaker' contains a control character"),
        (_turn("D1:2", "I adopted \ud800 a cat."), "'text' is not valid Unicode"),
    ],
)
def test_a_turn_without_a_text_string_is_refused_naming_sample_and_turn(
    tmp_path: Path, turn: dict[str, Any], problem: str
) -> None:
    """A null text was stored as the turn "None" (str(None)); a blank one failed the run later."""
    path = _file(tmp_path, [_turn("D1:1"), turn])
    with pytest.raises(InvalidInputError, match="conv-x") as caught:
        load_locomo(path)
    assert "'D1:2'" in str(caught.value) and problem in str(caught.value)


@pytest.mark.parametrize(
    "sessions",
    [
        [[_turn("D1:1"), _turn("D1:3"), _turn("D1:3", "Something else entirely.")]],
        [[_turn("D1:1"), _turn("D1:3")], [_turn("D1:3", "Said again in the next session.")]],
    ],
    ids=["same session", "across sessions"],
)
def test_a_dia_id_given_twice_is_refused(tmp_path: Path, sessions: list[list[dict[str, Any]]]) -> None:
    """Both turns were kept under one key, so evidence naming it was ambiguous."""
    path = _file(tmp_path, *sessions)
    with pytest.raises(InvalidInputError, match=r"conv-x: dia_id 'D1:3' names two turns"):
        load_locomo(path)


def test_a_sample_id_with_a_control_character_is_refused_escaped(tmp_path: Path) -> None:
    """It was echoed raw to the terminal, then refused mid-run as an unnamed user_id."""
    path = _file(tmp_path, [_turn("D1:1")], sample_id="conv\x1b[2J\x00")
    with pytest.raises(InvalidInputError, match="contains a control character") as caught:
        load_locomo(path)
    assert "sample 0" in str(caught.value) and "conv\\x1b[2J\\x00" in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_two_samples_under_one_id_are_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, [_turn("D1:1")])
    sample = json.loads(path.read_text())[0]
    path.write_text(json.dumps([sample, sample]))
    with pytest.raises(InvalidInputError, match="two samples have the sample_id 'conv-x'"):
        load_locomo(path)
