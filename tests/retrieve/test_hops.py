"""Multi-hop retrieval by bridge entities: first hop → the names its hits carry → second hop."""

from __future__ import annotations

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level, Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.hops import HopChannel, bridge_names
from outcrop.retrieve.query import analyse_query
from outcrop.stores.base import SearchFilters
from tests.helpers import say

QUESTION = "What did the adopted puppy damage?"


def _story(memory: Memory) -> str:
    say(memory, "I adopted a puppy and named her Biscuit.", "s1", 1)
    say(memory, "Work was busy today, lots of meetings.", "s2", 5)
    answer = say(memory, "Biscuit chewed through the garden hose this morning.", "s3", 9)
    say(memory, "I repainted the fence on Sunday.", "s4", 12)
    return answer


def _carries(memory: Memory, hits: list[str], turn: str) -> bool:
    items = memory.store.records.get_items(Scope(user_id="u1"), hits)
    return any(i == turn or turn in item.sources for i, item in items.items())


def test_bridge_names_skip_sentence_starts_but_keep_names() -> None:
    from outcrop.core.types import Item

    item = Item(id="t", level=Level.TURN, scope=Scope(user_id="u1"), text="Sure! I took Biscuit to see Dr Mills.")
    assert bridge_names(item, []) == ["Biscuit", "Dr", "Mills"]


def test_the_answer_is_found_through_the_bridge_entity_and_not_without_the_hop(db_url: str, embedder: Embedder) -> None:
    """Pseudo-relevance feedback off: its terms from the first hit ("biscuit") would reach the answer too."""
    config = MemoryConfig.build({"store": db_url, "retrieval": {"prf_weight": 0.0}})
    with Memory(config=config, embedder=embedder) as memory:
        _bridge(memory)


def _bridge(memory: Memory) -> None:
    answer = _story(memory)
    with_hop = memory.search(QUESTION, user_id="u1", limit=10, channels={"bm25": 1.0, "hops": 1.0})
    without = memory.search(QUESTION, user_id="u1", limit=10, channels={"bm25": 1.0})
    assert _carries(memory, [h.id for h in with_hop], answer)
    assert not _carries(memory, [h.id for h in without], answer)  # no word in common with the question
    reached = next(h for h in with_hop if _carries(memory, [h.id], answer))
    assert reached.explain["channels"]["hops"]["rank"] >= 1


def test_the_hop_abstains_without_a_first_hop_or_under_filters(memory: Memory) -> None:
    _story(memory)
    request = ChannelRequest(scope=Scope(user_id="u1"), query=analyse_query(QUESTION, ["Ann"]), filters=None, k=20)
    hop = HopChannel(memory.store)
    assert hop.search(request, []) == []
    first = memory.store.lexical.search(request.scope, {"puppy": 1.0}, 5, None)
    assert hop.search(request, first)
    narrowed = ChannelRequest(request.scope, request.query, SearchFilters(levels=(Level.TURN,)), 20)
    assert hop.search(narrowed, first) == []
