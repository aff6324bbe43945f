import pytest

from outcrop.retrieve.query import analyse_query


@pytest.mark.parametrize(
    ("question", "temporal"),
    [
        ("When did Caroline go to the support group?", True),
        ("How long has Mel been married?", True),
        ("What date is the recital?", True),
        ("What does Jonas do for work?", False),
    ],
)
def test_temporal_questions_are_recognised(question: str, temporal: bool) -> None:
    assert analyse_query(question, []).temporal is temporal


def test_named_participants_are_found() -> None:
    analysis = analyse_query("What did Caroline tell Melanie?", ["Caroline", "Melanie", "Jon"])
    assert analysis.speakers == ("Caroline", "Melanie")
    assert "caroline" in analysis.terms and "what" not in analysis.terms


def test_possessive_names_count_as_named_speakers() -> None:
    assert analyse_query("What are Melanie's hobbies?", ["Melanie", "Caroline"]).speakers == ("Melanie",)
