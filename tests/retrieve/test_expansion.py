"""Query term expansion through WordLlama's token space: the lexical gap."""

from __future__ import annotations

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from outcrop.providers.term_neighbours import term_neighbours
from outcrop.retrieve.expansion import expand_terms
from tests.helpers import say

pytestmark = pytest.mark.integration


def test_terms_gain_their_neighbours_weighted_by_cosine_but_not_names_or_fragments() -> None:
    vocabulary = term_neighbours()
    found = expand_terms(["kids", "recipes"], vocabulary, neighbours=3, floor=0.45, weight=0.3)
    assert 0.3 * 0.45 <= found["children"] <= 0.3
    assert not any(w.startswith(("rec", "kid")) for w in found)  # forms and fragments: the stemmer's
    assert expand_terms(["nate"], vocabulary, neighbours=3, floor=0.3, weight=0.3, names=["Nate"]) == {}
    assert expand_terms(["might"], vocabulary, neighbours=3, floor=0.3, weight=0.3) == {}


def test_a_turn_sharing_no_word_with_the_query_is_found_through_a_neighbour(db_url: str, embedder: Embedder) -> None:
    def answer_found(weight: float) -> bool:
        config = MemoryConfig.build({"store": db_url, "retrieval": {"expansion_weight": weight}})
        with Memory(config=config, embedder=embedder) as memory:
            hits = memory.search("Which places do kids enjoy?", user_id="u1", limit=10, channels={"bm25": 1.0})
            return any("zoo" in h.text for h in hits)

    with Memory(config=MemoryConfig(store=db_url), embedder=embedder) as memory:
        say(memory, "The children adore the zoo.", "s1", 1)
        say(memory, "Work was busy today.", "s2", 8)
        say(memory, "I repainted the fence on Sunday.", "s3", 15)
    assert not answer_found(0.0)
    assert answer_found(0.3)
