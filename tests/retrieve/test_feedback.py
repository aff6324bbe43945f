"""Dense pseudo-relevance feedback: the query moved toward its first hits finds what lies beside them."""

from __future__ import annotations

import numpy as np
import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.feedback import FeedbackChannel, shifted_query
from outcrop.retrieve.query import analyse_query
from outcrop.stores.base import SearchFilters
from tests.helpers import say

SCOPE = Scope(user_id="u1")
QUESTION = "What are the names of Audrey's dogs?"


def test_the_shifted_query_is_the_query_moved_toward_the_mean_at_unit_length() -> None:
    query = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    relevant = [np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])]
    moved = shifted_query(query, relevant, 1.0)
    assert moved is not None
    assert np.allclose(moved, np.array([1.0, 0.5, 0.5]) / np.linalg.norm([1.0, 0.5, 0.5]))
    assert np.allclose(shifted_query(query, relevant, 0.0), query)  # no shift: the query itself
    assert shifted_query(query, [], 0.3) is None
    assert shifted_query(query, [-query], 1.0) is None  # nothing left to search with


def _dogs(m: Memory) -> tuple[str, str]:
    """Turns that talk about dogs (near the question), the one naming three of them, and the one
    naming the fourth, which shares the names, not the question's words."""
    lines = [
        ("Audrey", "My dogs love running around the dog park."),
        ("Andrew", "What breed are your dogs?"),
        ("Audrey", "Dogs are the best friends anyone could have."),
        ("Andrew", "I want to get a dog someday."),
        ("Audrey", "My dogs hate the snow, they hide under the table."),
        ("Andrew", "Do your dogs get along with other dogs?"),
        ("Audrey", "The dogs went to the groomer and came back fluffy."),
    ]
    for n, (name, text) in enumerate(lines):
        say(m, text, f"s{n}", 1 + n, name=name)
    named = say(
        m, "Their names are Pepper, Precious and Panda. I can't live without my little ones!", "s9", 20, "u1", "Audrey"
    )
    fourth = say(m, "Pixie, Pepper, Precious and Panda all sleep on my bed.", "s10", 30, "u1", "Audrey")
    return named, fourth


@pytest.fixture
def memory(db_url: str, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig.build({"store": db_url}), embedder=embedder)


def test_the_channel_ranks_what_lies_beside_the_first_hit_higher_than_the_dense_channel(memory: Memory) -> None:
    with memory as m:
        named, fourth = _dogs(m)
        dense = m.engine.retriever.dense
        channel = FeedbackChannel(m.store, dense, docs=1, shift=0.3)
        request = ChannelRequest(SCOPE, analyse_query(QUESTION, ["Audrey", "Andrew"]), None, 30)
        plain = [i for i, _ in dense.search(request)]
        moved = [i for i, _ in channel.search(request, [(named, 1.0)])]
        assert moved.index(fourth) + 5 <= plain.index(fourth)
        assert channel.search(request) == []  # no first pass: it abstains
        # filters hold as for the dense channel
        only = ChannelRequest(SCOPE, request.query, SearchFilters(session_id="s0"), 30)
        assert fourth not in [i for i, _ in channel.search(only, [(named, 1.0)])]


def test_contexts_fuse_the_channel_and_search_does_not(db_url: str, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig.build({"store": db_url}), embedder=embedder) as m:
        _dogs(m)
        for n in range(20):  # enough turns that a context is retrieved, not the whole scope
            say(m, f"The weather on day {n} was mild and we stayed in.", f"w{n}", 1 + n % 28, "u1", "Andrew")
        context = m.context(QUESTION, user_id="u1", max_tokens=100)
        assert any("feedback" in item.explain.get("channels", {}) for item in context.items)
        assert all("feedback" not in h.explain["channels"] for h in m.search(QUESTION, user_id="u1", limit=30))
        asked = m.search(QUESTION, user_id="u1", limit=30, channels={"bm25": 1.0, "feedback": 1.0})
        assert any("feedback" in h.explain["channels"] for h in asked)
        # a filter holds for what the channel brings too
        narrowed = m.context(QUESTION, user_id="u1", max_tokens=100, filters={"session_id": "s10"})
        assert narrowed.items and all(i.session_id == "s10" for i in narrowed.items)
    lexical = {"bm25": 1.0, "recency": 0.05}  # no dense channel: no feedback from it either
    for retrieval in (
        {"context_feedback": 0.0},
        {"channel_weights": lexical},
        {"channel_weights": lexical | {"feedback": 1.0}, "context_feedback": 0.0},
    ):
        with Memory(config=MemoryConfig.build({"store": db_url, "retrieval": retrieval}), embedder=embedder) as m:
            context = m.context(QUESTION, user_id="u1", max_tokens=100)
            assert context.items and all("feedback" not in i.explain.get("channels", {}) for i in context.items)
