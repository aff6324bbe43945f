"""Entity pages: what a participant said about one thing of theirs, joined across sessions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.payloads import FactPayload, TopicPayload
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import Embedder
from outcrop.strata.pages import EntityPages, singular

PEOPLE = ["Audrey", "Andrew"]


def fact(n: int, session: str, speaker: str, text: str, entities: list[str] | None = None) -> Item:
    return Item(
        id=f"f_{n}",
        level=Level.FACT,
        scope=Scope(user_id="u1", session_id=session),
        text=text,
        speaker=speaker,
        timestamp=datetime(2023, 3, n),
        metadata=FactPayload(entities=entities or []).to_metadata(),
        sources=[f"t_{n}"],
    )


def test_singular_nouns() -> None:
    assert [singular(w) for w in ("dogs", "puppies", "classes", "class", "bus", "kids")] == [
        "dog",
        "puppy",
        "class",
        "class",
        "bus",
        "kid",
    ]


def test_a_page_joins_what_the_owner_said_about_one_thing_across_sessions() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey got new collars for Audrey's dogs.", ["Audrey"]),
        fact(2, "s2", "Audrey", "Audrey adopted a puppy named Pixie.", ["Audrey", "Pixie"]),
        fact(3, "s3", "Audrey", "Pixie is such a cuddle bug.", ["Pixie"]),
        fact(4, "s3", "Andrew", "Andrew hopes Audrey's dogs enjoy the park.", ["Andrew", "Audrey"]),
        fact(5, "s4", "Audrey", "Audrey took the dogs to an agility class.", ["Audrey"]),
        fact(6, "s4", "Andrew", "Andrew went to the dog park alone.", ["Andrew"]),  # not Audrey's
        fact(7, "s2", "Andrew", "Andrew likes Audrey's recipe for pot pie.", ["Andrew"]),  # said once: no page
    ]
    [page] = EntityPages(min_facts=2).build(facts, PEOPLE)
    assert page.label == "Audrey's dogs"
    assert page.facts == ["f_1", "f_4", "f_5"]  # the owner's dog facts and anyone's "Audrey's dogs"
    assert page.text.startswith("Audrey's dogs: [1 March 2023] Audrey got new collars")
    assert page.sources == ["t_1", "t_4", "t_5"]
    assert page.metadata == {"kind": "page", "owner": "Audrey", "thing": "dog", "forms": ["dogs"]}


def test_a_name_given_to_the_thing_brings_in_what_is_said_of_it_by_name() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey adopted a puppy named Pixie.", ["Audrey", "Pixie"]),
        fact(2, "s2", "Audrey", "Audrey's puppy loves the beach.", ["Audrey"]),
        fact(3, "s3", "Audrey", "Pixie is such a cuddle bug.", ["Pixie"]),
        fact(4, "s3", "Andrew", "Andrew met a Pixie at the cafe.", ["Pixie"]),  # not Audrey's
    ]
    [page] = EntityPages(min_facts=2).build(facts, PEOPLE)
    assert page.label == "Audrey's puppy (Pixie)" and page.entities == ["Audrey", "Pixie"]
    assert page.facts == ["f_1", "f_2", "f_3"]


def test_forgetting_a_turn_takes_its_line_off_the_page(tmp_path: Path, embedder: Embedder) -> None:
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata={"refresh_growth": 0.0, "pages": True})
    with Memory(config=config, embedder=embedder) as m:
        days = ["2023-03-01T10:00:00", "2023-03-08T10:00:00", "2023-03-15T10:00:00"]
        said = [
            "I bought new collars for my dogs, they look so cute in them.",
            "My dogs loved the long walk on the beach this morning.",
            "My dogs finally learned to sit and stay at the zorblaxian academy.",
        ]
        ids = []
        for n, (day, text) in enumerate(zip(days, said, strict=True)):
            ids += m.add(
                [{"name": "Audrey", "content": text}, {"name": "Andrew", "content": "That is lovely to hear."}],
                user_id="u1",
                session_id=f"s{n}",
                timestamp=day,
            )

        def pages() -> list[Item]:
            topics = m.list(user_id="u1", level="topic", limit=100)
            return [t for t in topics if TopicPayload.from_metadata(t.metadata).kind == "page"]

        [page] = pages()
        assert page.text.startswith("Audrey's dogs:") and "zorblaxian" in page.text
        assert set(page.sources) == {ids[0], ids[2], ids[4]}
        # the page channel: a query naming the owner and the thing reaches the page
        [found] = m.search("What have Audrey's dogs learned?", user_id="u1", channels={"pages": 1.0})
        assert found.id == page.id and found.explain["channels"]["pages"]["rank"] == 1
        assert m.search("What has Andrew's dog learned?", user_id="u1", channels={"pages": 1.0}) == []
        m.forget([ids[4]], user_id="u1")
        [page] = pages()
        assert "zorblaxian" not in page.text and set(page.sources) == {ids[0], ids[2]}
        m.forget([ids[2]], user_id="u1")
        assert pages() == []  # one session left: nothing to join
