"""Resolution routing: the question's kind and the flatness of fine scores pick the level mix."""

from __future__ import annotations

import pytest

from outcrop.core.types import Level
from outcrop.retrieve.router import QueryKind, asks_for_many, classify, route


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("When did Caroline go to the LGBTQ support group?", QueryKind.WHEN),
        ("How long has Melanie been painting?", QueryKind.WHEN),
        ("What activities does Melanie partake in?", QueryKind.BROAD),
        ("What kind of books does Caroline read?", QueryKind.BROAD),
        ("What does Melanie like?", QueryKind.BROAD),
        ("Would Caroline likely pursue writing as a career?", QueryKind.INFERENCE),
        ("What did Caroline research?", QueryKind.PRECISE),
        ("Where did Melanie camp?", QueryKind.PRECISE),
    ],
)
def test_question_kinds(query: str, kind: QueryKind) -> None:
    assert classify(query) is kind


def test_broad_questions_weight_coarse_levels_up_and_precise_ones_down() -> None:
    broad = route("What activities does Melanie partake in?", [0.05, 0.01, 0.01])
    precise = route("What did Caroline research?", [0.05, 0.01, 0.01])
    for level in (Level.PROFILE, Level.TOPIC, Level.EPISODE):
        assert broad.weights[level] > precise.weights[level]
    assert broad.weights[Level.TURN] == precise.weights[Level.TURN] == 1.0


def test_flat_fine_scores_zoom_out_and_a_peak_does_not() -> None:
    flat = route("What did Caroline research?", [0.030, 0.029, 0.029, 0.028, 0.028, 0.027])
    peaked = route("What did Caroline research?", [0.060, 0.020, 0.019, 0.018, 0.018, 0.017])
    assert flat.zoomed_out and not peaked.zoomed_out
    assert flat.weights[Level.EPISODE] > peaked.weights[Level.EPISODE]
    assert route("When did she move?", [0.03] * 6).zoomed_out is False  # dates live in fine items


@pytest.mark.parametrize(
    ("query", "many"),
    [
        ("Which pets has Audrey adopted?", True),
        ("What has Melanie painted?", True),
        ("What books has Melanie read?", True),
        ("What pets does Audrey have?", True),
        ("What activities does Melanie partake in?", True),
        ("What items has Melanie bought?", True),
        ("What did Caroline research?", False),  # one fact
        ("What is Caroline's identity?", False),
        ("What did Melanie paint recently?", False),
        ("Where did Caroline move from 4 years ago?", False),
        ("When did Melanie paint a sunrise?", False),  # a date, even of a list
        ("Which year did Audrey adopt Pixie?", False),
    ],
)
def test_aggregate_and_list_questions(query: str, many: bool) -> None:
    assert asks_for_many(query) is many
