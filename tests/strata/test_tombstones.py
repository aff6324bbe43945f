"""A derived item a user deleted stays deleted: later consolidations and rebuilds do not derive it
again (the ``delete`` record in the log is its tombstone), on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcrop import Level, Memory, MemoryConfig
from outcrop.errors import NotFoundError
from outcrop.providers import Embedder
from tests.helpers import STORY_STRATA, ingest_story, say


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'm.db'}"


def test_deleted_facts_and_profile_lines_are_not_derived_again(store_url: str, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig.build({"store": store_url, "strata": STORY_STRATA}), embedder=embedder) as m:
        ingest_story(m)
        boston = next(f for f in m.list(user_id="u1", level=Level.FACT, limit=100) if "Boston" in f.text)
        line = m.list(user_id="u1", level=Level.PROFILE, limit=100)[0]
        kept = {f.id for f in m.list(user_id="u1", level=Level.FACT, limit=100)} - {boston.id}
        m.delete(boston.id, user_id="u1")
        m.delete(line.id, user_id="u1")

        m.consolidate(user_id="u1")
        for item_id in (boston.id, line.id):
            with pytest.raises(NotFoundError):
                m.get(item_id, user_id="u1")
        facts = {f.id for f in m.list(user_id="u1", level=Level.FACT, limit=100)}
        assert facts == kept  # the other facts are untouched
        assert not [h for h in m.search("Caroline lives in Boston", user_id="u1", limit=20) if h.id == boston.id]

        m.rebuild(user_id="u1")
        for item_id in (boston.id, line.id):
            with pytest.raises(NotFoundError):
                m.get(item_id, user_id="u1")
        assert {f.id for f in m.list(user_id="u1", level=Level.FACT, limit=100)} == kept
        assert [v.event for v in m.history(boston.id, user_id="u1")][-1] == "delete"


def test_a_tombstone_is_per_user(tmp_path: Path, embedder: Embedder) -> None:
    config = MemoryConfig.build({"store": f"sqlite:///{tmp_path / 'm.db'}", "strata": STORY_STRATA})
    with Memory(config=config, embedder=embedder) as m:
        ingest_story(m, user="u1")
        ingest_story(m, user="u2")
        fact = next(f for f in m.list(user_id="u1", level=Level.FACT, limit=100) if "Boston" in f.text)
        twin = next(f for f in m.list(user_id="u2", level=Level.FACT, limit=100) if f.text == fact.text)
        m.delete(fact.id, user_id="u1")
        m.consolidate(user_id="u2")
        assert m.get(twin.id, user_id="u2").text == fact.text


def test_a_deleted_fact_leaves_no_view_quoting_it(store_url: str, embedder: Embedder) -> None:
    """Deleting a fact left the topics and profile line drawn from it, still quoting and citing
    it, until a rebuild."""
    with Memory(config=MemoryConfig.build({"store": store_url, "strata": STORY_STRATA}), embedder=embedder) as m:
        say(m, "I moved to Porto in March.", "s1", 2, user="maya", name="Maya")
        say(m, "I started learning the cello last week.", "s2", 20, user="maya", name="Maya")
        m.consolidate(user_id="maya")

        def citing(fact_id: str) -> list[str]:  # any view that names the fact among its sources or parts
            return [
                i.id
                for level in (Level.EPISODE, Level.TOPIC, Level.PROFILE)
                for i in m.list(user_id="maya", level=level, limit=100)
                if fact_id in i.sources or fact_id in str(i.metadata)
            ]

        def quoting(word: str) -> list[str]:  # topics and profile lines (an episode quotes the turns)
            levels = (Level.TOPIC, Level.PROFILE)
            return [i.text for lv in levels for i in m.list(user_id="maya", level=lv, limit=100) if word in i.text]

        porto = next(f for f in m.list(user_id="maya", level=Level.FACT) if "Porto" in f.text)
        assert citing(porto.id) and quoting("Porto") and quoting("cello")
        m.delete(porto.id, user_id="maya")
        assert citing(porto.id) == [] and quoting("Porto") == []
        assert quoting("cello")  # the other fact's views stay


def test_an_edited_fact_states_its_new_value_to_the_profile(store_url: str, embedder: Embedder) -> None:
    """An edit of a fact's text kept the slot and names read from its old text: "Maya lives in
    Boston" edited to Lisbon left the profile saying Boston."""
    with Memory(config=MemoryConfig.build({"store": store_url, "strata": STORY_STRATA}), embedder=embedder) as m:
        say(m, "I live in Boston now.", "s1", 2, user="maya", name="Maya")
        m.consolidate(user_id="maya")
        fact = next(f for f in m.list(user_id="maya", level=Level.FACT) if "Boston" in f.text)
        assert any("Boston" in p.text for p in m.list(user_id="maya", level=Level.PROFILE))
        m.update(fact.id, "Maya lives in Lisbon now.", user_id="maya")
        edited = m.get(fact.id, user_id="maya")
        assert edited.metadata["slot"]["value"] == "Lisbon" and "Boston" not in edited.metadata["entities"]
        profile = [p.text for p in m.list(user_id="maya", level=Level.PROFILE)]
        assert any("Lisbon" in t for t in profile) and not any("Boston" in t for t in profile), profile
        m.rebuild(user_id="maya")  # the fact is drawn again from its turn, with the edit
        rebuilt = m.get(fact.id, user_id="maya")
        assert (rebuilt.text, rebuilt.metadata["slot"]) == (edited.text, edited.metadata["slot"])
        assert any("Lisbon" in p.text for p in m.list(user_id="maya", level=Level.PROFILE))
        m.update(fact.id, "Maya went for a walk.", user_id="maya")  # states no slot now
        assert "slot" not in m.get(fact.id, user_id="maya").metadata


def test_a_fact_edit_older_than_its_turns_edit_is_not_drawn_again(store_url: str, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig.build({"store": store_url, "strata": STORY_STRATA}), embedder=embedder) as m:
        turn = say(m, "I live in Boston now.", "s1", 2, user="maya", name="Maya")
        fact = next(f for f in m.list(user_id="maya", level=Level.FACT) if "Boston" in f.text)
        m.update(fact.id, "Maya lives in Lisbon now.", user_id="maya")
        m.update(turn, "I live in Porto now.", user_id="maya")  # the turn's own edit comes after
        texts = [f.text for f in m.list(user_id="maya", level=Level.FACT)]
        assert any("Porto" in t for t in texts) and not any("Lisbon" in t or "Boston" in t for t in texts), texts
