"""The traits channel: an inference question about a participant reaches their trait statements."""

from __future__ import annotations

from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from outcrop.retrieve.router import asks_about_traits
from outcrop.retrieve.traits import as_statement, asked_kinds


def test_which_questions_ask_about_traits() -> None:
    for question in (
        "What job might Maria pursue in the future?",
        "Would Melanie be more interested in going to a national park or a theme park?",
        "What attributes describe John?",
        "Is it likely that Nate has friends besides Joanna?",
        "What could John do after his basketball career?",
    ):
        assert asks_about_traits(question), question
    for question in (
        "How does Nate describe the process of taking care of turtles?",  # a quote, not an inference
        "When would Caroline go to the support group?",  # a date
        "What did Maria donate to the shelter?",
    ):
        assert not asks_about_traits(question), question


def test_the_kinds_a_question_asks_about_and_its_statement() -> None:
    assert asked_kinds("What job might Maria pursue in the future?") == {"aspiration", "work", "helping"}
    assert asked_kinds("What attributes describe John?") == {"character", "values", "helping", "family"}
    assert asked_kinds("Would John be open to it?") == frozenset()
    assert as_statement("What job might Maria pursue in the future?", "Maria") == "Maria: job I pursue in the future"
    assert as_statement("What might John's degree be in?", "John") == "John: my degree be in"


def conversation(m: Memory) -> list[str]:
    """Maria volunteers at a shelter across sessions; John talks about his job and the future."""
    ids: list[str] = []
    sessions = [
        ("I started volunteering at the homeless shelter, it makes me so happy.", "My job at the bank keeps me busy."),
        ("I love volunteering at the shelter on weekends.", "I worry about the future of my job."),
        ("We cooked a meal for the shelter residents yesterday.", "A job in the future could pay more."),
        ("The weather was lovely today.", "My job interview for the future role went well."),
        ("I had pasta for dinner.", "I pursue a better job every year; the future is bright."),
    ]
    for n, (maria, john) in enumerate(sessions):
        ids += m.add(
            [{"name": "Maria", "content": maria}, {"name": "John", "content": john}],
            user_id="u1",
            session_id=f"s{n}",
            timestamp=f"2023-03-{n + 1:02d}T10:00:00",
        )
    return ids


def test_an_inference_question_reaches_trait_turns_that_share_no_word_with_it(
    tmp_path: Path, embedder: Embedder
) -> None:
    question = "What job might Maria pursue in the future?"
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata={"refresh_growth": 0.0})
    with Memory(config=config, embedder=embedder) as m:
        ids = conversation(m)
        volunteering = {ids[0], ids[2]}  # Maria's first two sessions: no word of the question
        hits = m.search(question, user_id="u1", limit=4)
        found = {h.id for h in hits}
        assert volunteering <= found
        assert all("traits" in h.explain["channels"] for h in hits if h.id in volunteering)
        # the trait views themselves are not hits of a search that does not read them
        assert all(h.metadata.get("kind") != "trait" for h in m.search("shelter", user_id="u1", limit=20))
    weights = {"bm25": 1.0, "dense": 0.2, "recency": 0.05, "temporal": 0.3, "pages": 1.0, "relations": 0.3}
    off = MemoryConfig(
        store=f"sqlite:///{tmp_path / 'm.db'}",
        strata={"refresh_growth": 0.0},
        retrieval={"channel_weights": weights, "trait_places": 0},
    )
    with Memory(config=off, embedder=embedder) as m:  # the same store without the channel
        found = {h.id for h in m.search(question, user_id="u1", limit=4)}
        assert not volunteering <= found
