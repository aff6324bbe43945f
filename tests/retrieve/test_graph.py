"""The entity graph channel: entity seeds and spreading activation over derived_from edges."""

from __future__ import annotations

import itertools

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level, Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.graph import GraphChannel, query_entities
from outcrop.retrieve.query import analyse_query
from tests.helpers import say


def test_query_entities() -> None:
    assert query_entities("What did Ann say about Paris?", ("Ann",)) == ["Ann", "Paris"]
    assert query_entities("When did she go?", ()) == []


def test_graph_channel_finds_entity_items_and_their_derived_facts(memory: Memory) -> None:
    say(memory, "I visited Lisbon with my sister last spring.", "s1", 10, user="ann")
    say(memory, "Work has been busy lately.", "s2", 28, user="ann")
    hits = memory.search("What did Ann do in Lisbon?", user_id="ann", limit=10, channels={"graph": 1.0})
    assert hits and all("busy" not in h.text for h in hits)
    assert "Lisbon" in hits[0].text
    # the raw channel (before cross-level de-duplication): activation spreads turn <-> facts
    request = ChannelRequest(
        scope=Scope(user_id="ann"), query=analyse_query("What did Ann do in Lisbon?", ["Ann"]), filters=None, k=20
    )
    ranked = GraphChannel(memory.store, hops=2).search(request)
    found = memory.store.records.get_items(request.scope, [i for i, _ in ranked])
    assert {found[i].level for i, _ in ranked} >= {Level.TURN, Level.FACT}
    assert all(a >= b for (_, a), (_, b) in itertools.pairwise(ranked))
    assert memory.search("what happened?", user_id="ann", limit=10, channels={"graph": 1.0}) == []


def test_activation_crosses_links_to_related_facts_in_other_sessions(db_url: str, embedder: Embedder) -> None:
    """The violin facts of two sessions are linked at ingest (at a similarity this test sets low
    enough for them); a query naming Greta reaches the second session's fact only through that
    link (it names no Greta)."""
    config = MemoryConfig.build({"store": db_url, "strata": {"link_similarity": 0.5}})
    with Memory(config=config, embedder=embedder) as memory:
        _violin_story(memory)


def _violin_story(memory: Memory) -> None:
    say(memory, "I started learning the violin with a teacher called Greta.", "s1", 10, user="ann")
    say(memory, "My violin lessons are making me practise every single day.", "s2", 28, user="ann")
    scope = Scope(user_id="ann")
    facts = {f.id: f for f in memory.list(user_id="ann", level=Level.FACT, limit=10)}
    lessons = next(i for i, f in facts.items() if "lessons" in f.text)
    assert any(lessons in (k.src, k.dst) for k in memory.store.records.links(scope, list(facts))), "linked at ingest"
    request = ChannelRequest(scope=scope, query=analyse_query("Who is Greta?", ["Ann"]), filters=None, k=20)
    reached = dict(GraphChannel(memory.store, hops=1).search(request))
    assert lessons in reached
    seeds = [i for i, f in facts.items() if "Greta" in f.text]
    assert all(reached[lessons] < reached[s] for s in seeds)
