"""The focus channel: the question's words without its names find turns the whole question does not."""

from __future__ import annotations

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.focus import FocusChannel, focus_text
from outcrop.retrieve.query import analyse_query
from outcrop.stores.base import SearchFilters
from tests.helpers import say

SCOPE = Scope(user_id="u1")
QUESTION = "What European countries has Maria been to?"


def test_focus_text_keeps_the_content_words_without_names_and_light_verbs() -> None:
    assert focus_text("What martial arts has John done?", ["John", "Maria"]) == "martial arts"
    assert focus_text(QUESTION, ["John", "Maria"]) == "european countries"
    assert focus_text("What has John done?", ["John"]) == ""
    assert focus_text("What did Maria's dog eat?", ["Maria"]) == "dog eat"


@pytest.fixture
def memory(db_url: str, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig.build({"store": db_url}), embedder=embedder)


def _talk(m: Memory) -> str:
    """A conversation that names Maria often; the one turn about a country names nobody."""
    lines = [
        ("John", "Maria, how was the volunteering at the shelter this week?"),
        ("Maria", "It was good, John! Maria's team served two hundred meals."),
        ("John", "Maria, you always make time for others, that's great."),
        ("Maria", "Thanks John, Maria tries her best every week."),
        ("John", "Has Maria been busy with the charity run too?"),
        ("Maria", "Yes John, Maria has been training for the charity run every morning."),
    ]
    for n, (name, text) in enumerate(lines):
        say(m, text, f"s{n // 2}", 1 + n, name=name)
    return say(m, "Last year I took a solo trip and took this pic in Spain.", "s3", 9, name="Maria")


def test_the_focus_channel_ranks_the_turn_the_whole_question_misses(memory: Memory) -> None:
    with memory as m:
        spain = _talk(m)
        dense = m.engine.retriever.dense
        channel = FocusChannel(m.store, dense)
        request = ChannelRequest(SCOPE, analyse_query(QUESTION, ["John", "Maria"]), None, 20)
        focused = [i for i, _ in channel.search(request)]
        whole = [i for i, _ in dense.search(request)]
        assert focused[0] == spain
        assert whole.index(spain) > 0  # the turns that name Maria lie nearer the whole question
        # filters hold as for the dense channel; a question left with no words abstains
        other = SearchFilters(session_id="s0")
        assert spain not in [i for i, _ in channel.search(ChannelRequest(SCOPE, request.query, other, 20))]
        empty = analyse_query("What has Maria done?", ["John", "Maria"])
        assert channel.search(ChannelRequest(SCOPE, empty, None, 20)) == []


def test_search_lists_the_channel_and_it_can_be_turned_off(memory: Memory) -> None:
    with memory as m:
        spain = _talk(m)
        hits = m.search(QUESTION, user_id="u1", limit=5)
        found = [h for h in hits if spain in (h.id, *h.sources)]  # the turn, or the fact said in it
        assert found and "focus" in found[0].explain["channels"]
        off = m.search(QUESTION, user_id="u1", limit=5, channels={"bm25": 1.0, "dense": 0.2})
        assert all("focus" not in h.explain["channels"] for h in off)
