"""The relation channel: a query naming a subject and a relation reaches the view, then its turns."""

from __future__ import annotations

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Level, Scope
from outcrop.providers import Embedder
from outcrop.retrieve.channels import ChannelRequest
from outcrop.retrieve.query import analyse_query
from outcrop.retrieve.relations import RelationChannel, asks_for_a_list, stem
from outcrop.stores.base import SearchFilters
from tests.helpers import say

QUESTION = "What pets does Audrey have?"
SCOPE = Scope(user_id="u1")


@pytest.fixture
def related(db_url: str, embedder: Embedder) -> Memory:
    config = MemoryConfig.build(
        {"store": db_url, "strata": {"relations": True, "entity_pages": True}, "retrieval": {"prf_weight": 0.0}}
    )
    return Memory(config=config, embedder=embedder)


def _story(memory: Memory) -> list[str]:
    """Audrey's two puppies and a kitten, said in three sessions among talk of other things."""
    answers = [say(memory, "We adopted a puppy named Pixie last weekend.", "s1", 1, name="Audrey")]
    say(memory, "Congrats! My week was all meetings at work.", "s1", 1, name="Andrew")
    say(memory, "Audrey, did you finish the garden fence?", "s2", 5, name="Andrew")
    say(memory, "The fence is done and the garden looks great, Andrew.", "s2", 5, name="Audrey")
    answers.append(say(memory, "I rescued a kitten called Mochi from the shelter.", "s2", 5, name="Audrey"))
    say(memory, "Audrey, the hiking trail by the lake was lovely on Sunday.", "s3", 9, name="Andrew")
    answers.append(say(memory, "I also got another puppy named Bean, a tiny beagle.", "s3", 9, name="Audrey"))
    say(memory, "Audrey, my new job at the bakery starts on Monday.", "s3", 9, name="Andrew")
    for day, topic in enumerate(["the garden", "my sister", "the hike", "a new recipe", "the book club", "work"]):
        say(memory, f"Audrey does love to talk about {topic}, does Audrey.", f"f{day}", 10 + day, name="Andrew")
        say(memory, f"Yes, Andrew, {topic} is what Audrey has on her mind.", f"f{day}", 10 + day, name="Audrey")
    return answers


def _turns_of(memory: Memory, ids: list[str]) -> set[str]:
    items = memory.store.records.get_items(SCOPE, ids)
    return {t for i, item in items.items() for t in ([i] if item.level == Level.TURN else item.sources)}


def test_stem_meets_common_forms() -> None:
    assert stem("painted") == stem("painting") == stem("paints") == stem("paint")
    assert stem("events") == stem("event")
    assert stem("pets") == stem("pet")
    assert stem("class") == "class"


def test_a_views_source_turns_reach_the_top_k_for_an_aggregate_question(related: Memory) -> None:
    with related as memory:
        answers = _story(memory)
        channels = {"bm25": 1.0, "relations": 1.0}
        hits = memory.search(QUESTION, user_id="u1", limit=4, channels=channels)
        without = memory.search(QUESTION, user_id="u1", limit=4, channels={"bm25": 1.0})
        # no turn says "pets": BM25 alone ranks the turns that name Audrey
        assert not set(answers) <= _turns_of(memory, [h.id for h in without])
        assert set(answers) <= _turns_of(memory, [h.id for h in hits])
        assert all("relations" in h.explain["channels"] for h in hits if h.id in answers)


def test_the_channel_lists_the_view_then_its_turns_and_abstains_when_it_should(related: Memory) -> None:
    with related as memory:
        answers = _story(memory)

        def ask(text: str, filters: SearchFilters | None = None, turns: int = 20) -> list[str]:
            channel = RelationChannel(memory.store, views=3, turns=turns, dense=memory.engine.retriever.dense)
            query = analyse_query(text, ["Audrey", "Andrew"])
            return [i for i, _ in channel.search(ChannelRequest(SCOPE, query, filters, 20))]

        found = ask("Which pets has Audrey adopted?")
        items = memory.store.records.get_items(SCOPE, found)
        assert items[found[0]].level == Level.TOPIC and items[found[0]].metadata["relation"] == "owns"
        # every turn of the view, ranked by its cosine to the question: "I rescued a kitten called
        # Mochi" shares no word with it and is listed all the same
        assert {i for i in found if items[i].level == Level.TURN} == set(answers)
        assert [i for i in ask("Which pets has Audrey adopted?", turns=0) if i in answers] == []
        assert ask("What pets does Bob have?") == []  # names no subject of a view
        assert ask("How is Audrey's weather?") == []  # names the subject, no relation or object
        assert ask(QUESTION, SearchFilters(levels=(Level.TURN,))) == []
        # one fact, not a list: the turn ranking of the other channels is left alone
        assert ask("What did Audrey adopt last weekend?") == []
        # no list wording, but the plural of a cue: "puppies" asks for all of them
        named = ask("What are the names of Audrey's puppies?")
        view = memory.store.records.get_items(SCOPE, named[:1])[named[0]]
        assert view.level == Level.TOPIC and view.metadata["relation"] == "owns"
        assert ask("When did Audrey adopt her puppies?") == []  # a date is one fact


def test_a_question_naming_a_plural_cue_asks_for_a_list() -> None:
    assert asks_for_a_list("What are the names of Audrey's dogs?")
    assert asks_for_a_list("What are Melanie's pets' names?")
    assert asks_for_a_list("Which pets has Audrey adopted?")  # the list wording, as before
    assert not asks_for_a_list("What did Audrey say about her dog?")  # a singular: one thing
    assert not asks_for_a_list("What does Audrey think she owns?")  # a verb cue is no plural
    assert not asks_for_a_list("When did Audrey adopt her dogs?")


def test_turns_rank_by_their_cosine_to_the_question_and_the_object_it_names(related: Memory) -> None:
    with related as memory:
        answers = _story(memory)
        dense = memory.engine.retriever.dense
        channel = RelationChannel(memory.store, views=3, turns=20, dense=dense)

        def listed(text: str) -> list[str]:
            query = analyse_query(text, ["Audrey", "Andrew"])
            return [i for i, _ in channel.search(ChannelRequest(SCOPE, query, None, 20)) if i in answers]

        # "cats" names the kitten's entry (kind cat): its turn comes first of the view's turns
        assert listed("Which cats has Audrey adopted?")[0] == answers[1]
        turns = memory.store.records.get_items(SCOPE, answers)
        vectors = memory.store.vectors.vectors_for(SCOPE, dense.space, answers)
        question = "Which pets has Audrey adopted?"
        query = dense.query_vector(question)
        by_cosine = sorted(answers, key=lambda i: -float(vectors[i] @ query))
        # without a named object, the order is the cosine's, lifted by a shared word ("adopted")
        shared = [i for i in answers if "adopted" in turns[i].text]
        assert listed(question)[0] in {by_cosine[0], *shared}
        assert set(listed(question)) == set(answers)


def test_an_entity_page_is_reached_by_its_name(related: Memory) -> None:
    with related as memory:
        _story(memory)
        say(memory, "Pixie chewed my shoes again, Andrew.", "s4", 12, name="Audrey")
        channel = RelationChannel(memory.store)
        query = analyse_query("What has Pixie chewed?", ["Audrey", "Andrew"])
        found = channel.search(ChannelRequest(SCOPE, query, None, 20))
        items = memory.store.records.get_items(SCOPE, [i for i, _ in found])
        assert any(
            item.metadata.get("kind") == "entity" and item.metadata.get("name") == "Pixie" for item in items.values()
        )


def test_an_entry_named_by_meaning_brings_its_view_and_lifts_its_turns(db_url: str, embedder: Embedder) -> None:
    """ "martial arts" is no word of the view "Audrey — does: kickboxing, taekwondo, …" nor a cue of
    its relation: the entries' cosine to the question's words brings the view, and the turns said
    under the matching entries rank above the view's other turns (its trips)."""
    config = MemoryConfig.build({"store": db_url, "strata": {"relations": True}, "retrieval": {"prf_weight": 0.0}})
    with Memory(config=config, embedder=embedder) as memory:
        answers = {say(memory, "I'm doing kickboxing and it's giving me so much energy.", "s1", 1, name="Audrey")}
        say(memory, "Nice! I painted a sunset over the lake last week.", "s1", 1, name="Andrew")
        say(memory, "I painted a portrait of my dog for the art show.", "s2", 4, name="Audrey")
        say(memory, "I went on a camping trip with my sister.", "s2", 4, name="Audrey")
        say(memory, "I'm doing yoga at the studio on Sundays.", "s3", 8, name="Audrey")
        answers.add(say(memory, "I'm off to do some taekwondo with the kids.", "s3", 8, name="Audrey"))
        say(memory, "I went on a fishing trip with my dad.", "s4", 9, name="Audrey")
        dense = memory.engine.retriever.dense
        query = analyse_query("What martial arts has Audrey done?", ["Audrey", "Andrew"])

        def ask(weight: float) -> tuple[list[str], list[str]]:
            channel = RelationChannel(memory.store, dense=dense, entry_weight=weight, entry_floor=0.4)
            found = [i for i, _ in channel.search(ChannelRequest(SCOPE, query, None, 20))]
            items = memory.store.records.get_items(SCOPE, found)
            views = [str(items[i].metadata.get("relation")) for i in found if items[i].level == Level.TOPIC]
            return views, [i for i in found if items[i].level == Level.TURN]

        assert "does" not in ask(0.0)[0]
        views, turns = ask(1.0)
        assert "does" in views
        assert turns[0] in answers and answers <= set(turns)
        said = memory.store.records.get_items(SCOPE, turns)
        trips = [turns.index(t) for t in turns if "trip" in said[t].text]
        assert all(turns.index(t) < min(trips) for t in answers)


def test_entry_phrases_are_embedded_once_per_tenant(embedder: Embedder) -> None:
    """A tenant's phrases are embedded in one call and then held; another tenant's same phrase is
    embedded again (a search's cost must not tell what another tenant's views hold)."""
    from outcrop.retrieve.relations import _PhraseVectors

    calls: list[list[str]] = []

    class Counting:  # the real model, its calls counted
        id, dim = embedder.id, embedder.dim

        def embed(self, texts: list[str]) -> object:
            calls.append(list(texts))
            return embedder.embed(texts)

    held = _PhraseVectors(size=3)
    first = held.get(Counting(), "t1", ["kickboxing", "taekwondo", "kickboxing"])  # type: ignore[arg-type]
    assert calls == [["kickboxing", "taekwondo"]]
    again = held.get(Counting(), "t1", ["taekwondo"])  # type: ignore[arg-type]
    assert len(calls) == 1 and (again["taekwondo"] == first["taekwondo"]).all()
    held.get(Counting(), "t2", ["kickboxing"])  # type: ignore[arg-type]
    assert calls[-1] == ["kickboxing"]
    held.get(Counting(), "t1", ["surfing", "hiking"])  # type: ignore[arg-type]  # bounded: the oldest go
    held.get(Counting(), "t1", ["kickboxing"])  # type: ignore[arg-type]
    assert calls[-1] == ["kickboxing"]


def test_a_view_the_other_channels_rank_low_is_kept_from_fusions_cut_and_placed(
    db_url: str, embedder: Embedder
) -> None:
    """A list question's best views are placed among the first hits; fusion keeps ~3× the limit
    before loading, and a view the other channels rank low sat below that cut, so it was never placed."""
    retrieval = {"prf_weight": 0.0, "candidates": 10}  # BM25 lists 10: the view is not among them
    config = MemoryConfig.build({"store": db_url, "strata": {"relations": True}, "retrieval": retrieval})
    with Memory(config=config, embedder=embedder) as memory:
        _story(memory)
        for day in range(12):  # turns BM25 ranks above the view
            say(memory, f"Audrey, which pets has Andrew's sister adopted? Number {day}.", f"p{day}", 20, name="Andrew")
        hits = memory.search(QUESTION, user_id="u1", limit=3, channels={"bm25": 1.0, "relations": 0.1})
        views = [h for h in hits if h.level == Level.TOPIC and h.metadata.get("relation") == "owns"]
        assert views and set(views[0].explain["channels"]) == {"relations"}
        assert hits.index(views[0]) == memory.config.retrieval.relation_view_place - 1
