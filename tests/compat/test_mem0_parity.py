"""mem0's documented usage flows, run call by call against the real ``mem0ai`` package (offline:
``infer=False``, outcrop's MiniLM behind mem0's ``langchain`` embedder, a local Qdrant folder)
and then against ``outcrop.compat.mem0``: the same calls must give the same shapes and the same
behaviour. Both embed with one model, so the scores (mem0's cosine) agree too.

The flows are the quickstart (add a conversation, search, get_all) and the API page's calls
(get, update with ``text`` and with ``data``, history, delete, delete_all, reset, metadata filters
with operators, scopes by agent and run, threshold, expiration), from ../shared/MEM0-API.md.
Where the shim deliberately differs (1.0.x ids at top level, which mem0 2.x refuses), the test
says so.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from outcrop.compat.mem0 import AsyncMemory, Mem0CompatWarning, Memory, MemoryNotFoundError
from outcrop.config import MemoryConfig
from outcrop.core.time.clock import FixedClock, using_clock
from outcrop.providers import Embedder

pytestmark = pytest.mark.integration

CONVERSATION = [
    {"role": "system", "content": "You are a helpful movie assistant."},
    {"role": "user", "content": "I'm planning to watch a movie tonight. Any recommendations?"},
    {"role": "assistant", "content": "How about thriller movies? They can be quite engaging."},
    {"role": "user", "content": "I'm not a big fan of thriller movies but I love sci-fi movies."},
    {
        "role": "assistant",
        "content": "Got it! I'll avoid thriller recommendations and suggest sci-fi movies in the future.",
    },
]
ITEM_KEYS = {"id", "memory", "hash", "metadata", "created_at", "updated_at"}
HISTORY_KEYS = {
    "id",
    "memory_id",
    "old_memory",
    "new_memory",
    "event",
    "created_at",
    "updated_at",
    "is_deleted",
    "actor_id",
    "role",
}


def shim(tmp_path: Path, embedder: Embedder) -> Memory:
    return Memory(MemoryConfig(store=f"sqlite:///{tmp_path / 'outcrop.db'}"), embedder=embedder)


def _time(value: Any) -> bool:
    return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None


def item(entry: dict[str, Any]) -> dict[str, Any]:
    """What must agree in a memory item: its keys, its content and scope, the hash of its text, and
    times that parse with an offset (their values differ: two runs)."""
    assert _time(entry["created_at"]) and _time(entry["updated_at"]), entry
    assert entry["hash"] == hashlib.md5(entry["memory"].encode()).hexdigest()
    kept = {k: v for k, v in entry.items() if k not in ("id", "created_at", "updated_at", "score", "score_details")}
    return {"keys": sorted(entry), **kept}


def listing(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A ``{"results": [...]}`` of items, in text order (mem0 lists in its vector store's order)."""
    assert set(result) == {"results"}
    return sorted((item(e) for e in result["results"]), key=lambda e: e["memory"])


def added(result: dict[str, Any]) -> list[dict[str, Any]]:
    assert set(result) == {"results"}
    return [{"keys": sorted(e), **{k: v for k, v in e.items() if k != "id"}} for e in result["results"]]


def searched(result: dict[str, Any]) -> dict[str, Any]:
    """A search's results: the set of memories, the best one, each item's shape, and each score
    (the cosine of query and memory, one model on both sides) to 3 decimals. A memory with an
    actor is left out of the set and scores: outcrop embeds it as "actor: text", so its cosine, and
    whether it clears the threshold, are not mem0's (docs/integrations/mem0.md)."""
    hits = result["results"]
    plain = [h for h in hits if not h.get("actor_id")]
    return {
        "memories": sorted(h["memory"] for h in plain),
        "best": hits[0]["memory"] if hits else None,
        "items": sorted((item(h) for h in plain), key=lambda e: e["memory"]),
        "scores": {h["memory"]: round(h["score"], 3) for h in plain},
    }


def history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        assert set(row) == HISTORY_KEYS, row
        assert _time(row["created_at"]) and _time(row["updated_at"])
    return [
        {k: row[k] for k in ("old_memory", "new_memory", "event", "is_deleted", "actor_id", "role")} for row in rows
    ]


def raises(call: Callable[[], Any]) -> str:
    """``"raises"`` when the call raises (mem0 raises ``ValueError`` or its own
    ``ValidationError``; the shim an outcrop error that is also a ``ValueError``), else ``"ok"``."""
    try:
        call()
    except Exception:
        return "raises"
    return "ok"


def quickstart(m: Any) -> list[tuple[str, Any]]:
    """mem0's quickstart and API-page calls; each step's observation, in order."""
    seen: list[tuple[str, Any]] = []
    ids: dict[str, str] = {}

    def note(step: str, value: Any) -> None:
        seen.append((step, value))

    def remember(result: dict[str, Any]) -> dict[str, Any]:
        ids.update({e["memory"]: e["id"] for e in result["results"]})
        return result

    note(
        "add conversation",
        added(remember(m.add(CONVERSATION, user_id="alice", metadata={"category": "movies"}, infer=False))),
    )
    note("add string", added(remember(m.add("I work as a nurse in Lisbon", user_id="alice", infer=False))))
    note(
        "add dict with name",
        added(
            remember(
                m.add(
                    {"role": "user", "content": "My dog is called Rex", "name": "Alice"},
                    user_id="alice",
                    agent_id="pets",
                    infer=False,
                )
            )
        ),
    )
    note("add agent only", added(remember(m.add("Always answer in French", agent_id="pets", infer=False))))
    note(
        "add run",
        added(remember(m.add("Today we planned a trip to Porto", user_id="alice", run_id="trip-1", infer=False))),
    )
    note("add bob", added(remember(m.add("I love sci-fi movies too", user_id="bob", infer=False))))
    note("add without ids", raises(lambda: m.add("orphan", infer=False)))
    note("add bad memory_type", raises(lambda: m.add("x", user_id="alice", infer=False, memory_type="episodic")))

    note("get_all alice", listing(m.get_all(filters={"user_id": "alice"})))
    note("get_all top_k", len(m.get_all(filters={"user_id": "alice"}, top_k=2)["results"]))
    note("get_all agent", listing(m.get_all(filters={"agent_id": "pets"})))
    note("get_all run", listing(m.get_all(filters={"user_id": "alice", "run_id": "trip-1"})))
    note("get_all without ids", raises(lambda: m.get_all(filters={"category": "movies"})))

    note("search movies", searched(m.search("What movies do I like?", filters={"user_id": "alice"})))
    note("search dog", searched(m.search("What is the name of my dog?", filters={"user_id": "alice"}, top_k=3)))
    note("search agent", searched(m.search("which language to answer in", filters={"agent_id": "pets"})))
    note("search threshold", searched(m.search("What movies do I like?", filters={"user_id": "alice"}, threshold=0.4)))
    note(
        "search metadata eq",
        searched(m.search("movies", filters={"user_id": "alice", "category": "movies"})),
    )
    note(
        "search metadata in",
        searched(m.search("movies", filters={"user_id": "alice", "category": {"in": ["movies", "books"]}})),
    )
    note(
        "search metadata ne",
        searched(m.search("movies", filters={"user_id": "alice", "category": {"ne": "movies"}})),
    )
    note("search without ids", raises(lambda: m.search("movies", filters={"category": "movies"})))
    note("search empty query", raises(lambda: m.search("  ", filters={"user_id": "alice"})))
    note("search bad threshold", raises(lambda: m.search("movies", filters={"user_id": "alice"}, threshold=2)))
    explained = m.search("What is the name of my dog?", filters={"user_id": "alice"}, explain=True)["results"][0]
    note(
        "search explain keys",
        sorted({"semantic_score", "bm25_score", "final_score", "threshold"} & set(explained["score_details"])),
    )

    nurse = ids["I work as a nurse in Lisbon"]
    note("get", item(m.get(nurse)))
    note("get unknown", m.get("0b6c2a52-7d9e-4f0e-9a55-1d2f3c4b5a69"))
    note("update text", m.update(nurse, text="I work as a doctor in Lisbon"))
    note("get updated", item(m.get(nurse)))
    note("update data", m.update(nurse, data="I work as a surgeon in Lisbon"))
    note("update nothing", raises(lambda: m.update(nurse)))
    note("history", history(m.history(nurse)))
    note("delete", m.delete(nurse))
    note("get deleted", m.get(nurse))
    note("history deleted", history(m.history(nurse)))
    note("delete unknown", raises(lambda: m.delete("0b6c2a52-7d9e-4f0e-9a55-1d2f3c4b5a69")))
    note("history unknown", m.history("0b6c2a52-7d9e-4f0e-9a55-1d2f3c4b5a69"))

    note("delete_all run", m.delete_all(run_id="trip-1"))
    note("get_all after delete_all run", listing(m.get_all(filters={"user_id": "alice"})))
    note("delete_all without ids", raises(lambda: m.delete_all()))
    note("delete_all alice", m.delete_all(user_id="alice"))
    note("get_all after delete_all", listing(m.get_all(filters={"user_id": "alice"})))
    note("bob kept", listing(m.get_all(filters={"user_id": "bob"})))
    note("reset", m.reset())
    note("get_all after reset", listing(m.get_all(filters={"user_id": "bob"})))
    return seen


def expiring(m: Any) -> list[tuple[str, Any]]:
    """``expiration_date``: a memory past it is hidden from get_all and search unless
    ``show_expired``."""
    past = (date.today() - timedelta(days=2)).isoformat()
    m.add("The spring sale ends on Friday", user_id="carol", expiration_date=past, infer=False)
    m.add("I prefer window seats", user_id="carol", infer=False)
    return [
        ("get_all", listing(m.get_all(filters={"user_id": "carol"}))),
        ("get_all show_expired", listing(m.get_all(filters={"user_id": "carol"}, show_expired=True))),
        ("search", searched(m.search("When does the sale end?", filters={"user_id": "carol"}))),
        (
            "search show_expired",
            searched(m.search("When does the sale end?", filters={"user_id": "carol"}, show_expired=True)),
        ),
        ("bad date", raises(lambda: m.add("x", user_id="carol", expiration_date="soon", infer=False))),
    ]


def compare(mem0_seen: list[tuple[str, Any]], shim_seen: list[tuple[str, Any]]) -> None:
    assert [s for s, _ in shim_seen] == [s for s, _ in mem0_seen]
    for (step, theirs), (_, ours) in zip(mem0_seen, shim_seen, strict=True):
        if isinstance(theirs, dict) and "scores" in theirs:
            assert ours["scores"].keys() == theirs["scores"].keys(), step
            for text, score in theirs["scores"].items():
                assert ours["scores"][text] == pytest.approx(score, abs=2e-3), (step, text)
            # the order is each engine's own (mem0 here: cosine alone; outcrop: its fused ranking),
            # so the best hit is compared where the question has one answer (CLEAR), not here
            theirs, ours = ({k: v for k, v in x.items() if k not in ("scores", "best")} for x in (theirs, ours))
        assert ours == theirs, step


CLEAR = {"search dog": "My dog is called Rex", "search agent": "Always answer in French"}


def test_the_quickstart_and_api_calls_behave_as_in_mem0(
    tmp_path: Path, embedder: Embedder, real_mem0: Callable[[], Any]
) -> None:
    theirs = quickstart(real_mem0())
    assert dict(theirs)["add conversation"][0]["role"] == "user"  # the flow really ran on mem0
    assert len(dict(theirs)["add conversation"]) == 4  # the system message is not stored
    with shim(tmp_path, embedder) as m:
        ours = quickstart(m)
    compare(theirs, ours)
    for step, best in CLEAR.items():
        assert dict(theirs)[step]["best"] == dict(ours)[step]["best"] == best


def test_expiration_dates_behave_as_in_mem0(tmp_path: Path, embedder: Embedder, real_mem0: Callable[[], Any]) -> None:
    theirs = expiring(real_mem0())
    assert dict(theirs)["get_all"] != dict(theirs)["get_all show_expired"]
    with shim(tmp_path, embedder) as m:
        compare(theirs, expiring(m))


def test_from_config_takes_mems0_config_dict_and_names_what_it_does_not_use(
    tmp_path: Path, embedder: Embedder, offline_mem0: None
) -> None:
    from tests.mem0_offline import mem0_config

    config = mem0_config(tmp_path / "mem0", embedder)
    config["outcrop"] = {"store": f"sqlite:///{tmp_path / 'o.db'}"}
    with pytest.warns(Mem0CompatWarning, match="embedder, history_db_path, llm, vector_store"):
        m = Memory.from_config(config, embedder=embedder)
    with m:
        assert m.native.store.url.endswith("o.db")
        with pytest.warns(Mem0CompatWarning, match="infer=True"):
            m.add("I like tea", user_id="dan")  # mem0's default infer=True
        m.add("I like coffee", user_id="dan")  # warned once per memory
        assert [r["memory"] for r in m.search("tea", filters={"user_id": "dan"}, top_k=1)["results"]] == ["I like tea"]
    with Memory(f"sqlite:///{tmp_path / 'o.db'}", embedder=embedder) as again:  # a store URL alone
        assert len(again.get_all(user_id="dan")["results"]) == 2


def test_the_1_0_calling_convention_is_accepted_where_mem0_2_refuses_it(
    tmp_path: Path, embedder: Embedder, real_mem0: Callable[[], Any]
) -> None:
    """mem0 2.x refuses ids at top level in search and get_all (1.0.x passed them so); the shim
    takes both and gives the same answer as the 2.x form."""
    theirs = real_mem0()
    theirs.add("I like tea", user_id="dan", infer=False)
    with pytest.raises(ValueError, match="Top-level entity parameters"):
        theirs.search("tea", user_id="dan")
    with pytest.raises(ValueError, match="Top-level entity parameters"):
        theirs.get_all(user_id="dan")
    with shim(tmp_path, embedder) as m:
        m.add("I like tea", user_id="dan", infer=False)
        assert m.search("tea", user_id="dan", limit=5) == m.search("tea", filters={"user_id": "dan"}, top_k=5)
        assert m.get_all(user_id="dan", limit=5) == m.get_all(filters={"user_id": "dan"}, top_k=5)
        with pytest.raises(ValueError, match="top_k and limit"):
            m.search("tea", filters={"user_id": "dan"}, top_k=3, limit=5)


def test_the_same_message_added_again_later_is_a_new_memory_as_in_mem0(tmp_path: Path, embedder: Embedder) -> None:
    """outcrop's own add keeps one memory per input; mem0 (``infer=False``) adds one per call. The
    shim gives mem0's behaviour for adds at different times; a retry within the same second (or
    with the same ``timestamp``) is the same memory."""
    clock = FixedClock(datetime(2026, 3, 1, 9, 0, 0))
    with shim(tmp_path, embedder) as m, using_clock(clock):
        first = m.add("I like tea", user_id="dan", infer=False)["results"][0]["id"]
        assert m.add("I like tea", user_id="dan", infer=False)["results"][0]["id"] == first  # a retry
        clock.advance(seconds=1)
        second = m.add("I like tea", user_id="dan", infer=False)["results"][0]["id"]
        assert second != first
        assert len(m.get_all(filters={"user_id": "dan"})["results"]) == 2
        assert m.get(first)["created_at"] == "2026-03-01T09:00:00+00:00"


def test_what_the_shim_cannot_honour_is_refused_or_warned(tmp_path: Path, embedder: Embedder) -> None:
    with shim(tmp_path, embedder) as m:
        [added_tea] = m.add("I like tea", user_id="dan", infer=False)["results"]
        with pytest.warns(Mem0CompatWarning, match="no reranker"):
            m.search("tea", filters={"user_id": "dan"}, rerank=True)
        with pytest.raises(ValueError, match="metadata"):
            m.update(added_tea["id"], metadata={"k": "v"})
        with pytest.raises(ValueError, match="platform"):
            m.search("tea", filters={"user_id": "dan"}, reference_date="2024-01-01")
        with pytest.raises(MemoryNotFoundError):
            m.update("t_nope", text="x")
        with pytest.raises(ValueError, match="not found"):  # mem0 raises ValueError too
            m.delete("0b6c2a52-7d9e-4f0e-9a55-1d2f3c4b5a69")
        from outcrop.errors import ConfigError

        with pytest.raises(ConfigError, match="procedural"):
            m.add("steps", agent_id="a", infer=False, memory_type="procedural_memory")


def test_async_memory_runs_the_same_calls(tmp_path: Path, embedder: Embedder, real_mem0: Callable[[], Any]) -> None:
    from mem0 import AsyncMemory as Mem0AsyncMemory

    from tests.mem0_offline import close_mem0, mem0_config

    async def flow(m: Any) -> list[Any]:
        plants = ("tulips by the gate", "basil on the windowsill", "an old oak tree", "strawberries in pots")
        # added one after another: with the four adds gathered, real mem0 once ranked the tulips
        # first for basil (seen once in five runs, not investigated); the shim's own concurrency
        # is checked by the next test
        results = [await m.add(f"The garden has {p}", user_id="eve", infer=False) for p in plants]
        first = results[0]["results"][0]["id"]
        found, _ = await asyncio.gather(
            m.search("Where does the basil grow?", filters={"user_id": "eve"}, top_k=1),
            m.search("oak", filters={"user_id": "eve"}, top_k=1),
        )
        await m.update(first, text="The garden has roses")
        return [
            sorted(r["results"][0]["memory"] for r in results),
            found["results"][0]["memory"],
            (await m.get(first))["memory"],
            len((await m.get_all(filters={"user_id": "eve"}))["results"]),
            [row["event"] for row in await m.history(first)],
            await m.delete(first),
            await m.delete_all(user_id="eve"),
            (await m.get_all(filters={"user_id": "eve"}))["results"],
        ]

    theirs = Mem0AsyncMemory.from_config(mem0_config(tmp_path / "mem0-async", embedder))
    try:
        mem0_seen = asyncio.run(flow(theirs))
    finally:
        close_mem0(theirs)
    ours = AsyncMemory.from_config({"outcrop": {"store": f"sqlite:///{tmp_path / 'async.db'}"}}, embedder=embedder)
    try:
        assert asyncio.run(flow(ours)) == mem0_seen
    finally:
        asyncio.run(ours.close())


def test_the_async_shim_is_safe_under_concurrent_tasks(tmp_path: Path, embedder: Embedder) -> None:
    pets = ("a parrot called Kiwi", "a tortoise called Dot", "a goldfish called Bubbles", "a ferret called Zed")

    async def flow(m: AsyncMemory) -> None:
        added = await asyncio.gather(
            *(m.add(f"My neighbour {n} has {p}", user_id=f"u{n}", infer=False) for n in range(3) for p in pets)
        )
        assert len({r["results"][0]["id"] for r in added}) == 12
        found = await asyncio.gather(
            *(
                m.search(f"Who is {p.split()[-1]}?", filters={"user_id": f"u{n}"}, top_k=1)
                for n in range(3)
                for p in pets
            )
        )
        expected = [f"My neighbour {n} has {p}" for n in range(3) for p in pets]
        assert [f["results"][0]["memory"] for f in found] == expected

    ours = AsyncMemory(MemoryConfig(store=f"sqlite:///{tmp_path / 'async.db'}"), embedder=embedder)
    try:
        asyncio.run(flow(ours))
    finally:
        asyncio.run(ours.close())


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.id, self.dim, self.batch_size = inner.id, inner.dim, inner.batch_size
        self.texts: list[str] = []

    def embed(self, texts: Any) -> Any:
        self.texts.extend(texts)
        return self.inner.embed(texts)


def test_a_search_embeds_its_query_once_and_scores_by_that_vector(tmp_path: Path, embedder: Embedder) -> None:
    counting = CountingEmbedder(embedder)
    with Memory(MemoryConfig(store=f"sqlite:///{tmp_path / 'o.db'}"), embedder=counting) as m:
        m.add("I adopted a beagle called Pixie", user_id="u", infer=False)
        m.add("My sister lives in Porto", user_id="u", infer=False)
        counting.texts.clear()
        found = m.search("what dog did I adopt", user_id="u", threshold=None)["results"]
        assert counting.texts.count("what dog did I adopt") == 1
        query = embedder.embed(["what dog did I adopt"])[0]
        memory = embedder.embed(["I adopted a beagle called Pixie"])[0]
        top = next(r for r in found if r["memory"] == "I adopted a beagle called Pixie")
        assert top["score"] == pytest.approx(float(query @ memory), abs=1e-5)
