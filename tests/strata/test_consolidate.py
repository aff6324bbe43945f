"""Consolidation on a real store: facts, episodes, topics and a profile, built idempotently."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Level, Memory, MemoryConfig
from outcrop.providers import Embedder
from tests.helpers import STORY_STRATA, ingest_story


@pytest.fixture
def filled(tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata=STORY_STRATA)
    with Memory(config=config, embedder=embedder) as m:
        ingest_story(m)
        yield m


def test_every_level_is_built_with_provenance_down_to_turns(filled: Memory) -> None:
    counts = filled.stats(user_id="u1")["counts"]
    assert counts["turn"] == 10
    assert counts["fact"] >= 10 and counts["episode"] == 3 and counts["topic"] >= 1 and counts["profile"] >= 2
    turns = {t.id for t in filled.list(user_id="u1", level="turn", limit=100)}
    for level in ("fact", "episode", "topic", "profile"):
        for item in filled.list(user_id="u1", level=level, limit=100):
            assert item.sources and set(item.sources) <= turns, (level, item.text)
            assert item.producer.endswith("@1")


def test_facts_carry_resolved_dates_and_the_speakers_name(filled: Memory) -> None:
    facts = filled.list(user_id="u1", level="fact", limit=100)
    group = next(f for f in facts if "support group" in f.text)
    assert group.text.startswith("Caroline went") and "(7 May 2023)" in group.text
    assert group.metadata["dates"][0]["start"] == "2023-05-07"
    assert group.scope.session_id == "s1"


def test_episode_summarises_its_session_and_cites_the_quoted_turns(filled: Memory) -> None:
    [episode] = filled.list(user_id="u1", session_id="s2", level="episode")
    assert episode.text.startswith("Conversation on 20 June 2023 between Melanie and Caroline")
    quoted = filled.store.records.get_items(episode.scope, episode.sources)
    assert all(turn.text.split()[0] in episode.text for turn in quoted.values())
    assert episode.metadata["participants"] == ["Melanie", "Caroline"]


def test_profile_tracks_current_value_and_history_of_single_slots(filled: Memory) -> None:
    profile = {
        p.metadata["attribute"]: p for p in filled.list(user_id="u1", level="profile") if p.speaker == "Caroline"
    }
    lives = profile["lives_in"]
    assert lives.text.startswith("Caroline lives in: Paris") and "earlier: Boston" in lives.text
    likes = {p.metadata["attribute"]: p for p in filled.list(user_id="u1", level="profile") if p.speaker == "Melanie"}
    values = [v["value"] for v in likes["likes"].metadata["values"]]
    assert {"pottery", "painting"} <= set(values) and any("camping" in v for v in values)


def test_topics_group_facts_across_sessions(filled: Memory) -> None:
    topics = filled.list(user_id="u1", level="topic")
    pottery = [t for t in topics if "pottery" in t.text.lower()]
    assert pottery, [t.text for t in topics]
    facts = filled.store.records.get_items(pottery[0].scope, pottery[0].metadata["facts"])
    assert len({f.scope.session_id for f in facts.values()}) >= 2


def test_consolidation_is_idempotent(filled: Memory) -> None:
    before = filled.stats(user_id="u1")["counts"]
    snapshot = {(i.id, i.text) for i in filled.list(user_id="u1", limit=1000)}
    report = filled.consolidate(user_id="u1")
    assert report.written == {} and report.removed == {}
    ingest_story(filled)  # re-ingesting the same input adds nothing either
    assert filled.stats(user_id="u1")["counts"] == before
    assert {(i.id, i.text) for i in filled.list(user_id="u1", limit=1000)} == snapshot


def test_consolidate_on_demand_equals_consolidate_on_add(tmp_path: Path, embedder: Embedder, filled: Memory) -> None:
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'later.db'}", strata={**STORY_STRATA, "on_add": False})
    with Memory(config=config, embedder=embedder) as later:
        ingest_story(later)
        assert later.stats(user_id="u1")["counts"].get("fact", 0) == 0
        later.consolidate(user_id="u1")

        def derived(m: Memory) -> set[tuple[str, str, tuple[str, ...]]]:
            """Content and provenance by turn text (turn ids differ between stores)."""
            texts = {t.id: t.text for t in m.list(user_id="u1", level="turn", limit=1000)}
            return {
                (i.level.value, i.text, tuple(sorted(texts[s] for s in i.sources)))
                for i in m.list(user_id="u1", limit=1000)
                if i.level != Level.TURN
            }

        assert derived(later) == derived(filled)


def test_strata_stay_inside_their_user(filled: Memory) -> None:
    filled.add("I adore opera and I live in Vienna.", user_id="u2", session_id="x")
    assert all(p.speaker != "Caroline" for p in filled.list(user_id="u2", level="profile"))
    assert all("Vienna" not in i.text for i in filled.list(user_id="u1", limit=1000))


def test_deleting_a_turn_removes_its_facts_and_refreshes_what_cited_it(filled: Memory) -> None:
    paris = next(t for t in filled.list(user_id="u1", level="turn", limit=100) if "Paris" in t.text)
    assert filled.store.records.derived_from(paris.scope, [paris.id])
    filled.delete(paris.id)
    everything = filled.list(user_id="u1", limit=1000)
    assert all(paris.id not in i.sources for i in everything)
    assert not any("Paris" in i.text for i in everything)
    lives = next(p for p in filled.list(user_id="u1", level="profile") if p.metadata["attribute"] == "lives_in")
    assert lives.text.startswith("Caroline lives in: Boston")
    assert all(h.id != paris.id and paris.id not in h.sources for h in filled.search("Paris", user_id="u1"))


def test_updating_a_turn_re_derives_its_facts(filled: Memory) -> None:
    boston = next(t for t in filled.list(user_id="u1", level="turn", limit=100) if "Boston" in t.text)
    filled.update(boston.id, "I live in Lisbon. I'm planning to study counseling next year.")
    facts = [f.text for f in filled.list(user_id="u1", level="fact", limit=1000) if boston.id in f.sources]
    assert "Caroline lives in Lisbon." in facts and not any("Boston" in f for f in facts)
    lives = next(p for p in filled.list(user_id="u1", level="profile") if p.metadata["attribute"] == "lives_in")
    assert "Lisbon" in lives.text and "Boston" not in lives.text
