"""``kill -9`` during add, ingest, consolidate and forget, at a random moment (a seeded random
source per trial, so a failure can be replayed): every acknowledged write survives, nothing
forgotten is found again, and the reopened store is consistent (:mod:`tests.reliability.crash`).
Two trials per operation here; ``bench/reliability.py`` runs a hundred."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from outcrop.providers import Embedder
from tests.reliability.crash import OPS, run_trial

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRIALS = 2


@pytest.mark.parametrize("number", range(TRIALS))
@pytest.mark.parametrize("op", OPS)
def test_kill_9_loses_nothing_acknowledged_and_leaks_nothing_forgotten(
    op: str, number: int, tmp_path: Path, embedder: Embedder
) -> None:
    rng = random.Random(f"{op}-{number}")
    trial = run_trial(op, tmp_path, embedder, rng)
    assert trial.ok, trial
    assert trial.acknowledged > 0 or trial.killed_after < 1.0, trial  # the kill fell after some work
