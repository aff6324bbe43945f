"""The zero-LLM profile builder on hand-made facts."""

from __future__ import annotations

from datetime import datetime

from outcrop.core.types import Item, Level, Scope
from outcrop.strata.profile import SlotProfile


def _fact(fid: str, attribute: str, value: str, day: int, *, single: bool) -> Item:
    return Item(
        id=fid,
        level=Level.FACT,
        scope=Scope(),
        text=f"Ann {attribute} {value}",
        timestamp=datetime(2023, 5, day),
        metadata={"slot": {"subject": "Ann", "attribute": attribute, "value": value, "single": single}},
        sources=[f"t-{fid}"],
    )


def test_lines_rank_values_and_cite_only_the_facts_they_show() -> None:
    facts = [
        _fact("f1", "likes", "jazz and hiking", 1, single=False),
        _fact("f2", "likes", "hiking", 3, single=False),
        _fact("f3", "lives_in", "Boston", 2, single=True),
        _fact("f4", "lives_in", "Paris", 9, single=True),
    ]
    lines = {d.attribute: d for d in SlotProfile().build(facts)}
    assert lines["likes"].text == "Ann likes: hiking (×2), jazz"
    assert (
        lines["lives_in"].text.startswith("Ann lives in: Paris (as of") and "earlier: Boston" in lines["lives_in"].text
    )
    assert lines["likes"].sources == ["t-f1", "t-f2"] and lines["likes"].support == 3


def test_a_slot_whose_values_are_all_unusable_makes_no_line() -> None:
    # an LLM extractor once gave value "!" for a multi-valued slot: no line, and no crash
    facts = [_fact("f1", "likes", "!", 1, single=False), _fact("f2", "lives_in", "Boston", 2, single=True)]
    assert [d.attribute for d in SlotProfile().build(facts)] == ["lives_in"]
    # a list's stray "and" is no value
    [line] = SlotProfile().build([_fact("f3", "likes", "escaping to that world, and", 3, single=False)])
    assert line.text == "Ann likes: escaping to that world"


def test_a_quoted_title_is_one_value() -> None:
    facts = [
        _fact("f1", "read", '"Pride and Prejudice"', 1, single=False),
        _fact("f2", "read", '"Dune"', 2, single=False),
    ]
    [line] = SlotProfile().build(facts)
    assert line.text == 'Ann has read: "Dune", "Pride and Prejudice"'
    # curly quotes (an LLM extractor's) make a title too; a quoted word followed by more text is a list
    [curly] = SlotProfile().build([_fact("f3", "read", "“Pride and Prejudice”", 3, single=False)])
    assert curly.text == 'Ann has read: "Pride and Prejudice"'
    [mixed] = SlotProfile().build([_fact("f4", "likes", '"Dune" and jazz', 4, single=False)])
    assert mixed.text == 'Ann likes: "Dune", jazz'


def test_values_that_say_nothing_alone_stay_off_the_line() -> None:
    # each was on a LoCoMo profile line: "Nate likes: every day, turtles, holding them, ..., hear, help"
    said = {
        "every day": "Nate is grateful to have a job Nate enjoys every day.",
        "holding them": "Nate also likes holding them.",
        "Nate is loving it": "Nate is passionate about it and Nate is loving it.",
        "is awesome": "Doing something Nate loves is awesome.",
        "hear": "That's what Nate likes to hear!",
        "turtles": "Nate loves turtles.",
        "cooking": "Nate likes cooking.",
        "make jewelry": "Nate loves to make jewelry.",  # "make" after "to" is no clause of its own
        "hike": "Nate loves to hike.",  # a verb that says something alone
        '"It Ends with Us"': 'Nate loves "It Ends with Us".',  # "It" in a title
    }
    facts = [
        Item(
            id=f"f{n}",
            level=Level.FACT,
            scope=Scope(),
            text=text,
            timestamp=datetime(2023, 5, 1 + n),
            metadata={"slot": {"subject": "Nate", "attribute": "likes", "value": value, "single": False}},
            sources=[f"t{n}"],
        )
        for n, (value, text) in enumerate(said.items())
    ]
    (line,) = SlotProfile().build(facts)
    assert line.text == 'Nate likes: "It Ends with Us", hike, make jewelry, cooking, turtles'  # the latest first
    assert sorted(line.sources) == ["t5", "t6", "t7", "t8", "t9"]  # only the turns of the values shown


def test_values_cut_short_stay_off_the_line() -> None:
    # each was on a LoCoMo profile line ("Andrew plans to: check out", "Joanna has taken up: on a book")
    values = ["check out", "on a book", "teaching people how to make", "Nate's recommendation Nate gave a"]
    kept = ["work out", "learning how to swim", "a book club", "camping in the mountains", "Into the Wild"]
    facts = [_fact(f"f{n}", "plans", value, 1 + n, single=False) for n, value in enumerate(values + kept)]
    (line,) = SlotProfile().build(facts)
    assert line.text == (  # a title may open with a preposition
        "Ann plans to: Into the Wild, camping in the mountains, a book club, learning how to swim, work out"
    )
