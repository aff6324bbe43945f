"""Trait views: what a participant said about themselves, per kind, joined across sessions, with
what ended or was denied kept as history, and what forgetting does."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import Embedder
from outcrop.strata.traits import TraitViews, classify

PEOPLE = ["Maria", "John"]


def fact(n: int, session: str, speaker: str, text: str) -> Item:
    return Item(
        id=f"f_{n:02d}",
        level=Level.FACT,
        scope=Scope(user_id="u1", session_id=session),
        text=text,
        speaker=speaker,
        timestamp=datetime(2023, 3, n),
        sources=[f"t_{n}"],
    )


def test_kinds_and_status_of_a_statement() -> None:
    assert classify("Maria is keen on counseling or working in mental health.", "Maria", speaker=True) == (
        ("aspiration", "helping", "likes", "health"),
        "current",
        (),
    )
    assert classify("Maria started volunteering at the homeless shelter.", "Maria", speaker=True)[0] == ("helping",)
    # a denied want: negated; the help in the same sentence still holds
    kinds, status, negated = classify(
        "Maria never wanted to be a lawyer, Maria's dream is to help people.", "Maria", speaker=True
    )
    assert "aspiration" in negated and "helping" in kinds and status == "current"
    assert classify("Maria doesn't want to move abroad.", "Maria", speaker=True)[1] == "negated"
    # a plan given up: ended, whatever its kinds
    assert classify("Maria gave up on Maria's plan to become a chef.", "Maria", speaker=True)[1] == "ended"
    # small talk states no trait
    assert classify("Maria: That sounds like fun!", "Maria", speaker=True)[0] == ()


def test_a_view_joins_sessions_and_keeps_what_ended_as_history() -> None:
    facts = [
        fact(1, "s1", "Maria", "Maria started volunteering at the homeless shelter last month."),
        fact(2, "s1", "John", "John: That is great!"),
        fact(3, "s2", "Maria", "Maria wants to become a chef one day."),
        fact(4, "s2", "Maria", "Maria spent Friday at the shelter volunteering at the front desk."),
        fact(5, "s3", "Maria", "Maria gave up on Maria's plan to become a chef."),
        fact(6, "s3", "Maria", "Maria hopes to run the shelter someday."),
        fact(7, "s3", "Maria", "Maria never wanted to be a lawyer."),
    ]
    drafts = {d.key: d for d in TraitViews().build(facts, PEOPLE)}
    helping = drafts["trait:Maria:helping"]
    assert helping.sources == ["t_1", "t_4", "t_6"]  # hoping to run the shelter helps too
    assert helping.label == "Maria — helping others (again and again: shelter, volunteering)"
    assert helping.text.startswith(
        "Maria — helping others (again and again: shelter, volunteering): [1 March 2023] Maria started volunteering"
    )
    wants = drafts["trait:Maria:aspiration"]
    statuses = {e["fact"]: e["status"] for e in wants.metadata["entries"]}
    assert statuses == {"f_03": "current", "f_05": "ended", "f_06": "current", "f_07": "negated"}
    shown, history = wants.text.split(". No longer or never: ")
    assert "run the shelter someday" in shown and "chef one day" in shown
    assert "gave up" in history and "never wanted to be a lawyer" in history and "lawyer" not in shown
    # the shelter came up in three sessions of the three Maria spoke in
    assert {e["fact"]: e["share"] for e in wants.metadata["entries"]}["f_06"] == 1.0
    assert not any(k.startswith("trait:John") for k in drafts)  # "That is great!" is no trait


def test_a_listener_describes_the_one_addressed_and_small_talk_about_others_is_no_trait() -> None:
    facts = [
        fact(1, "s1", "John", "Maria is so thoughtful and really cares about being real."),
        fact(2, "s2", "John", "Maria's kindness is awesome and Maria really cares about people."),
        fact(3, "s2", "Maria", "Maria: Talking together can make a great difference."),
        fact(4, "s3", "Maria", "Maria: It's great to see John finding a supportive community."),
    ]
    drafts = {d.key: d for d in TraitViews().build(facts, PEOPLE)}
    assert [e["fact"] for e in drafts["trait:Maria:character"].metadata["entries"]] == ["f_01", "f_02"]
    assert "trait:Maria:helping" not in drafts  # neither says something about Maria herself


def maria_says(m: Memory, said: list[tuple[str, str]]) -> list[str]:
    ids: list[str] = []
    for n, (day, text) in enumerate(said):
        ids += m.add(
            [{"name": "Maria", "content": text}, {"name": "John", "content": "Good to hear."}],
            user_id="u1",
            session_id=f"s{n}",
            timestamp=day,
        )
    return ids


def test_forgetting_a_source_turn_removes_its_line_from_the_trait_views(tmp_path: Path, embedder: Embedder) -> None:
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata={"refresh_growth": 0.0})
    with Memory(config=config, embedder=embedder) as m:
        ids = maria_says(
            m,
            [
                ("2023-03-01T10:00:00", "I started volunteering at the zorblaxian shelter."),
                ("2023-03-08T10:00:00", "I love volunteering at the shelter on weekends."),
                ("2023-03-15T10:00:00", "I hope to run the shelter someday."),
            ],
        )

        def views() -> dict[str, Item]:
            topics = m.list(user_id="u1", level="topic", limit=100)
            return {str(t.metadata["trait"]): t for t in topics if t.metadata.get("kind") == "trait"}

        helping = views()["helping"]
        assert "zorblaxian" in helping.text and ids[0] in helping.sources
        assert any("zorblaxian" in e["text"] for e in helping.metadata["entries"])
        m.forget([ids[0]], user_id="u1")
        helping = views()["helping"]
        assert ids[0] not in helping.sources and "zorblaxian" not in helping.text
        assert all("zorblaxian" not in e["text"] for e in helping.metadata["entries"])
        m.forget([ids[2]], user_id="u1")  # one statement left: the view joins nothing
        assert "helping" not in views()


def test_trait_views_are_not_indexed_and_can_be_turned_off(tmp_path: Path, embedder: Embedder) -> None:
    said = [
        ("2023-03-01T10:00:00", "I started volunteering at the zorblaxian shelter."),
        ("2023-03-08T10:00:00", "I love volunteering at the shelter on weekends."),
    ]
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}", strata={"refresh_growth": 0.0})
    with Memory(config=config, embedder=embedder) as m:
        maria_says(m, said)
        assert any(t.metadata.get("kind") == "trait" for t in m.list(user_id="u1", level="topic", limit=100))
        # search by its words never returns the view: only the traits channel reads it
        hits = m.search("zorblaxian shelter volunteering", user_id="u1", limit=50)
        assert hits and all(h.metadata.get("kind") != "trait" for h in hits)
    off = MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}", strata={"refresh_growth": 0.0, "traits": False})
    with Memory(config=off, embedder=embedder) as m:
        maria_says(m, said)
        assert not any(t.metadata.get("kind") == "trait" for t in m.list(user_id="u1", level="topic", limit=100))


def test_a_participant_whose_name_ends_in_s_is_no_theme_of_their_own_view() -> None:
    facts = [
        fact(1, "s1", "Jonas", "Jonas is swamped at the hospital, night shifts in the pediatric ward."),
        fact(2, "s2", "Jonas", "Jonas started a course in nutrition, thinking about working as a dietitian."),
        fact(3, "s3", "Jonas", "Jonas works more hospital shifts, and Jonas's course is going well."),
    ]
    [view] = [d for d in TraitViews().build(facts, ["Jonas", "Maya"]) if d.key == "trait:Jonas:health"]
    themes = [t["theme"] for t in view.metadata["themes"]]
    assert "hospital" in themes and not {"jonas", "jona"} & set(themes)
