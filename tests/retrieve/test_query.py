import pytest

from outcrop import Memory
from outcrop.core.types import Scope
from outcrop.retrieve.query import analyse_query, known_speakers
from tests.helpers import say


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


def test_a_search_reads_the_scopes_speakers_once(memory: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis keeps the participants it read; the channels that need them all (hops,
    relation views) use those, and read the store only when given an analysis without them."""
    say(memory, "I adopted a puppy and named her Biscuit.", "s1", 1)
    say(memory, "Biscuit chewed through the garden hose.", "s2", 3, name="Bo")
    reads: list[Scope] = []
    speakers = memory.store.records.speakers

    def counted(scope: Scope) -> list[str]:
        reads.append(scope)
        return list(speakers(scope))

    monkeypatch.setattr(memory.store.records, "speakers", counted)
    hits = memory.search("What did Ann's puppy chew?", user_id="u1", channels={"bm25": 1.0, "hops": 1.0})
    assert hits and len(reads) == 1
    scope = Scope(user_id="u1")
    assert memory.engine.retriever.analyse(scope, "Who is Bo?").known == ("Ann", "Bo")
    reads.clear()
    assert known_speakers(memory.store, scope, analyse_query("Who is Bo?", ["Bo"])) == ("Ann", "Bo")
    assert len(reads) == 1


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("What are Melanie's hobbies?", "Melanie"),  # one named: the subject
        ("What did Jon say about Gina's progress with her store?", "Jon"),
        ("What encouragement does Nate give to Joanna after her setback?", "Nate"),
        ("What does Melanie think about Caroline's decision to adopt?", "Melanie"),
        ("What did Caroline's friend tell Melanie?", None),  # the first is a possessive
        ("How do Jon and Gina both like to destress?", None),  # a pair
        ("What did Jon & Gina open?", None),
        ("What does Bob like?", None),  # names no participant
    ],
)
def test_the_question_subject_is_the_first_participant_named_as_a_subject(question: str, subject: str | None) -> None:
    assert analyse_query(question, ["Melanie", "Caroline", "Jon", "Gina", "Nate", "Joanna"]).subject == subject


def test_the_subjects_turns_rank_first_when_two_participants_are_named(memory: Memory) -> None:
    said_by_jon = say(memory, "Your store looks great, all that hard work is paying off.", "s1", 1, name="Jon")
    say(memory, "Thanks! The store was hard work, but it is paying off for me.", "s1", 1, name="Gina")
    hits = memory.search("What did Jon say about Gina's store and her hard work?", user_id="u1", limit=2)
    assert hits[0].id == said_by_jon and hits[0].explain["boosts"]["speaker"] > 1
