"""Current truth per slot: stories over real facts, and the pure resolution rules."""

from __future__ import annotations

from datetime import UTC, datetime

from outcrop import Memory
from outcrop.core.types import Hit, Item, Level, Scope
from outcrop.truth.slots import resolve, superseded_ids
from outcrop.truth.timeline import apply_truth, timeline


def _fact(fid: str, attribute: str, value: str, day: int, *, single: bool = True, recorded: int | None = None) -> Item:
    return Item(
        id=fid,
        level=Level.FACT,
        scope=Scope(),
        text=f"Ann {attribute} {value}",
        timestamp=datetime(2023, 5, day, tzinfo=UTC),
        recorded_at=datetime(2023, 6, recorded or day, tzinfo=UTC),
        metadata={"slot": {"subject": "Ann", "attribute": attribute, "value": value, "single": single}},
        sources=[f"t-{fid}"],
    )


def test_newer_value_closes_older_and_as_of_sees_the_past() -> None:
    boston, paris = _fact("f1", "lives_in", "Boston", 1), _fact("f2", "lives_in", "Paris", 9)
    values = resolve([paris, boston])[("ann", "lives_in")]
    assert [v.value for v in values] == ["Boston", "Paris"]
    assert values[0].superseded_by == "f2" and values[0].valid_to == paris.timestamp
    assert values[1].current and values[1].valid_to is None
    # memory as held before Paris was recorded: Boston is current
    before = resolve([boston, paris], as_of=datetime(2023, 6, 5, tzinfo=UTC))[("ann", "lives_in")]
    assert [(v.value, v.current) for v in before] == [("Boston", True)]


def test_different_slots_never_affect_each_other() -> None:
    facts = [
        _fact("f1", "lives_in", "Boston", 1),
        _fact("f2", "employer", "Acme", 9),
        _fact("f3", "occupation", "nurse", 12),
    ]
    assert superseded_ids(facts) == {}
    # a multi-valued slot keeps every value current
    likes = [_fact("f4", "likes", "jazz", 1, single=False), _fact("f5", "likes", "tea", 2, single=False)]
    assert superseded_ids(likes) == {}


def test_retracting_the_newer_fact_restores_the_older() -> None:
    boston, paris = _fact("f1", "lives_in", "Boston", 1), _fact("f2", "lives_in", "Paris", 9)
    assert superseded_ids([boston, paris]) == {"f1": "f2"}
    assert superseded_ids([boston]) == {}


def test_repeating_a_value_confirms_it() -> None:
    facts = [
        _fact("f1", "lives_in", "Boston", 1),
        _fact("f2", "lives_in", "boston", 4),
        _fact("f3", "lives_in", "Paris", 9),
    ]
    assert superseded_ids(facts) == {"f1": "f3", "f2": "f3"}


def test_apply_truth_drops_or_demotes_with_explain() -> None:
    boston, paris = _fact("f1", "lives_in", "Boston", 1), _fact("f2", "lives_in", "Paris", 9)
    hits = [Hit(id=f.id, text=f.text, score=1.0, level=Level.FACT) for f in (boston, paris)]
    assert [h.id for h in apply_truth(hits, [boston, paris])] == ["f2"]
    demoted = apply_truth(hits, [boston, paris], demote=0.5)
    assert [h.id for h in demoted] == ["f2", "f1"] and demoted[1].explain["superseded_by"] == "f2"
    # as of before Paris was recorded, Paris is unknown and Boston current
    assert [h.id for h in apply_truth(hits, [boston, paris], as_of=datetime(2023, 6, 5, tzinfo=UTC))] == ["f1"]


def test_apply_truth_keeps_the_given_order_and_sinks_a_demoted_hit_only_past_better_hits() -> None:
    """A context's reserved places put low-scored hits early; reading truth must not re-sort them."""
    boston, paris = _fact("f1", "lives_in", "Boston", 1), _fact("f2", "lives_in", "Paris", 9)
    facts = [boston, paris]
    hits = [
        Hit(id="t1", text="a turn", score=0.9, level=Level.TURN),
        Hit(id="f1", text=boston.text, score=0.8, level=Level.FACT),
        Hit(id="r1", text="a reserved hit", score=0.01, level=Level.TURN),
        Hit(id="t2", text="a turn", score=0.5, level=Level.TURN),
        Hit(id="t3", text="a turn", score=0.3, level=Level.TURN),
    ]
    annotated = apply_truth(hits, facts, demote=1.0)
    assert [h.id for h in annotated] == ["t1", "f1", "r1", "t2", "t3"]
    assert annotated[1].explain["superseded_by"] == "f2"
    # 0.8 * 0.5 = 0.4: past t2 (0.5), not past t3 (0.3); r1 keeps its place ahead of both
    assert [h.id for h in apply_truth(hits, facts, demote=0.5)] == ["t1", "r1", "t2", "f1", "t3"]
    # a superseded hit in a reserved place: a slight demotion does not throw it past hits placed below it
    reserved = [
        Hit(id="t1", text="a turn", score=0.9, level=Level.TURN),
        Hit(id="f1", text=boston.text, score=0.01, level=Level.FACT),
        Hit(id="t2", text="a turn", score=0.5, level=Level.TURN),
        Hit(id="t4", text="a turn", score=0.02, level=Level.TURN),
    ]
    assert [h.id for h in apply_truth(reserved, facts, demote=0.99)] == ["t1", "f1", "t2", "t4"]


def test_story_moving_boston_to_paris(memory: Memory) -> None:
    memory.add(
        [{"role": "user", "content": "I live in Boston.", "name": "Ann"}],
        user_id="ann",
        session_id="s1",
        timestamp="2023-01-10T10:00:00Z",
    )
    memory.add(
        [{"role": "user", "content": "I moved to Paris last week.", "name": "Ann"}],
        user_id="ann",
        session_id="s2",
        timestamp="2023-05-10T10:00:00Z",
    )
    memory.consolidate(user_id="ann")
    facts = memory.list(user_id="ann", level="fact", limit=1000)
    history = timeline(facts, "Ann", "lives_in")
    assert [v.value for v in history] == ["Boston", "Paris"], [f.metadata for f in facts]
    assert history[0].superseded_by == history[1].fact_id and history[1].current
    assert all(v.sources for v in history)
    # retract the move: Boston is current again
    memory.delete(history[1].fact_id, user_id="ann")
    again = timeline(memory.list(user_id="ann", level="fact", limit=1000), "Ann", "lives_in")
    assert [(v.value, v.current) for v in again] == [("Boston", True)]


def test_search_and_context_as_of_and_explain(memory: Memory) -> None:
    from outcrop.core.time import FixedClock, using_clock

    with using_clock(FixedClock(datetime(2024, 1, 1, 12))) as clock:  # recorded_at is to the second
        memory.add(
            [{"role": "user", "content": "I live in Boston.", "name": "Ann"}],
            user_id="ann",
            session_id="s1",
            timestamp="2023-01-10T10:00:00Z",
        )
        between = clock.advance(seconds=1)
        clock.advance(seconds=1)
        memory.add(
            [{"role": "user", "content": "I moved to Paris last week.", "name": "Ann"}],
            user_id="ann",
            session_id="s2",
            timestamp="2023-05-10T10:00:00Z",
        )
    now_hits = memory.search("Where does Ann live?", user_id="ann", limit=20)
    texts = " ".join(h.text for h in now_hits)
    assert "Paris" in texts
    superseded = [h for h in now_hits if "superseded_by" in h.explain]
    assert superseded and all("Boston" in h.text for h in superseded)  # explain names the newer fact
    then = memory.search("Where does Ann live?", user_id="ann", limit=20, as_of=between)
    assert then and all("Paris" not in h.text for h in then) and any("Boston" in h.text for h in then)
    assert all("superseded_by" not in h.explain for h in then)
    ctx = memory.context("Where does Ann live?", user_id="ann", as_of=between)
    assert "Boston" in ctx.text and "Paris" not in ctx.text
    assert [v.value for v in memory.timeline("Ann", "lives_in", user_id="ann", as_of=between)] == ["Boston"]
    assert [v.value for v in memory.timeline("ann", user_id="ann")][-1] == "Paris"


def test_timeline_rejects_empty_subject(memory: Memory) -> None:
    import pytest

    from outcrop.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        memory.timeline("  ", user_id="ann")
