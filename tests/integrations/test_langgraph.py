"""The LangGraph store adapter inside a real compiled LangGraph graph (sync and async), whose
"LLM" node is a local deterministic function; and the same operations as LangGraph's own
InMemoryStore, call by call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph")

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

from outcrop import AsyncMemory, Memory, MemoryConfig
from outcrop.integrations.langgraph import OutcropStore
from outcrop.providers import Embedder


class State(TypedDict, total=False):
    user: str
    message: str
    reply: str


def _remember(state: State, runtime: Runtime[None]) -> dict[str, Any]:
    """The deterministic stand-in for an LLM that decides what to keep: "remember: X" keeps X."""
    assert runtime.store is not None
    message = state["message"]
    if message.startswith("remember: "):
        fact = message.removeprefix("remember: ")
        key = f"fact-{len(runtime.store.search(('memories', state['user']), limit=100))}"
        runtime.store.put(("memories", state["user"]), key, {"text": fact, "kind": "fact"})
    return {}


def _answer(state: State, runtime: Runtime[None]) -> dict[str, Any]:
    """The deterministic "LLM" answering from the best memory the store finds for the message."""
    assert runtime.store is not None
    hits = runtime.store.search(("memories", state["user"]), query=state["message"], limit=1)
    return {"reply": f"I recall: {hits[0].value['text']}" if hits else "I don't know."}


async def _aremember(state: State, runtime: Runtime[None]) -> dict[str, Any]:
    assert runtime.store is not None
    message = state["message"]
    if message.startswith("remember: "):
        existing = await runtime.store.asearch(("memories", state["user"]), limit=100)
        await runtime.store.aput(
            ("memories", state["user"]), f"fact-{len(existing)}", {"text": message.removeprefix("remember: ")}
        )
    return {}


async def _aanswer(state: State, runtime: Runtime[None]) -> dict[str, Any]:
    assert runtime.store is not None
    hits = await runtime.store.asearch(("memories", state["user"]), query=state["message"], limit=1)
    return {"reply": f"I recall: {hits[0].value['text']}" if hits else "I don't know."}


def _graph(store: BaseStore, remember: Any, answer: Any) -> Any:
    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("answer", answer)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "answer")
    builder.add_edge("answer", END)
    return builder.compile(store=store)


FACTS = [
    "my sister Maya lives in Porto",
    "I am allergic to peanuts",
    "my favourite band is Radiohead",
]


def test_a_compiled_graph_remembers_across_runs_and_store_instances(tmp_path: Path, embedder: Embedder) -> None:
    url = f"sqlite:///{tmp_path / 'graph.db'}"
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as memory:
        graph = _graph(OutcropStore(memory), _remember, _answer)
        for fact in FACTS:
            graph.invoke({"user": "u1", "message": f"remember: {fact}"})
        graph.invoke({"user": "u2", "message": "remember: I live in Oslo"})
    # a new process would open the same file: a new memory and store see what the graph kept
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as memory:
        graph = _graph(OutcropStore(memory), _remember, _answer)
        assert graph.invoke({"user": "u1", "message": "Which city does Maya live in?"})["reply"] == (
            "I recall: my sister Maya lives in Porto"
        )
        assert graph.invoke({"user": "u1", "message": "what food must I avoid, peanuts?"})["reply"] == (
            "I recall: I am allergic to peanuts"
        )
        assert graph.invoke({"user": "u2", "message": "Where does Maya live?"})["reply"] == "I recall: I live in Oslo"
        assert graph.invoke({"user": "u3", "message": "Where does Maya live?"})["reply"] == "I don't know."
        # the graph's memories are ordinary outcrop memories of user "memories.u1"
        [hit] = memory.search("Radiohead", user_id="memories.u1", limit=1)
        assert hit.text == f"{FACTS[2]}\nfact"  # every string of the value, without index fields


def test_a_compiled_graph_runs_async_on_async_memory(tmp_path: Path, embedder: Embedder) -> None:
    async def main() -> list[str]:
        config = MemoryConfig(store=f"sqlite:///{tmp_path / 'graph.db'}")
        async with AsyncMemory(config=config, embedder=embedder) as amemory:
            graph = _graph(OutcropStore(amemory), _aremember, _aanswer)
            for fact in FACTS:
                await graph.ainvoke({"user": "u1", "message": f"remember: {fact}"})
            # many users' runs at once: isolated, nothing lost
            await asyncio.gather(
                *(
                    graph.ainvoke({"user": f"p{i}", "message": f"remember: my locker code is {1000 + i}"})
                    for i in range(8)
                )
            )
            replies = [
                (await graph.ainvoke({"user": "u1", "message": "Which band do I like best?"}))["reply"],
                *[
                    (await graph.ainvoke({"user": f"p{i}", "message": "what is my locker code?"}))["reply"]
                    for i in range(8)
                ],
            ]
            store = OutcropStore(amemory)
            assert len(await store.alist_namespaces(prefix=("memories",))) == 9
            store.close()  # a memory given to the store stays open
            assert len(await amemory.list(user_id="memories.u1", level="turn")) == 3
            return replies

    replies = asyncio.run(main())
    assert replies[0] == "I recall: my favourite band is Radiohead"
    assert replies[1:] == [f"I recall: my locker code is {1000 + i}" for i in range(8)]


def _script(store: BaseStore) -> list[Any]:
    """LangGraph store calls whose results do not depend on how a store ranks."""
    out: list[Any] = []
    store.put(("docs", "a"), "k1", {"text": "alpha", "score": 3, "tags": {"colour": "red"}})
    store.put(("docs", "a"), "k2", {"text": "beta", "score": 7, "tags": {"colour": "blue"}})
    store.put(("docs", "b", "x"), "k3", {"text": "gamma", "score": 5})
    store.put(("other",), "k4", {"text": "delta"})
    item = store.get(("docs", "a"), "k1")
    out.append((item.namespace, item.key, item.value) if item else None)
    out.append(store.get(("docs", "a"), "missing"))
    store.put(("docs", "a"), "k1", {"text": "alpha two", "score": 4, "tags": {"colour": "red"}})
    again = store.get(("docs", "a"), "k1")
    assert again is not None and item is not None
    out.append((again.value, again.updated_at >= item.updated_at))  # created_at: kept here, as by PostgresStore
    out.append(sorted(i.key for i in store.search(("docs",))))
    out.append(sorted(i.key for i in store.search(("docs",), filter={"score": {"$gte": 4}})))
    out.append(sorted(i.key for i in store.search(("docs",), filter={"tags": {"colour": "red"}})))
    out.append(sorted(i.key for i in store.search(("docs",), filter={"score": {"$ne": 7}, "text": "gamma"})))
    out.append(store.list_namespaces())
    out.append(store.list_namespaces(prefix=("docs",)))
    out.append(store.list_namespaces(suffix=("x",)))
    out.append(store.list_namespaces(prefix=("docs", "*")))
    out.append(store.list_namespaces(max_depth=1))
    out.append(store.list_namespaces(limit=1, offset=1))
    store.delete(("docs", "a"), "k2")
    out.append(store.get(("docs", "a"), "k2"))
    store.put(("docs", "b", "x"), "k3", None)  # a put of None deletes
    out.append(store.get(("docs", "b", "x"), "k3"))
    out.append(len(store.search(("docs",), limit=1)))
    return out


def test_the_same_calls_give_what_langgraphs_own_in_memory_store_gives(tmp_path: Path, embedder: Embedder) -> None:
    expected = _script(InMemoryStore())
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        store = OutcropStore(memory)
        assert _script(store) == expected
        # a namespace emptied is gone (as in PostgresStore; the in-memory store keeps listing it)
        assert store.list_namespaces() == [("docs", "a"), ("other",)]
        first = store.get(("other",), "k4")
        store.put(("other",), "k4", {"text": "delta two"})
        second = store.get(("other",), "k4")
        assert first is not None and second is not None
        assert second.created_at == first.created_at and second.updated_at > first.updated_at
        # one live turn holds the key; the replaced one is deleted, its history readable
        [turn] = memory.list(user_id="other", session_id="k4", level="turn")
        assert turn.text == "delta two"


def test_search_with_a_query_ranks_by_outcrop_retrieval_and_honours_filters_and_index_false(
    tmp_path: Path, embedder: Embedder
) -> None:
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        store = OutcropStore(memory)
        store.put(("u",), "1", {"text": "The quarterly report is due on Friday", "team": "finance"})
        store.put(("u",), "2", {"text": "Bring the hiking boots for the mountain trip", "team": "outdoor"})
        store.put(("u", "sub"), "3", {"text": "The hiking trip to the mountain starts at dawn", "team": "outdoor"})
        store.put(("u",), "4", {"text": "secret hiking plan", "team": "outdoor"}, index=False)
        store.put(("u",), "5", {"title": "Mountain lodge booking", "body": "irrelevant"}, index=["title"])
        hits = store.search(("u",), query="mountain hiking trip", limit=3)
        assert {h.key for h in hits[:2]} == {"2", "3"} and all(h.score is not None for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert "4" not in {h.key for h in store.search(("u",), query="secret hiking plan", limit=10)}
        assert store.search(("u",), query="lodge booking", limit=1)[0].key == "5"
        assert [h.key for h in store.search(("u",), query="hiking", filter={"team": "finance"}, limit=5)] == ["1"]
        assert [h.key for h in store.search(("u", "sub"), query="hiking", limit=5)] == ["3"]
        assert len(store.search(("u",), query="hiking mountain", limit=1, offset=1)) == 1


def test_namespaces_are_the_users_holding_langgraph_items(tmp_path: Path, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        store = OutcropStore(memory)
        memory.add("I moved to Lisbon", user_id="plain")  # an outcrop memory, not a LangGraph item
        memory.add([{"role": "user", "content": f"note {n} about the garden"} for n in range(20)], user_id="mixed.a")
        assert store.list_namespaces() == []
        store.put(("mixed", "a"), "k", {"text": "the garden needs water"})  # after 20 plain turns
        store.put(("docs",), "k", {"text": "a document"})
        assert store.list_namespaces() == [("docs",), ("mixed", "a")]
        assert store.list_namespaces(prefix=("mixed",)) == [("mixed", "a")]
        assert [item.key for item in store.search(("mixed",), query="garden water")] == ["k"]
        assert store.search(("plain",), query="Lisbon") == []


def test_ops_handed_to_batch_are_checked_as_langgraphs_own_methods_check_them(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A label holding "." handed straight to ``batch`` / ``abatch`` (which skip ``put``'s and
    ``get``'s checks) addressed another namespace: ("memories.alice",) read, overwrote and deleted
    ("memories", "alice")'s item."""
    from langgraph.store.base import GetOp, PutOp

    from outcrop.errors import InvalidInputError

    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        store = OutcropStore(memory)
        store.put(("memories", "alice"), "profile", {"text": "alice's secret"})
        for op in (
            GetOp(("memories.alice",), "profile"),
            PutOp(("memories.alice",), "profile", {"text": "overwritten"}),
            PutOp(("memories.alice",), "profile", None),
        ):
            with pytest.raises(InvalidInputError, match="periods"):
                store.batch([op])
            with pytest.raises(InvalidInputError, match="periods"):
                asyncio.run(store.abatch([op]))
        item = store.get(("memories", "alice"), "profile")
        assert item is not None and item.value == {"text": "alice's secret"}


def test_the_store_touches_only_the_items_it_put(tmp_path: Path, embedder: Embedder) -> None:
    """Turns of the same user and session written another way (an app's ``add``, a session kept by
    another adapter) are not the key's item: a get, put or delete used to delete them, then raise a
    raw KeyError."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        store = OutcropStore(memory)
        memory.add("my PIN is 4321", user_id="alice", session_id="chat-1")
        assert store.get(("alice",), "chat-1") is None
        store.put(("alice",), "chat-1", {"text": "graph note"})
        item = store.get(("alice",), "chat-1")
        assert item is not None and item.value == {"text": "graph note"}
        store.delete(("alice",), "chat-1")
        assert store.get(("alice",), "chat-1") is None
        assert [t.text for t in memory.list(user_id="alice", level="turn")] == ["my PIN is 4321"]


def test_a_refused_put_keeps_the_value_and_concurrent_puts_leave_one(tmp_path: Path, embedder: Embedder) -> None:
    """A put the memory refuses (a value over the metadata limit) used to delete the old value
    first; two stores putting one key at once (two processes) left two items, a stale get and a
    delete that did not delete. The new value is written first, then the earlier ones go."""
    from concurrent.futures import ThreadPoolExecutor

    from outcrop.errors import InvalidInputError

    url = f"sqlite:///{tmp_path / 'm.db'}"
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as memory:
        store = OutcropStore(memory)
        store.put(("ns",), "k", {"text": "keep me"})
        with pytest.raises(InvalidInputError, match="limit"):
            store.put(("ns",), "k", {"text": "x" * 100_000})
        kept = store.get(("ns",), "k")
        assert kept is not None and kept.value == {"text": "keep me"}

        with Memory(config=MemoryConfig(store=url), embedder=embedder) as other:
            stores = [store, OutcropStore(other)]  # each with its own locks, as two processes

            def put(n: int) -> None:
                stores[n % 2].put(("ns",), "k", {"v": n})

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(put, range(12)))
        live = [t for t in memory.list(user_id="ns", level="turn") if "langgraph" in t.metadata]
        assert len(live) == 1
        item = store.get(("ns",), "k")
        assert item is not None and item.value == live[0].metadata["langgraph"]["value"]
        assert item.created_at == kept.created_at  # carried over by every replace
        store.delete(("ns",), "k")
        assert store.get(("ns",), "k") is None


def test_any_key_langgraph_takes_is_a_key_and_a_filter_reads_past_the_first_hits(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Keys that are no valid session name ("", a newline, a 300-character URL) were refused; a
    query with a filter that few items meet missed them below the first 50 hits."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), embedder=embedder) as memory:
        store = OutcropStore(memory)
        keys = ["", "a\nb", "https://example.com/" + "p" * 300]
        for n, key in enumerate(keys):
            store.put(("ns",), key, {"text": f"value {n}"})
        assert [store.get(("ns",), k).value for k in keys] == [{"text": f"value {n}"} for n in range(3)]  # type: ignore[union-attr]
        assert store.get(("ns",), "never put") is None
        assert sorted(i.key for i in store.search(("ns",))) == sorted(keys)

        for n in range(70):
            store.put(("docs",), f"h{n}", {"text": f"hiking in the mountains, trail {n}", "team": "outdoor"})
        store.put(("docs",), "budget", {"text": "quarterly budget spreadsheet for accounting", "team": "finance"})
        found = store.search(("docs",), query="hiking mountain", filter={"team": "finance"}, limit=5)
        assert [i.key for i in found] == ["budget"]
