"""The Python API end to end on a real SQLite file with the real embedding model."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from outcrop import InvalidInputError, Level, Memory, MemoryConfig, NotFoundError
from outcrop.core.threads import blas_threads, limit_blas_threads
from outcrop.providers import Embedder
from tests.helpers import CONVERSATION


def test_add_returns_one_id_per_message_and_search_finds_them(memory: Memory) -> None:
    ids = memory.add(CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    assert len(ids) == 4 and len(set(ids)) == 4
    hits = memory.search("What did Caroline do at the support group?", user_id="u1", limit=3)
    assert hits[0].id == ids[0]
    top = hits[0]
    assert top.level is Level.TURN
    assert top.speaker == "Caroline" and top.session_id == "s1" and top.user_id == "u1"
    assert top.timestamp is not None and top.timestamp.isoformat() == "2023-05-08T13:56:00"
    assert set(top.explain["channels"]) >= {"bm25", "dense"}
    assert all(trace["rank"] >= 1 for trace in top.explain["channels"].values())
    assert top.sources and top.sources[0].startswith("l_")


def test_plain_text_add_and_default_user(memory: Memory) -> None:
    [item_id] = memory.add("Plain text works too")
    assert memory.get(item_id).scope.user_id == "default"
    assert memory.search("plain text")[0].id == item_id


def test_reingesting_the_same_messages_adds_nothing(memory: Memory) -> None:
    first = memory.add(CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    again = memory.add(CONVERSATION, user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    assert again == first
    assert memory.stats(user_id="u1")["counts"]["turn"] == 4
    assert memory.stats(user_id="u1")["counts"]["log"] == 4


def test_a_message_said_twice_in_one_add_is_two_turns_and_a_retry_adds_neither(memory: Memory) -> None:
    """ "yes" twice in one conversation is two turns, in their places (the second used to be taken
    for the first: one memory, the order of the session lost); the same call again adds nothing."""
    chat = [
        {"role": "user", "name": "Ann", "content": "Shall we go sailing?"},
        {"role": "user", "name": "Bo", "content": "yes"},
        {"role": "user", "name": "Ann", "content": "On Sunday, then?"},
        {"role": "user", "name": "Bo", "content": "yes"},
    ]
    first = memory.add(chat, user_id="u1", session_id="s1", timestamp="2024-05-08T13:56:00")
    assert len(set(first)) == 4
    assert memory.add(chat, user_id="u1", session_id="s1", timestamp="2024-05-08T13:56:00") == first
    turns = memory.list(user_id="u1", session_id="s1", level="turn", limit=10)
    assert sorted(t.id for t in turns) == sorted(first)
    assert memory.stats(user_id="u1")["counts"]["log"] == 4


def test_users_never_see_each_other(memory: Memory) -> None:
    memory.add("Alice's secret recipe uses cardamom.", user_id="alice")
    [bob_id] = memory.add("Bob likes cycling.", user_id="bob")
    assert memory.search("cardamom recipe", user_id="bob", limit=10) == [] or all(
        h.user_id == "bob" for h in memory.search("cardamom recipe", user_id="bob", limit=10)
    )
    assert all("cardamom" not in h.text for h in memory.search("cardamom recipe", user_id="bob", limit=10))
    with pytest.raises(NotFoundError):
        memory.get(bob_id, user_id="alice")
    assert [i.text for i in memory.list(user_id="alice")] == ["Alice's secret recipe uses cardamom."]


def test_session_and_agent_scopes_narrow_search(memory: Memory) -> None:
    memory.add("We talked about hiking in the Alps.", user_id="u", session_id="a", agent_id="planner")
    memory.add("We talked about hiking in Patagonia.", user_id="u", session_id="b", agent_id="coach")
    assert {h.session_id for h in memory.search("hiking", user_id="u")} == {"a", "b"}
    assert {h.session_id for h in memory.search("hiking", user_id="u", run_id="a")} == {"a"}
    assert {h.agent_id for h in memory.search("hiking", user_id="u", agent_id="coach")} == {"coach"}


def test_update_keeps_history_and_reindexes(memory: Memory) -> None:
    [item_id] = memory.add("I live in Boston.", user_id="u1")
    updated = memory.update(item_id, "I live in Paris now.", user_id="u1")
    assert updated.version == 2 and updated.text == "I live in Paris now."
    history = memory.history(item_id)
    assert [(v.version, v.event, v.text) for v in history] == [
        (1, "add", "I live in Boston."),
        (2, "update", "I live in Paris now."),
    ]
    assert memory.search("Paris", user_id="u1", channels={"bm25": 1.0})[0].id == item_id
    assert memory.search("Boston", user_id="u1", channels={"bm25": 1.0}) == []


def test_delete_removes_from_every_index_but_keeps_history(memory: Memory) -> None:
    [keep, gone] = memory.add(["I adopted a cat named Miso.", "My passport number is in the drawer."], user_id="u1")
    memory.delete(gone)
    with pytest.raises(NotFoundError):
        memory.get(gone)
    for channels in ({"bm25": 1.0}, {"dense": 1.0}, {"recency": 1.0}):
        assert gone not in [h.id for h in memory.search("passport drawer", user_id="u1", channels=channels)]
    assert [v.event for v in memory.history(gone)] == ["add", "delete"]
    assert memory.get(keep).text.startswith("I adopted")


def test_neighbours_stop_matching_a_deleted_or_rewritten_turn(memory: Memory) -> None:
    # BM25 indexes each turn with its neighbours' words: those must follow deletes and updates
    turns = ["We went to the fair on Sunday.", "I rode the zeppelin simulator twice.", "Then we ate pancakes."]
    first, middle, last = memory.add(
        [{"role": "user", "name": "Ann", "content": t} for t in turns], user_id="u1", session_id="s1"
    )
    found = {h.id for h in memory.search("zeppelin simulator", user_id="u1", channels={"bm25": 1.0})}
    assert {first, last} <= found  # the neighbours match through their context
    memory.update(middle, "I rode the carousel twice.", user_id="u1")
    assert memory.search("zeppelin simulator", user_id="u1", channels={"bm25": 1.0}) == []
    assert {first, last} <= {h.id for h in memory.search("carousel", user_id="u1", channels={"bm25": 1.0})}
    memory.delete(middle, user_id="u1")
    assert memory.search("carousel", user_id="u1", channels={"bm25": 1.0}) == []
    assert memory.search("pancakes", user_id="u1", channels={"bm25": 1.0})[0].id == last


def test_filters_on_time_speaker_session_and_metadata(memory: Memory) -> None:
    memory.add(
        [{"name": "Ann", "content": "Went skiing in Utah."}],
        user_id="u",
        session_id="s1",
        timestamp="2023-01-10",
        metadata={"source": "chat"},
    )
    memory.add(
        [{"name": "Ben", "content": "Went skiing in Norway."}],
        user_id="u",
        session_id="s2",
        timestamp="2023-03-10",
        metadata={"source": "email"},
    )

    def texts(**filters: object) -> set[str]:
        return {h.text for h in memory.search("skiing", user_id="u", filters=filters)}

    assert texts(since="2023-02-01") == {"Went skiing in Norway."}
    assert texts(until="2023-02-01") == {"Went skiing in Utah."}
    assert texts(speaker="ann") == {"Went skiing in Utah."}
    assert texts(session_id="s2") == {"Went skiing in Norway."}
    assert texts(metadata={"source": "chat"}) == {"Went skiing in Utah."}
    with pytest.raises(InvalidInputError, match="unknown filter"):
        memory.search("skiing", user_id="u", filters={"colour": "red"})


def test_context_is_cited_time_ordered_and_within_budget(memory: Memory) -> None:
    memory.add(CONVERSATION[:2], user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")
    memory.add(CONVERSATION[2:], user_id="u1", session_id="s2", timestamp="2023-06-01T10:00:00")
    ctx = memory.context("What is Caroline interested in?", user_id="u1", max_tokens=120)
    assert 0 < ctx.tokens <= 120
    assert ctx.items and all(f"[{n}]" in ctx.text for n in range(1, len(ctx.items) + 1))
    assert all(ctx.item_for(h.id) is h for h in ctx.items) and ctx.item_for(len(ctx.items) + 1) is None
    stamps = [h.timestamp for h in ctx.items]
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert "\n8 May 2023\n" in ctx.text or "\n1 June 2023\n" in ctx.text  # one date line per day
    tight = memory.context("What is Caroline interested in?", user_id="u1", max_tokens=40)
    assert tight.tokens <= 40 and len(tight.items) < len(ctx.items)


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([], "empty"),
        ([{"role": "user"}], "no 'content'"),
        ([{"content": ""}], "empty"),
        ([{"content": "x", "colour": "red"}], "unknown keys"),
        ([{"content": "x", "name": 5}], "'name'"),
        ([42], "must be a string or a dict"),
        ([{"content": b"\xff\xfe"}], "UTF-8"),
        ([{"content": "x" * 40_000}], "limit"),
        ([{"content": "ok", "timestamp": "not a date"}], "cannot parse timestamp"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(memory: Memory, messages: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        memory.add([{"content": "valid first message"}, *messages] if messages else messages, user_id="u1")
    assert memory.stats(user_id="u1")["counts"]["log"] == 0


def test_unknown_ids_raise_not_found(memory: Memory) -> None:
    for call in (memory.get, memory.delete, memory.history):
        with pytest.raises(NotFoundError):
            call("t_doesnotexist00000")
    with pytest.raises(NotFoundError):
        memory.update("t_doesnotexist00000", "text")


def test_search_argument_validation(memory: Memory) -> None:
    with pytest.raises(InvalidInputError):
        memory.search("", user_id="u1")
    with pytest.raises(InvalidInputError):
        memory.search("x", limit=0)
    with pytest.raises(InvalidInputError):
        memory.search("x", session_id="a", run_id="b")


def test_a_store_refuses_vectors_from_another_embedder(db_url: str, memory: Memory) -> None:
    from outcrop import ConfigError

    memory.add("indexed with MiniLM")
    with Memory(db_url, config=None) as same:
        assert same.search("MiniLM")
    other = Memory(config=memory.config.model_copy(update={"embedder": "wordllama"}))
    with pytest.raises(ConfigError, match="vectors were made by"):
        other.add("this would mix two models")
    other.close()


def test_times_at_the_calendar_edges_are_refused_or_reasoned_about(memory: Memory) -> None:
    """Dates at the calendar's ends used to poison a scope (OverflowError in every date-related
    search and in consolidation): the edge years are refused before anything is written, and
    what lies next to them is reasoned about without overflowing."""
    from outcrop import InvalidInputError

    for edge in ("9999-12-31T23:00:00", "0001-01-01T00:00:00"):
        with pytest.raises(InvalidInputError, match="outside the years"):
            memory.add("See you tomorrow, and again next year.", user_id="edge", timestamp=edge)
        with pytest.raises(InvalidInputError, match="outside the years"):
            memory.add([{"content": "Tomorrow then.", "timestamp": edge}], user_id="edge")
    assert memory.stats(user_id="edge")["counts"]["log"] == 0
    memory.add(
        [{"name": "Ann", "content": "See you tomorrow, and we sail again next year."}],
        user_id="edge",
        session_id="s1",
        timestamp="9998-12-31T23:00:00",
    )
    memory.add(
        [{"name": "Ann", "content": "Our first voyage was 999 years ago, last summer too."}],
        user_id="edge",
        session_id="s2",
        timestamp="0002-01-02T00:00:00",
    )
    memory.consolidate(user_id="edge")
    for question in ("What will Ann do next year?", "What happened last summer?", "What did Ann do in 9998?"):
        assert memory.search(question, user_id="edge")
        assert memory.context(question, user_id="edge", max_tokens=200).items


def test_a_file_with_a_bad_message_anywhere_writes_nothing(memory: Memory, tmp_path: Path) -> None:
    import json as jsonlib

    from outcrop import InvalidInputError

    sessions = [
        {
            "session_id": f"s{n}",
            "timestamp": f"2024-03-0{n}T10:00:00",
            "messages": [{"name": "Ann", "content": f"Day {n}."}],
        }
        for n in range(1, 4)
    ]
    sessions[2]["messages"].append({"name": "Ann", "content": "fine", "mood": "unknown key"})
    bad = tmp_path / "bad.json"
    bad.write_text(jsonlib.dumps({"sessions": sessions}))
    with pytest.raises(InvalidInputError, match="session s3: message 1 has unknown keys"):
        memory.ingest(bad, user_id="ann")
    assert memory.stats(user_id="ann")["counts"]["log"] == 0  # the first two sessions were not written either
    sessions[2]["messages"].pop()
    good = tmp_path / "good.json"
    good.write_text(jsonlib.dumps({"sessions": sessions}))
    seen: list[int] = []
    report = memory.ingest(good, user_id="ann", progress=seen.append)
    assert (report.messages, report.added, report.already_present, report.batches) == (3, 3, 0, 3)
    assert seen == [1, 2, 3]
    again = memory.ingest(good, user_id="ann")
    assert (again.added, again.already_present) == (0, 3)


def _deep(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"a": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.add("x", user_id="u", metadata={"a": float("nan")}), "nan is not a JSON number"),
        (lambda m: m.add([{"content": "y", "metadata": {"b": float("inf")}}], user_id="u"), "inf is not a JSON number"),
        (lambda m: m.add("z", user_id="u", metadata={"k": "\ud800"}), "not valid Unicode"),
        (lambda m: m.add("w", user_id="u", metadata=_deep(40)), "nested deeper than 16 levels"),
        (lambda m: m.add("k", user_id="u", metadata={1: "a"}), "keys must be strings"),
        (lambda m: m.add("o", user_id="u", metadata={"a": object()}), "is not a JSON value"),
        (lambda m: m.add("big", user_id="u", metadata={"a": "x" * 70_000}), "the limit is 65,536"),
        (lambda m: m.add("n", user_id="a\x00b"), "user_id contains a control character"),
        (lambda m: m.add([{"name": "A\nB", "content": "s"}], user_id="u"), "'name' contains a control character"),
        (lambda m: m.add([{"content": "t", "timestamp": True}], user_id="u"), "timestamp must be a date string"),
        (lambda m: m.search("q", user_id="u", limit="5"), "limit must be an integer between 1 and 1000"),
        (lambda m: m.context("q", user_id="u", max_tokens="5"), "max_tokens must be an integer"),
        (lambda m: m.list(user_id="u", limit=2.5), "limit must be an integer between 1 and 10000"),
        (lambda m: m.list(user_id="u", level="nope"), "unknown level 'nope'"),
        (lambda m: m.add([{1: "x", "zz": "y", "content": "hi"}], user_id="u"), "unknown keys ['zz', 1]"),
        (lambda m: m.export(5), "an export's target must be a file path or a text stream, not int"),
        (lambda m: m.import_(5), "an import's source must be a file path or a text stream, not int"),
        (lambda m: m.ingest(5), "path must be a file path, not int"),
        (lambda m: m.reindex(5), "embedder must be a spec such as 'wordllama' or an Embedder, not int"),
        (lambda m: m.forget(user_id="u", scrub="no"), "scrub must be true or false"),
        (lambda m: m.add([{"content": "hi", "metadata": []}], user_id="u"), "'metadata' must be an object"),
        (lambda m: m.add([{"content": "hi", "metadata": 0}], user_id="u"), "'metadata' must be an object"),
        (lambda m: m.export(io.StringIO(), projections="no"), "projections must be true or false, not 'no'"),
        (lambda m: m.search("q", user_id="u", filters={"speaker": ""}), "filter 'speaker' must be a non-empty string"),
        (lambda m: m.search("q", user_id="u", filters={"metadata": 0}), "filter 'metadata' must be an object"),
    ],
)
def test_bad_input_is_refused_with_our_error_and_writes_nothing(memory: Memory, call: Any, message: str) -> None:
    from outcrop import InvalidInputError

    with pytest.raises(InvalidInputError, match=re.escape(message)):
        call(memory)
    assert memory.stats(user_id="u")["counts"]["log"] == 0
    memory.add("a fine note", user_id="u", metadata={"n": 1.5, "tags": ["ok", None, True]})
    assert memory.search("fine note", user_id="u", filters={"metadata": {"n": 1.5}})  # metadata reads still work


def test_a_config_that_is_not_a_memory_config_is_a_config_error() -> None:
    from outcrop import ConfigError

    with pytest.raises(ConfigError, match="config must be a MemoryConfig"):
        Memory(config="sqlite:///x.db")  # type: ignore[arg-type]


def test_opening_caps_numpy_blas_threads_unless_told_not_to(tmp_path: Path, embedder: Embedder) -> None:
    """BLAS's idle threads spin after each small product a search makes (docs/scale.md): a Memory
    caps the process's pool at ``blas_threads`` when it opens; 0 leaves the pool as it was."""
    before = blas_threads()
    assert before is not None, "threadpoolctl (dev extra) should find numpy's BLAS"
    try:
        limit_blas_threads(2)
        with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}", blas_threads=1), embedder=embedder):
            assert blas_threads() == 1
        limit_blas_threads(2)
        with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}", blas_threads=0), embedder=embedder):
            assert blas_threads() == 2
    finally:
        limit_blas_threads(before)
