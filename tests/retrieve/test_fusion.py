import pytest

from outcrop.retrieve.fusion import weighted_rrf


def test_weighted_rrf_sums_weighted_reciprocal_ranks() -> None:
    fused = weighted_rrf(
        {"bm25": [("a", 9.0), ("b", 5.0)], "dense": [("b", 0.9), ("c", 0.5)]}, {"bm25": 1.0, "dense": 0.5}, k=60
    )
    scores = {item_id: score for item_id, score, _ in fused}
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["b"] == pytest.approx(1 / 62 + 0.5 / 61)
    assert scores["c"] == pytest.approx(0.5 / 62)
    assert [i for i, _, _ in fused] == ["b", "a", "c"]
    trace = dict((i, t) for i, _, t in fused)["b"]
    assert trace == {"bm25": {"rank": 2, "score": 5.0}, "dense": {"rank": 1, "score": 0.9}}


def test_zero_weight_channels_are_ignored_and_ties_are_deterministic() -> None:
    fused = weighted_rrf({"x": [("b", 1.0)], "y": [("a", 1.0)], "z": [("q", 1.0)]}, {"x": 1, "y": 1, "z": 0})
    assert [i for i, _, _ in fused] == ["a", "b"]
