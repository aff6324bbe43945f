"""BM25's pseudo-relevance feedback: a question that asks for a list takes its feedback terms
from more of its first hits, at a higher weight."""

from __future__ import annotations

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.config import RetrievalConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import BM25Channel, ChannelRequest
from outcrop.stores.base import ScoredId
from tests.helpers import say

SCOPE = Scope(user_id="u1")
QUESTION = "What recipes has Nate made?"


def _kitchen(m: Memory) -> str:
    """One turn that says the question's words most often (its fact and episode restate it: the
    first three hits), five that say them once and name coconut twice, five that name Nate only,
    and the answer, which names coconut and (in its fact) Nate."""
    say(m, "Nate made recipes all week: recipes from the old book, recipes from his mum.", "a", 1, name="Joanna")
    for n, dish in enumerate(["cake", "soup", "bread", "curry", "pie"]):
        say(m, f"Nate shared recipes: a coconut {dish} with coconut milk.", f"b{n}", 5 + n, name="Joanna")
    for n, chore in enumerate(
        ["fixed the fence", "walked the dog", "washed the car", "painted the door", "cut the grass"]
    ):
        say(m, f"Nate {chore} today.", f"e{n}", 14 + n, name="Joanna")  # the question's name, nothing else
    m.add(  # enough other talk that BM25's document frequencies mean something
        [{"name": "Joanna", "content": f"The number {n} bus was late again, said the driver."} for n in range(40)],
        user_id="u1",
        session_id="c",
        timestamp="2023-05-12T10:00:00",
    )
    return say(m, "Last night I whipped up a coconut ice cream, so creamy!", "d", 20, name="Nate")


def _rank(channel: BM25Channel, m: Memory, item: str) -> int:
    analysis = m.engine.retriever.analyse(SCOPE, QUESTION)
    found: list[ScoredId] = channel.search(ChannelRequest(SCOPE, analysis, None, 50))
    ids = [i for i, _ in found]
    return ids.index(item) if item in ids else len(ids)


@pytest.fixture
def memory(db_url: str, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig.build({"store": db_url}), embedder=embedder)


def test_a_list_question_takes_feedback_from_more_first_hits(memory: Memory) -> None:
    with memory as m:
        answer = _kitchen(m)
        assert m.engine.retriever.analyse(SCOPE, QUESTION).lists
        assert not m.engine.retriever.analyse(SCOPE, "When did Nate make the coconut cake?").lists
        default = RetrievalConfig()
        as_any_question = RetrievalConfig(list_prf_weight=default.prf_weight, list_prf_docs=default.prf_docs)
        off = RetrievalConfig(prf_weight=0.0)  # no feedback at all, list or not
        listed = _rank(BM25Channel(m.store, default), m, answer)
        plain = _rank(BM25Channel(m.store, as_any_question), m, answer)
        without = _rank(BM25Channel(m.store, off), m, answer)
        assert listed < plain and listed < without  # "coconut" is a feedback term from 8 hits, not from 3


def test_feedback_terms_leave_out_the_participants_names(memory: Memory) -> None:
    """A fact says who said it ("Joanna: Nate shared recipes …"): the names are in most documents
    and would lift a turn's fact above the turn."""
    with memory as m:
        _kitchen(m)
        analysis = m.engine.retriever.analyse(SCOPE, QUESTION)
        request = ChannelRequest(SCOPE, analysis, None, 50)
        channel = BM25Channel(m.store, RetrievalConfig())
        first = m.store.lexical.search(SCOPE, dict.fromkeys(analysis.terms, 1.0), 50, None)
        terms = channel._expansion_terms(request, first[:8], set(analysis.terms))
        assert "coconut" in terms and "joanna" not in terms
