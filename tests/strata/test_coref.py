"""Coreference by rules: "he", "the pup", "Audrey's dog" and "there" within a session."""

from __future__ import annotations

from datetime import datetime

from outcrop.core.payloads import FactPayload
from outcrop.core.types import Item, Level, Scope
from outcrop.strata.coref import Coreference, pet_kind


def fact(n: int, session: str, speaker: str, text: str, entities: list[str] | None = None) -> Item:
    return Item(
        id=f"f_{n}",
        level=Level.FACT,
        scope=Scope(user_id="u1", session_id=session),
        text=text,
        speaker=speaker,
        timestamp=datetime(2023, 3, n),
        metadata=FactPayload(entities=entities or []).to_metadata(),
    )


def test_pet_words_file_under_their_kind() -> None:
    assert [pet_kind(w) for w in ("pup", "Kitten", "doggo", "table")] == ["dog", "cat", "dog", None]


def test_descriptions_of_a_pet_mean_the_owners_last_named_one_across_sessions() -> None:
    coref = Coreference(["Audrey", "Andrew"])
    coref.resolve(fact(1, "s1", "Audrey", "Audrey adopted a puppy named Pixie.", ["Pixie"]))
    coref.name_pet("Audrey", "dog", "Pixie")
    assert coref.resolve(fact(2, "s2", "Audrey", "Audrey's pup loves the park.")).names == ["Pixie"]
    resolved = coref.resolve(fact(3, "s2", "Audrey", "The puppy chewed a shoe."))
    assert resolved.text == "The puppy Pixie chewed a shoe." and resolved.names == ["Pixie"]
    assert coref.resolve(fact(4, "s2", "Andrew", "The puppy of the neighbours barks.")).names == []  # not his
    assert coref.resolve(fact(5, "s2", "Audrey", "Audrey's cat sleeps all day.")).names == []  # no cat named


def test_he_and_she_refer_to_the_last_person_or_pet_named_nearby_in_the_same_session() -> None:
    coref = Coreference(["Audrey", "Andrew"])
    coref.resolve(fact(1, "s1", "Audrey", "Audrey's son Jake turned five.", ["Jake"]))
    resolved = coref.resolve(fact(2, "s1", "Audrey", "He painted a sunset, and he loved it."))
    assert resolved.text == "Jake painted a sunset, and Jake loved it."
    assert coref.resolve(fact(3, "s2", "Audrey", "He is tall now.")).names == []  # another session
    for n in range(4, 10):
        coref.resolve(fact(n, "s1", "Audrey", "Audrey likes tea."))
    assert coref.resolve(fact(10, "s1", "Audrey", "He is tall now.")).names == []  # too far back


def test_there_is_the_last_place_named_in_the_session() -> None:
    coref = Coreference(["Maya", "Jonas"])
    coref.resolve(fact(1, "s1", "Maya", "Maya got the job offer in Lisbon.", ["Lisbon"]))
    resolved = coref.resolve(fact(2, "s1", "Maya", "Maya is moving there in August."))
    assert resolved.text == "Maya is moving to Lisbon in August." and resolved.names == ["Lisbon"]
    assert coref.resolve(fact(3, "s1", "Maya", "There is a lot to do.")).names == []  # "there is": no place
    # a fact that named its place already ("there (Lisbon)", strata/facts.py) reads as "to Lisbon", once
    named = coref.resolve(fact(4, "s1", "Maya", "Maya is moving there (Porto) soon."))
    assert named.text == "Maya is moving to Porto soon." and named.names == ["Porto"]
