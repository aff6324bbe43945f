"""The dense ranking over turns alone: the turns' own order by cosine, for contexts only."""

from __future__ import annotations

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level, Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import ChannelRequest, TurnDenseChannel
from outcrop.retrieve.query import analyse_query
from outcrop.stores.base import SearchFilters
from tests.helpers import say

SCOPE = Scope(user_id="u1")
QUESTION = "What is Joanna inspired by?"
LINES = [
    ("Joanna", "Nature walks inspire me more than anything, the quiet of the woods."),
    ("Nate", "I adopted a turtle last week, he is tiny."),
    ("Joanna", "I finished my screenplay yesterday, it took me two years."),
    ("Nate", "My gaming tournament went well, I won second place."),
    ("Joanna", "My old teacher always pushed me to write about what I feel."),
    ("Nate", "I made coconut ice cream for my friends."),
]


def _talk(m: Memory) -> list[str]:
    ids = [say(m, text, f"s{n}", 1 + n, "u1", name) for n, (name, text) in enumerate(LINES)]
    for n in range(20):  # enough turns that a context is retrieved, not the whole scope
        say(m, f"The weather on day {n} was mild and we stayed in.", f"w{n}", 1 + n % 28, "u1", "Nate")
    return ids


@pytest.fixture
def memory(db_url: str, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig.build({"store": db_url}), embedder=embedder)


def test_the_channel_ranks_turns_only_in_the_dense_channels_order(memory: Memory) -> None:
    with memory as m:
        _talk(m)
        assert m.store.records.count_level(SCOPE, Level.FACT) > 0  # facts that restate the turns
        dense = m.engine.retriever.dense
        channel = TurnDenseChannel(m.store, dense)
        request = ChannelRequest(SCOPE, analyse_query(QUESTION, ["Joanna", "Nate"]), None, 100)
        turns = [i for i, _ in channel.search(request)]
        assert turns and all(i.startswith(Level.TURN.prefix + "_") for i in turns)
        mixed = [i for i, _ in dense.search(request)]
        assert any(not i.startswith(Level.TURN.prefix + "_") for i in mixed)
        assert turns == [i for i in mixed if i in set(turns)]  # the same cosine order, facts left out
        # filters hold; a request for other levels gets nothing from it
        one = ChannelRequest(SCOPE, request.query, SearchFilters(session_id="s0"), 100)
        assert [m.get(i).session_id for i, _ in channel.search(one)] == ["s0"]
        facts_only = ChannelRequest(SCOPE, request.query, SearchFilters(levels=(Level.FACT,)), 100)
        assert channel.search(facts_only) == []


def test_contexts_fuse_the_channel_and_search_does_not(db_url: str, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig.build({"store": db_url}), embedder=embedder) as m:
        _talk(m)
        context = m.context(QUESTION, user_id="u1", max_tokens=100)
        assert any("dense_turns" in item.explain.get("channels", {}) for item in context.items)
        assert all("dense_turns" not in h.explain["channels"] for h in m.search(QUESTION, user_id="u1", limit=30))
        asked = m.search(QUESTION, user_id="u1", limit=30, channels={"bm25": 1.0, "dense_turns": 1.0})
        assert any("dense_turns" in h.explain["channels"] for h in asked)
    lexical = {"bm25": 1.0, "recency": 0.05}  # no dense channel: no ranking over turns from it either
    for retrieval in ({"context_dense_turns": 0.0}, {"channel_weights": lexical}):
        with Memory(config=MemoryConfig.build({"store": db_url, "retrieval": retrieval}), embedder=embedder) as m:
            context = m.context(QUESTION, user_id="u1", max_tokens=100)
            assert context.items and all("dense_turns" not in i.explain.get("channels", {}) for i in context.items)
