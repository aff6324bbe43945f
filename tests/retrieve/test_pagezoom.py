"""Zoom from an entity page to the turns behind its lines, in a context."""

from __future__ import annotations

from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.payloads import RelationPayload
from outcrop.core.types import Hit, Level, Scope
from outcrop.providers import Embedder
from outcrop.retrieve.context import pack_context
from outcrop.retrieve.pagezoom import is_page, zoom_pages
from tests.helpers import say

SAID = [
    "I bought new collars for my dogs, they look so cute in them.",
    "My dogs loved the long walk on the beach this morning.",
    "My dogs finally learned to sit and stay at the zorblaxian academy.",
]
# the page channel alone: the relations channel, the hop and a context's dense feedback would rank the
# page's own turns (or their facts) above it
PAGES_ONLY = {
    "channel_weights": {"bm25": 1.0, "dense": 0.2, "recency": 0.05, "temporal": 0.3, "pages": 1.0},
    "context_feedback": 0.0,
}
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


def test_a_relation_view_is_its_line_without_dates_in_a_context(db_url: str, embedder: Embedder) -> None:
    config = MemoryConfig.build({"store": db_url, "strata": {"relations": True}, "retrieval": {"prf_weight": 0.0}})
    with Memory(config=config, embedder=embedder) as memory:
        pets = [
            say(memory, "We adopted a puppy named Pixie last weekend.", "s1", 1, name="Audrey"),
            say(memory, "I rescued a kitten called Mochi from the shelter.", "s2", 5, name="Audrey"),
            say(memory, "I also got another puppy named Bean, a tiny beagle.", "s3", 9, name="Audrey"),
        ]
        for day, topic in enumerate(["the garden", "my sister", "the hike", "a new recipe", "the book club"]):
            say(memory, f"Audrey, tell me about {topic} again.", f"f{day}", 10 + day, name="Andrew")
            say(memory, f"Yes, Andrew, {topic} is on my mind a lot lately.", f"f{day}", 10 + day, name="Audrey")
        memory.add([{"name": "Andrew", "content": text} for text in FILLER], user_id="u1", session_id="s9")
        question = "Which pets has Audrey adopted?"
        view = next(h for h in memory.search(question, user_id="u1", limit=5) if is_page(h))
        assert "(since 1 May 2023)" in view.text  # search returns the view as stored, with its dates
        found = memory.context(question, user_id="u1", max_tokens=200)  # not the whole scope
        line = next(h for h in found.items if h.id == view.id)
        brief = RelationPayload.of(view).brief()
        assert brief in found.text and "since" not in found.text
        assert all(name in brief for name in ("Pixie", "Mochi", "Bean"))
        assert line.text == view.text and line.sources == view.sources  # the item as stored; it carries its turns
        assert len(set(pets) & {h.id for h in found.items}) < len(pets)  # a turn ranked above the view may be there
        # zoomed: the line first, then the view's turns as the question ranked them
        zoomed = zoom_pages(memory.store, Scope(user_id="u1"), [view], 4, brief=True)
        assert zoomed[0].explain["line"] == brief and [h.id for h in zoomed[1:]] == view.explain["zoom_in"]
        # a question about time: the view gives way to its dated turns
        assert "line" not in zoom_pages(memory.store, Scope(user_id="u1"), [view], 4)[0].explain
        dated = memory.context("When did Audrey adopt her pets?", user_id="u1", max_tokens=200)
        assert brief not in dated.text


def test_the_packer_takes_a_views_turns_only_where_its_line_did_not_fit() -> None:
    """What the view's brief line relies on: a turn the line carries is not packed again, and
    packed in its place when the line does not fit the budget."""
    names = ", ".join(["Pixie", "Bean", "Pretzel", "Biscuit", "Pepper", "Panda", "Precious", "Noodle"])
    view = Hit(id="c_1", text=f"Audrey — owns: dog: {names}", score=1.0, level=Level.TOPIC, sources=["t_1", "t_2"])
    turns = [
        Hit(id=f"t_{n}", text=text, score=1.0, level=Level.TURN, speaker="Audrey")
        for n, text in ((1, "We adopted Pixie."), (2, "Bean is a beagle."))
    ]
    question = "Which pets has Audrey adopted?"
    roomy = pack_context(question, [view, *turns], 300)
    assert [h.id for h in roomy.items] == ["c_1"]  # the line carries both turns
    one_turn = next(b for b in range(1, 300) if pack_context(question, turns[:1], b).items)
    tight = pack_context(question, [view, *turns], one_turn)
    assert [h.id for h in tight.items] == ["t_1"]
