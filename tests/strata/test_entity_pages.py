"""Entity pages: dated statements about a salient name across sessions, and what forgetting does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.payloads import EntityPayload, FactPayload, RelationPayload
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import Embedder
from outcrop.strata.derived import topic_item
from outcrop.strata.entity_pages import EntityPageBuilder
from outcrop.strata.relations import RelationExtractor

PEOPLE = ["Audrey", "Andrew"]


def fact(n: int, session: str, speaker: str, text: str, entities: list[str] | None = None) -> Item:
    return Item(
        id=f"f_{n:02d}",
        level=Level.FACT,
        scope=Scope(user_id="u1", session_id=session),
        text=text,
        speaker=speaker,
        timestamp=datetime(2023, 3, n),
        metadata=FactPayload(entities=entities or []).to_metadata(),
        sources=[f"t_{n}"],
    )


def pages(facts: list[Item]) -> dict[str, EntityPayload]:
    found = RelationExtractor().extract(facts, PEOPLE)
    drafts = EntityPageBuilder().build(facts, PEOPLE, found)
    return {d.key: EntityPayload.of(topic_item(Scope(user_id="u1"), d, "test")) for d in drafts}


def test_a_pet_page_joins_sessions_through_its_name_and_what_refers_to_it() -> None:
    facts = [
        fact(1, "s1", "Audrey", "Audrey adopted a puppy named Pepper.", ["Pepper"]),
        fact(2, "s1", "Audrey", "He is such a cuddle bug.", []),
        fact(3, "s1", "Andrew", "Andrew likes tea.", []),
        fact(4, "s2", "Audrey", "Audrey's pup loves the dog park.", []),
        fact(5, "s3", "Audrey", "Sadly Pepper passed away yesterday.", ["Pepper"]),
    ]
    drafts = EntityPageBuilder().build(facts, PEOPLE, RelationExtractor().extract(facts, PEOPLE))
    [draft] = drafts
    assert draft.label == "Pepper (Audrey's dog since 1 March 2023; ended 5 March 2023)"
    assert draft.sources == ["t_1", "t_2", "t_4", "t_5"]
    page = pages(facts)["entity:Pepper"]
    assert page.type == "pet" and page.name == "Pepper"
    # statements before the pet died are no longer current; the one saying so is
    assert [(s.fact, s.current) for s in page.statements] == [
        ("f_01", False),
        ("f_02", False),
        ("f_04", False),
        ("f_05", True),
    ]


def test_a_name_said_in_one_session_only_makes_no_page() -> None:
    facts = [
        fact(1, "s1", "Andrew", "Andrew visited Rome.", ["Rome"]),
        fact(2, "s1", "Andrew", "Rome was hot.", ["Rome"]),
    ]
    assert pages(facts) == {}


def audrey_says(m: Memory, said: list[tuple[str, str]]) -> list[str]:
    """Each (day, text) as Audrey's turn of its own session with Andrew's reply; the ids added."""
    ids: list[str] = []
    for n, (day, text) in enumerate(said):
        ids += m.add(
            [{"name": "Audrey", "content": text}, {"name": "Andrew", "content": "That is lovely to hear."}],
            user_id="u1",
            session_id=f"s{n}",
            timestamp=day,
        )
    return ids


def test_forgetting_or_deleting_a_source_turn_removes_its_line_from_every_page_and_relation(
    tmp_path: Path, embedder: Embedder
) -> None:
    strata = {"refresh_growth": 0.0, "relations": True, "entity_pages": True}
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata=strata)
    with Memory(config=config, embedder=embedder) as m:
        said = [
            ("2023-03-01T10:00:00", "I adopted a puppy named Pixie, she is tiny."),
            ("2023-03-08T10:00:00", "Pixie learned to fetch the zorblaxian frisbee today."),
            ("2023-03-15T10:00:00", "We got another puppy named Panda last weekend."),
        ]
        ids = audrey_says(m, said)

        def derived(kind: str) -> dict[str, Item]:
            topics = m.list(user_id="u1", level="topic", limit=100)
            return {
                str(t.metadata.get("name") or t.metadata.get("relation")): t
                for t in topics
                if t.metadata.get("kind") == kind
            }

        owns = derived("relation")["owns"]
        assert [e.object for e in RelationPayload.of(owns).entries] == ["Pixie", "Panda"]
        assert owns.text.startswith("Audrey — owns: dog: Pixie (since 1 March 2023), Panda (since 15 March 2023)")
        page = derived("entity")["Pixie"]
        assert "zorblaxian" in page.text and set(page.sources) == {ids[0], ids[2]}
        m.forget([ids[4]], user_id="u1")  # Panda's turn: gone from the relation
        owns = derived("relation")["owns"]
        assert [e.object for e in RelationPayload.of(owns).entries] == ["Pixie"]
        assert ids[4] not in owns.sources and "Panda" not in owns.text
        m.delete(ids[2], user_id="u1")  # the zorblaxian turn: off the page, and the page joins nothing now
        assert "Pixie" not in derived("entity")
        assert all("zorblaxian" not in t.text for t in m.list(user_id="u1", level="topic", limit=100))
        m.forget([ids[0]], user_id="u1")  # the adoption: no relation left
        assert derived("relation") == {}


def test_a_page_writes_what_the_pronouns_referred_to_into_its_lines() -> None:
    """Coreference goes into the page's text, so BM25 and the embedder find "Pepper" where the turn said "He"."""
    facts = [
        fact(1, "s1", "Audrey", "Audrey adopted a puppy named Pepper.", ["Pepper"]),
        fact(2, "s1", "Audrey", "He is such a cuddle bug.", []),
        fact(3, "s2", "Audrey", "Pepper loves the dog park.", ["Pepper"]),
    ]
    [draft] = EntityPageBuilder().build(facts, PEOPLE, RelationExtractor().extract(facts, PEOPLE))
    assert "Pepper is such a cuddle bug." in draft.text and "He is such" not in draft.text
    page = pages(facts)["entity:Pepper"]
    assert [s.text for s in page.statements][1] == "Pepper is such a cuddle bug."


def test_forgetting_a_turn_removes_its_activity_from_the_view(tmp_path: Path, embedder: Embedder) -> None:
    strata = {"refresh_growth": 0.0, "relations": True, "entity_pages": True}
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata=strata)
    with Memory(config=config, embedder=embedder) as m:
        said = [
            ("2023-03-01T10:00:00", "I went camping with my kids last weekend."),
            ("2023-03-08T10:00:00", "I didn't go fishing this time, the lake was frozen."),
            ("2023-03-15T10:00:00", "I've been running farther to de-stress lately."),
        ]
        ids = audrey_says(m, said)

        def does() -> dict[str, str]:
            views = [t for t in m.list(user_id="u1", level="topic", limit=100) if t.metadata.get("relation") == "does"]
            return {e.object: e.status for v in views for e in RelationPayload.of(v).entries}

        assert does() == {"camping with family": "asserted", "fishing": "negated", "running": "asserted"}
        m.forget([ids[0]], user_id="u1")
        assert does() == {"fishing": "negated", "running": "asserted"}
        m.delete(ids[4], user_id="u1")
        assert does() == {"fishing": "negated"}
