"""The plan writer: a consolidation stage's changes land in one transaction, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Level, Memory, MemoryConfig, WriteConflict
from outcrop.core.types import Item, Scope
from outcrop.providers import Embedder
from outcrop.strata.plan import StrataPlan
from tests.helpers import STORY_STRATA, ingest_story

OWNER = Scope(user_id="u1")


@pytest.fixture(params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    url = f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    strata = {**STORY_STRATA, "link_similarity": 0.3}  # some links to keep
    with Memory(config=MemoryConfig(store=url, strata=strata), embedder=embedder) as m:
        ingest_story(m)
        yield m


def stored(m: Memory, level: str) -> dict[str, Item]:
    return {i.id: i for i in m.list(user_id="u1", level=level, limit=1000)}


def test_a_plan_applies_whole_removals_replacements_and_new_items(filled: Memory) -> None:
    writer = filled.engine.consolidator.writer
    topics, profile, facts = stored(filled, "topic"), stored(filled, "profile"), stored(filled, "fact")
    gone = next(iter(topics))
    line = next(iter(profile.values())).model_copy(deep=True)
    line.text += " (checked by zorblaxian)"
    linked = next(f for f in facts.values() if filled.store.records.links(OWNER, [f.id]))
    links_before = filled.store.records.links(OWNER, [linked.id])
    fact = linked.model_copy(deep=True)
    fact.sources = [*fact.sources, "t_extra"]
    plan = StrataPlan(changed=[line, fact], keep_recorded={fact.id})
    plan.remove(OWNER, Level.TOPIC, [gone])
    counts = writer.apply(plan)
    assert counts.removed == {Level.TOPIC: 1} and counts.written == {Level.PROFILE: 1, Level.FACT: 1}
    assert gone not in stored(filled, "topic")
    assert stored(filled, "profile")[line.id].text == line.text
    rewritten = filled.get(fact.id, user_id="u1")
    assert "t_extra" in rewritten.sources and rewritten.recorded_at == linked.recorded_at
    assert filled.store.records.links(OWNER, [fact.id]) == links_before  # a replaced fact keeps its links
    found = filled.search("zorblaxian", user_id="u1", limit=3, filters={"level": "profile"})
    assert found[0].id == line.id and "zorblaxian" in found[0].text  # indexed under its new text


def test_a_plan_that_fails_writes_none_of_it(filled: Memory) -> None:
    writer = filled.engine.consolidator.writer
    topics, profile = stored(filled, "topic"), stored(filled, "profile")
    gone = next(iter(topics))
    line = next(iter(profile.values())).model_copy(deep=True)
    line.text = "Caroline pet: a zebra"
    clash = next(iter(stored(filled, "episode").values())).model_copy(deep=True)  # "new", yet stored
    plan = StrataPlan(new=[clash], changed=[line])
    plan.remove(OWNER, Level.TOPIC, [gone])
    with pytest.raises(WriteConflict):
        writer.apply(plan)
    assert gone in stored(filled, "topic")
    assert stored(filled, "profile")[line.id].text == profile[line.id].text
    assert not [h for h in filled.search("zebra", user_id="u1", limit=5) if "zebra" in h.text]
