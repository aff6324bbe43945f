"""The forgetting curve: fading with age, slowed by access and importance; faded items still reachable."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Hit, Level, Scope
from outcrop.providers import Embedder
from outcrop.truth.strength import apply_strength, retention, wants_faded


def test_retention_curve() -> None:
    assert retention(0) == 1.0
    assert abs(retention(90, importance=0.5) - 0.5) < 1e-9  # half-life at default importance
    assert retention(90, access_count=3) > retention(90) > retention(180)
    assert retention(90, importance=1.0) > retention(90, importance=0.0)


def test_faded_items_drop_from_default_but_not_from_exact_or_timed_queries() -> None:
    now = datetime(2025, 1, 1)
    old = Hit(id="a", text="the blue bicycle", score=1.0, level=Level.TURN, timestamp=datetime(2020, 1, 1))
    new = Hit(id="b", text="a red car", score=0.5, level=Level.TURN, timestamp=datetime(2024, 12, 1))
    assert [h.id for h in apply_strength([old, new], "what did I ride?", now)] == ["b"]
    assert wants_faded('"blue bicycle"') and wants_faded("what did I ride in May 2020?")
    assert {h.id for h in apply_strength([old, new], 'the "blue bicycle"', now)} == {"a", "b"}
    assert {h.id for h in apply_strength([old, new], "what did I ride in 2020?", now)} == {"a", "b"}


def test_strength_is_fused_by_rank_and_bounded() -> None:
    now = datetime(2024, 1, 1)
    hits = [
        Hit(id=name, text=name, score=0.02, level=Level.TURN, timestamp=datetime(2023, 1, 1)) for name in ("a", "b")
    ]
    read = apply_strength(hits, "q", now, accesses={"b": 4}, weight=0.05, half_life_days=365)
    assert [h.id for h in read] == ["b", "a"]  # equally relevant and as old: the one read more wins
    assert read[0].explain["strength"] == {
        "retention": read[0].explain["strength"]["retention"],
        "rank": 1,
        "accesses": 4,
    }
    assert max(h.score for h in read) <= 0.02 + 0.05 / 61  # never more than one channel's first place


def test_strength_adds_its_trace_after_the_others_and_leaves_the_input_hits_alone() -> None:
    now = datetime(2024, 1, 1)
    trace = {"channels": {"bm25": {"rank": 1, "score": 3.2}}, "rrf": 0.016393, "boosts": {"speaker": 1.2}}
    hit = Hit(id="a", text="a", score=0.02, level=Level.TURN, timestamp=datetime(2023, 1, 1), explain=trace)
    undated = Hit(id="b", text="b", score=0.01, level=Level.TURN)
    (read, same) = apply_strength([hit, undated], "q", now, accesses={"a": 2}, weight=0.05)
    assert list(read.explain) == ["channels", "rrf", "boosts", "strength"]
    assert read.explain["strength"] == {"retention": round(retention(365, 2), 4), "rank": 1, "accesses": 2}
    assert read.score == 0.02 + 0.05 / 61 and read.model_fields_set == hit.model_fields_set | {"score", "explain"}
    assert read.model_dump(exclude={"score", "explain"}) == hit.model_dump(exclude={"score", "explain"})
    assert hit.score == 0.02 and "strength" not in hit.explain and same is undated


def _config(tmp_path: Path, **retrieval: object) -> MemoryConfig:
    settings = {"half_life_days": 30.0, **retrieval}
    # turns only, each in its own session (no turn is indexed with a neighbour's words)
    strata = {"on_add": False}
    return MemoryConfig.build({"store": f"sqlite:///{tmp_path / 'm.db'}", "retrieval": settings, "strata": strata})


FILLER = [
    "Ben repaired the garden fence on Sunday.",
    "The quarterly report was sent to finance.",
    "Mia is learning to play the cello.",
    "The train to Porto was delayed an hour.",
    "We ordered new chairs for the office.",
    "Tom ran a half marathon in the rain.",
    "The bakery on Elm street closed for good.",
    "Grandma's apple pie recipe needs cinnamon.",
]


def _filler(m: Memory, last: str) -> None:
    """Unrelated turns, each in its own session, the newest at ``last`` (the memory's clock)."""
    for index, text in enumerate(FILLER):
        when = last if index == len(FILLER) - 1 else f"2022-0{index + 1}-15T09:00:00"
        m.add(text, user_id="u", session_id=f"f{index}", timestamp=when)


def test_search_ranks_by_strength_and_hides_faded_items(tmp_path: Path, embedder: Embedder) -> None:
    with Memory(config=_config(tmp_path), embedder=embedder) as m:
        (old,) = m.add(
            "The violet kite broke at the beach.", user_id="u", session_id="s1", timestamp="2021-01-01T10:00:00"
        )
        (recent,) = m.add(
            "The violet kite flew at the park.", user_id="u", session_id="s2", timestamp="2023-05-01T10:00:00"
        )
        _filler(m, last="2023-06-01T10:00:00")  # the memory's clock: June 2023
        hits = m.search("violet kite", user_id="u", limit=5)
        assert [h.id for h in hits if "kite" in h.text] == [
            recent
        ]  # the 2021 turn faded (~2.4 years, 30-day half-life)
        assert hits[0].id == recent and 0 < hits[0].explain["strength"]["retention"] < 1  # a month old
        assert old in {h.id for h in m.search('"violet kite broke"', user_id="u", limit=5)}  # exact phrase
        assert old in {h.id for h in m.search("violet kite in 2021", user_id="u", limit=5)}  # time-bounded
        assert m.get(old, user_id="u").text.startswith("The violet kite")  # fading deletes nothing


def test_read_items_fade_slower_and_counts_survive_reopening(tmp_path: Path, embedder: Embedder) -> None:
    config = _config(tmp_path, half_life_days=60.0, faded_below=0.0)
    with Memory(config=config, embedder=embedder) as m:
        (a,) = m.add(
            "Ana keeps a green notebook of recipes.", user_id="u", session_id="s1", timestamp="2023-01-01T10:00:00"
        )
        (b,) = m.add(
            "Ana keeps a green notebook of poems.", user_id="u", session_id="s2", timestamp="2023-01-01T10:00:00"
        )
        _filler(m, last="2023-07-01T10:00:00")
        before = {h.id: h.score for h in m.search("green notebook", user_id="u", limit=5)}
        for _ in range(3):
            m.search("notebook of poems", user_id="u", limit=1)  # reads b (and only b)
        after = {h.id: h for h in m.search("green notebook", user_id="u", limit=5)}
        strength_a, strength_b = after[a].explain["strength"], after[b].explain["strength"]
        assert strength_b["accesses"] == strength_a.get("accesses", 0) + 3
        assert strength_b["retention"] > strength_a["retention"] and strength_b["rank"] < strength_a["rank"]
        assert after[b].score - after[a].score > before[b] - before[a]  # read, b gained on a
    with Memory(config=config.model_copy(update={"store": config.store}), embedder=embedder) as reopened:
        assert reopened.store.records.access_counts(Scope(tenant="default", user_id="u"), [a, b]).get(b, 0) >= 3


def test_strength_off_leaves_scores_alone(tmp_path: Path, embedder: Embedder) -> None:
    with Memory(config=_config(tmp_path, strength_weight=0.0), embedder=embedder) as m:
        m.add("The violet kite broke at the beach.", user_id="u", timestamp="2015-01-01T10:00:00")
        _filler(m, last="2023-06-01T10:00:00")
        hits = m.search("violet kite", user_id="u", limit=5)
        assert "kite" in hits[0].text and "strength" not in hits[0].explain
