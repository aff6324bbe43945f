"""Shared images as statements: the relation views read what people showed, and lose it with its turn."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.payloads import FactPayload, RelationPayload
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import Embedder
from outcrop.strata.captions import caption_of, caption_statements, is_statement, pictured
from outcrop.strata.derived import topic_item
from outcrop.strata.relations import RelationViews

PEOPLE = ["Joanna", "Nate"]


def turn(n: int, speaker: str, text: str, session: str = "s1") -> Item:
    return Item(
        id=f"t_{n:02d}",
        level=Level.TURN,
        scope=Scope(user_id="u1", session_id=session),
        text=text,
        speaker=speaker,
        timestamp=datetime(2023, 3, n),
        sources=[f"log_{n}"],
    )


def fact(n: int, speaker: str, text: str, session: str = "s1") -> Item:
    return Item(
        id=f"f_{n:02d}",
        level=Level.FACT,
        scope=Scope(user_id="u1", session_id=session),
        text=text,
        speaker=speaker,
        timestamp=datetime(2023, 3, n),
        metadata=FactPayload().to_metadata(),
        sources=[f"t_{n:02d}"],
    )


def views(turns: list[Item], facts: list[Item] | None = None) -> dict[str, RelationPayload]:
    builder = RelationViews()
    found = builder.extractor.extract(facts or [], PEOPLE, caption_statements(turns, PEOPLE))
    return {d.key: RelationPayload.of(topic_item(Scope(user_id="u1"), d, "test")) for d in builder.views(found)}


def test_a_caption_is_split_from_the_turn_and_loses_its_framing() -> None:
    said = "Look what I made! [shared an image: a photo of a cake with white frosting]"
    assert caption_of(said) == ("Look what I made!", "a photo of a cake with white frosting")
    assert caption_of("No picture here.") is None
    assert pictured("a photography of two children playing in a park") == "two children playing in a park"
    assert pictured("a close up of a bowl with a black and white flower design") == (
        "a bowl with a black and white flower design"
    )


def test_every_picture_is_shared_and_a_demonstrative_names_what_was_made() -> None:
    turns = [
        turn(
            1, "Joanna", "The kids loved it, we made this together! [shared an image: a photo of a cup with a dog face]"
        ),
        turn(2, "Joanna", "Here's a pic of a cake I made recently! [shared an image: a photo of a cake with berries]"),
        turn(3, "Nate", "How was your day?"),
    ]
    found = views(turns, [fact(2, "Joanna", "Joanna: Here's a pic of a cake Joanna made recently!")])
    shared = {e.object: e.sources for e in found["relation:Joanna:shared"].entries}
    assert shared == {"cup with a dog face": ["t_01"], "cake with berries": ["t_02"]}
    made = {e.object for e in found["relation:Joanna:made"].entries}
    assert made == {"a cup", "cake"}  # "we made a cup with a dog face", and the fact's "a cake Joanna made"
    assert "relation:Nate:shared" not in found
    # a statement is no stored fact: its turn is a source, never a fact id
    payload = found["relation:Joanna:shared"]
    assert all(not e.facts for e in payload.entries)
    [statement, *_] = caption_statements(turns, PEOPLE)
    assert is_statement(statement) and statement.sources == ["t_01"]


def test_a_pet_introduced_beside_its_photo_is_owned_and_one_that_died_is_ended() -> None:
    turns = [turn(1, "Nate", "Meet the new addition, this is Max! [shared an image: a photo of a dog on a couch]")]
    facts = [fact(5, "Nate", "Sadly Max passed away last week.", session="s2")]
    [owned] = views(turns, facts)["relation:Nate:owns"].entries
    assert (owned.object, owned.kind, owned.status) == ("Max", "dog", "ended")
    # a photo of a dog with no name given is no pet of the speaker's
    assert "relation:Nate:owns" not in views([turn(1, "Nate", "Cute! [shared an image: a photo of a dog]")])


def test_a_negated_demonstrative_stays_negated() -> None:
    turns = [turn(1, "Joanna", "I didn't make this, my aunt did. [shared an image: a photo of a chocolate tart]")]
    [tart] = views(turns)["relation:Joanna:made"].entries
    assert (tart.object, tart.status) == ("a chocolate tart", "negated")


def test_deleting_or_forgetting_the_turn_removes_its_picture_from_the_view(tmp_path: Path, embedder: Embedder) -> None:
    strata = {"refresh_growth": 0.0, "relations": True, "entity_pages": True}
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata=strata)
    with Memory(config=config, embedder=embedder) as m:
        ids: list[str] = []
        for n, text in enumerate(
            [
                "Here's our latest work! [shared an image: a photo of a painting of a sunset with a palm tree]",
                "Tried a new recipe today. [shared an image: a photo of a chocolate raspberry tart]",
            ]
        ):
            ids += m.add(
                [{"name": "Joanna", "content": text}, {"name": "Nate", "content": "Wow, that looks great!"}],
                user_id="u1",
                session_id=f"s{n}",
                timestamp=f"2023-03-0{n + 1}T10:00:00",
            )

        def shared() -> list[str]:
            topics = m.list(user_id="u1", level="topic", limit=100)
            return [
                e.object
                for t in topics
                if t.metadata.get("relation") == "shared"
                for e in RelationPayload.of(t).entries
            ]

        assert shared() == ["painting of a sunset with a palm tree", "chocolate raspberry tart"]
        m.delete(ids[0], user_id="u1")
        assert shared() == ["chocolate raspberry tart"]
        m.forget([ids[2]], user_id="u1")
        assert shared() == []
        assert all("tart" not in t.text for t in m.list(user_id="u1", level="topic", limit=100))


def test_captions_off_leaves_the_pictures_out(tmp_path: Path, embedder: Embedder) -> None:
    strata = {"refresh_growth": 0.0, "relations": True, "captions": False}
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata=strata)
    with Memory(config=config, embedder=embedder) as m:
        m.add(
            [{"name": "Joanna", "content": "Look! [shared an image: a photo of a chocolate raspberry tart]"}],
            user_id="u1",
            session_id="s1",
            timestamp="2023-03-01T10:00:00",
        )
        assert all(t.metadata.get("relation") != "shared" for t in m.list(user_id="u1", level="topic", limit=100))
