"""AsyncMemory on a real SQLite file and the packaged model: the same methods as Memory, the loop
never blocked, many concurrent tasks losing nothing, writes of a scope in call order, isolation."""

from __future__ import annotations

import asyncio
import inspect
import random
import threading
from pathlib import Path

import pytest

from outcrop import AsyncMemory, InvalidInputError, Memory, MemoryConfig, StoreError
from outcrop.providers import Embedder


def _open(db_url: str, embedder: Embedder, **config: object) -> AsyncMemory:
    return AsyncMemory(config=MemoryConfig.build({"store": db_url, **config}), embedder=embedder)


def test_every_public_method_of_memory_is_a_coroutine_with_the_same_parameters() -> None:
    skipped = {"reusing_reads", "close"}  # reusing_reads: bound to a thread (module docstring); close: aclose
    for name, method in inspect.getmembers(Memory, inspect.isfunction):
        if name.startswith("_") or name in skipped:
            continue
        twin = getattr(AsyncMemory, name, None)
        assert twin is not None, name
        assert inspect.iscoroutinefunction(twin), name
        assert list(inspect.signature(twin).parameters) == list(inspect.signature(method).parameters), name
    assert inspect.iscoroutinefunction(AsyncMemory.aclose)
    for prop in ("engine", "store", "embedder", "llm"):
        assert isinstance(inspect.getattr_static(AsyncMemory, prop), property)


def test_a_round_trip_through_every_kind_of_call(db_url: str, embedder: Embedder, tmp_path: Path) -> None:
    async def main() -> None:
        async with _open(db_url, embedder) as m:
            ids = await m.add(
                [{"role": "user", "content": "I adopted a grey cat named Pixel."}], user_id="u1", session_id="s1"
            )
            assert (await m.search("what pet do I have?", user_id="u1"))[0].id == ids[0]
            assert (await m.get(ids[0])).text.startswith("I adopted")
            await m.update(ids[0], "I adopted a black cat named Pixel.", user_id="u1")
            assert [v.event for v in await m.history(ids[0])] == ["add", "update"]
            ctx = await m.context("cat", user_id="u1")
            assert "black cat" in ctx.text
            assert (await m.stats(user_id="u1"))["counts"]
            report = await m.export(tmp_path / "out.jsonl")
            assert report.records >= 1
            other = await m.for_tenant("t2")
            assert await other.search("cat", user_id="u1") == []
            await other.aclose()  # leaves the shared engine open
            receipt = await m.forget(user_id="u1")
            assert receipt.ok and ids[0] in receipt.removed["turn"]
            assert await m.list(user_id="u1") == []
        with pytest.raises(StoreError):
            await m.search("cat")

    asyncio.run(main())


def test_the_event_loop_keeps_running_while_a_call_works(db_url: str, embedder: Embedder) -> None:
    async def main() -> int:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        async with _open(db_url, embedder) as m:
            task = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            before = ticks
            messages = [{"role": "user", "content": f"Message {i} about hiking trail {i}."} for i in range(60)]
            await m.add(messages, user_id="u", session_id="s")
            during = ticks - before
            stop.set()
            await task
        return during

    assert asyncio.run(main()) >= 3  # a call run on the loop's own thread would let it tick at most once


def test_many_concurrent_tasks_lose_no_acknowledged_add_keep_order_and_isolation(
    db_url: str, embedder: Embedder
) -> None:
    users = [f"user{i}" for i in range(4)]
    rng = random.Random(7)

    async def main() -> None:
        async with _open(db_url, embedder, async_threads=3) as m:
            acknowledged: dict[str, list[tuple[str, str]]] = {u: [] for u in users}  # user -> (id, text)
            forgotten: set[str] = set()
            peak = 0

            async def writer(user: str, k: int) -> None:
                text = f"{user} note {k}: the {rng.choice(['red', 'blue', 'green'])} kite number {k}"
                ids = await m.add([{"role": "user", "content": text}], user_id=user, session_id="main")
                acknowledged[user].append((ids[0], text))

            async def scratch(user: str, k: int) -> None:
                await m.add([{"role": "user", "content": f"scratch {k} of {user}"}], user_id=user, session_id="tmp")
                await m.forget(user_id=user, session_id="tmp")
                forgotten.add(user)

            async def reader(user: str) -> None:
                nonlocal peak
                for hit in await m.search("kite number", user_id=user, limit=50):
                    assert hit.user_id == user, "a search returned another user's memory"
                peak = max(peak, sum(t.name.startswith("outcrop-async") for t in threading.enumerate()))

            calls = []
            for k in range(12):
                for user in users:
                    calls.append(writer(user, k))
                    calls.append(reader(user))
                if k % 4 == 0:
                    calls.append(scratch(users[k % len(users)], k))
            await asyncio.gather(*calls)

            for user in users:
                listed = await m.list(user_id=user, session_id="main", level="turn", limit=1000)
                # every acknowledged add is there, in the order the calls were made (k = 0, 1, ...)
                assert [item.id for item in listed] == [i for i, _ in acknowledged[user]]
                assert [item.text for item in listed] == [f for _, f in acknowledged[user]]
                assert [int(t.split()[2].rstrip(":")) for _, t in acknowledged[user]] == list(range(12))
                assert all(item.scope.user_id == user for item in listed)
                if user in forgotten:
                    assert await m.list(user_id=user, session_id="tmp") == []
            assert peak <= 3

    asyncio.run(main())


def test_a_cancelled_write_still_finishes_and_the_next_write_of_its_scope_follows_it(
    db_url: str, embedder: Embedder
) -> None:
    async def main() -> None:
        async with _open(db_url, embedder) as m:
            long = [{"role": "user", "content": f"Long add message {i} about sailing."} for i in range(40)]
            first = asyncio.create_task(m.add(long, user_id="u", session_id="s"))
            await asyncio.sleep(0.05)  # the add is running in a thread
            first.cancel()
            ids = await m.add([{"role": "user", "content": "after the long add"}], user_id="u", session_id="s")
            listed = await m.list(user_id="u", session_id="s", level="turn", limit=100)
            assert len(listed) == 41
            assert listed[-1].id == ids[0]
            assert first.cancelled()

    asyncio.run(main())


def test_wrap_leaves_the_memory_open(db_url: str, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig(store=db_url), embedder=embedder) as memory:

        async def main() -> None:
            async with AsyncMemory.wrap(memory) as m:
                await m.add([{"role": "user", "content": "wrapped"}], user_id="u")

        asyncio.run(main())
        assert [i.text for i in memory.list(user_id="u", level="turn")] == ["wrapped"]

    memory = Memory(config=MemoryConfig(store=db_url), embedder=embedder)

    async def closing() -> None:
        async with AsyncMemory.wrap(memory, closes_memory=True) as m:
            await m.add([{"role": "user", "content": "wrapped again"}], user_id="u")

    asyncio.run(closing())
    with pytest.raises(StoreError):
        memory.list(user_id="u", level="turn")


def test_aclose_finishes_the_writes_called_before_it_and_may_be_called_again(db_url: str, embedder: Embedder) -> None:
    """Writes of one user wait their turn behind each other: those called before ``aclose`` but
    still waiting were refused when their turn came; and a second ``aclose`` (``async with`` around
    an ``aclose``) raised the executor's RuntimeError."""

    async def main() -> list[object]:
        async with _open(db_url, embedder) as m:
            await m.add([{"role": "user", "content": "warm up"}], user_id="u")
            tasks = [
                asyncio.create_task(m.add([{"role": "user", "content": f"queued {i}"}], user_id="u")) for i in range(10)
            ]
            await asyncio.sleep(0.01)
            await m.aclose()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            with pytest.raises(StoreError, match="closed"):
                await m.add([{"role": "user", "content": "after"}], user_id="u")
        return outcomes

    outcomes = asyncio.run(main())
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    with Memory(config=MemoryConfig(store=db_url), embedder=embedder) as memory:
        texts = [i.text for i in memory.list(user_id="u", level="turn", limit=100)]
    assert sorted(texts) == sorted(["warm up", *(f"queued {i}" for i in range(10))])


def test_wrap_refuses_what_is_not_a_memory(db_url: str, embedder: Embedder) -> None:
    with pytest.raises(InvalidInputError, match="outcrop Memory"):
        AsyncMemory.wrap(5)  # type: ignore[arg-type]
    with (
        Memory(config=MemoryConfig(store=db_url), embedder=embedder) as memory,
        pytest.raises(InvalidInputError, match="threads"),
    ):
        AsyncMemory.wrap(memory, threads="x")  # type: ignore[arg-type]
