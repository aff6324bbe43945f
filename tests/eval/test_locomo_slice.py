"""Retrieval quality on a real LoCoMo slice must not regress (floor recorded in the repo)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outcrop import MemoryConfig
from outcrop.eval.locomo import load_locomo, locomo_cases
from outcrop.eval.runner import evaluate_cases
from outcrop.eval.summary import summarise
from outcrop.providers import Embedder

FLOOR = json.loads((Path(__file__).parent / "locomo_floor.json").read_text())


@pytest.mark.slow
def test_recall_on_first_conversation_does_not_drop(locomo_path: Path, embedder: Embedder, tmp_path: Path) -> None:
    cases = locomo_cases(load_locomo(locomo_path)[:1], categories=(1, 2, 3, 4))
    config = MemoryConfig(sqlite_synchronous="NORMAL")
    result = evaluate_cases(
        cases, config=config, workdir=tmp_path, embedder=embedder, limit=FLOOR["questions"], baselines=False
    )
    summary = summarise(result, dataset="locomo")
    assert summary["n_questions"] == FLOOR["questions"]
    recall = summary["overall"]["recall@10"]
    assert recall >= FLOOR["recall@10"] - 0.02, f"recall@10 {recall:.3f} fell below the recorded {FLOOR['recall@10']}"
