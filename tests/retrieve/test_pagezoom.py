"""Zoom from an entity page to the turns behind its lines, in a context."""

from __future__ import annotations

from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level
from outcrop.providers import Embedder
from outcrop.retrieve.pagezoom import is_page

SAID = [
    "I bought new collars for my dogs, they look so cute in them.",
    "My dogs loved the long walk on the beach this morning.",
    "My dogs finally learned to sit and stay at the zorblaxian academy.",
]
# the page channel alone: the relations channel and the hop would rank the page's own turns above it
PAGES_ONLY = {"channel_weights": {"bm25": 1.0, "dense": 0.2, "recency": 0.05, "temporal": 0.3, "pages": 1.0}}
FILLER = [f"We talked about the weather and the number {n} bus being late again." for n in range(40)]


def _build(path: Path, embedder: Embedder) -> list[str]:
    config = MemoryConfig(store=f"sqlite:///{path}", strata={"refresh_growth": 0.0, "pages": True})
    ids = []
    with Memory(config=config, embedder=embedder) as m:
        for n, text in enumerate(SAID):
            ids += m.add(
                [{"name": "Audrey", "content": text}, {"name": "Andrew", "content": "That is lovely to hear."}],
                user_id="u1",
                session_id=f"s{n}",
                timestamp=f"2023-03-0{n + 1}T10:00:00",
            )
        m.add(
            [{"name": "Andrew", "content": text} for text in FILLER],
            user_id="u1",
            session_id="s9",
            timestamp="2023-04-01T10:00:00",
        )
    return ids


def test_a_page_gives_way_to_its_turns_that_match_the_question(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "m.db"
    ids = _build(path, embedder)
    question = "What have Audrey's dogs learned at the academy?"

    def context(zoom: int) -> tuple[list[str], list[bool], str]:
        config = MemoryConfig.build(
            {"store": f"sqlite:///{path}", "strata": {"pages": True}, "retrieval": {"page_zoom": zoom, **PAGES_ONLY}}
        )
        with Memory(config=config, embedder=embedder) as m:
            assert any(is_page(h) for h in m.search(question, user_id="u1", limit=5))  # search keeps the page
            found = m.context(question, user_id="u1", max_tokens=300)
            return [h.id for h in found.items], [is_page(h) for h in found.items], found.text

    _whole_ids, whole_pages, whole_text = context(0)
    assert any(whole_pages) and "Audrey's dogs:" in whole_text
    zoomed_ids, zoomed_pages, zoomed_text = context(2)
    assert not any(zoomed_pages) and "Audrey's dogs:" not in zoomed_text
    assert ids[4] in zoomed_ids  # the academy turn, in the page's place
    assert "zorblaxian" in zoomed_text


def test_without_pages_zoom_changes_nothing(memory: Memory) -> None:
    memory.add([{"name": "Ann", "content": f"Line {n} about gardening and tomatoes."} for n in range(30)], user_id="u1")
    before = memory.context("What about the tomatoes?", user_id="u1", max_tokens=60)
    assert all(h.level != Level.TOPIC or not is_page(h) for h in before.items)
