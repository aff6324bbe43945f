"""Hostile input and closing under load, through the mem0 shim on a real SQLite file with the real
model: each bad value is one outcrop error (mem0's ``ValueError`` family), nothing is written, a
mem0 user never reaches memories added without a user, and ``close`` waits for the calls in flight."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from outcrop.compat.mem0 import AsyncMemory, Memory
from outcrop.config import MemoryConfig
from outcrop.errors import InvalidInputError, StoreError
from outcrop.providers import Embedder
from tests.compat.test_mem0_parity import shim


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_the_user_default_is_refused_so_no_mem0_user_reads_what_was_added_without_one(
    tmp_path: Path, embedder: Embedder
) -> None:
    """outcrop keeps an agent's or a run's memories (added with no user) under its user "default":
    a mem0 user of that name listed, searched and deleted them all."""
    with shim(tmp_path, embedder) as m:
        m.add("The private note of agent X: the vault code is 7741.", agent_id="X", infer=False)
        for call in (
            lambda: m.get_all(filters={"user_id": "default"}),
            lambda: m.search("vault code", filters={"user_id": "default"}),
            lambda: m.delete_all(user_id="default"),
            lambda: m.add("hello", user_id="default", infer=False),
        ):
            with pytest.raises(InvalidInputError, match="reserved"):
                call()
        assert [r["memory"] for r in m.get_all(filters={"agent_id": "X"})["results"]] == [
            "The private note of agent X: the vault code is 7741."
        ]


@pytest.mark.parametrize("user_id", [["a"], True, 1.5, {"id": "a"}, "\ud800", "x" * 201])
def test_an_id_that_is_not_a_name_is_refused_not_turned_into_one(
    tmp_path: Path, embedder: Embedder, user_id: object
) -> None:
    with shim(tmp_path, embedder) as m:
        with pytest.raises(InvalidInputError, match="user_id"):
            m.add("hi", user_id=user_id, infer=False)
        with pytest.raises(InvalidInputError, match="user_id"):
            m.get_all(user_id=user_id)
        assert m.native.stats()["counts"].get("log", 0) == 0


@pytest.mark.parametrize(
    "filters",
    [{"user_id": "alice", "n": 2**70}, {"user_id": "alice", "k": "\ud800"}, {"user_id": "alice", "\ud800": "v"}],
)
def test_a_filter_value_the_store_cannot_hold_is_an_error_of_ours(
    tmp_path: Path, embedder: Embedder, filters: dict[str, Any]
) -> None:
    with shim(tmp_path, embedder) as m:
        m.add("note", user_id="alice", infer=False)
        with pytest.raises(InvalidInputError):
            m.search("note", filters=filters)
        with pytest.raises(InvalidInputError):
            m.get_all(filters=filters)


def test_an_expiration_date_in_metadata_is_checked_as_the_argument_is(tmp_path: Path, embedder: Embedder) -> None:
    """ "soon" in metadata was stored, then every read of the scope raised a raw ValueError."""
    with shim(tmp_path, embedder) as m:
        with pytest.raises(InvalidInputError, match="expiration_date"):
            m.add("note", user_id="alice", metadata={"expiration_date": "soon"}, infer=False)
        with pytest.raises(InvalidInputError, match="twice"):
            m.add("note", user_id="alice", metadata={"expiration_date": "2030-01-01"}, expiration_date="2031-01-01")
        [added] = m.add("note", user_id="alice", metadata={"expiration_date": "2030-12-31"}, infer=False)["results"]
        assert m.get(added["id"])["expiration_date"] == "2030-12-31"
        # a value stored before dates were checked (here through the native API) expires nothing
        m.native.add("old note", user_id="alice", metadata={"expiration_date": "soon"})
        assert {r["memory"] for r in m.get_all(filters={"user_id": "alice"})["results"]} == {"note", "old note"}
        assert m.search("note", filters={"user_id": "alice"})["results"]


def test_an_imported_expiration_date_that_is_not_a_date_refuses_the_file(tmp_path: Path, embedder: Embedder) -> None:
    export = tmp_path / "mem0.json"
    entry = {"id": "0b6c2a52-7d9e-4f0e-9a55-1d2f3c4b5a69", "memory": "note", "user_id": "alice"}
    export.write_text(
        json.dumps({"results": [{**entry, "created_at": "2024-01-01T10:00:00Z", "expiration_date": "31/12/2030"}]})
    )
    with shim(tmp_path, embedder) as m:
        with pytest.raises(InvalidInputError, match="expiration_date"):
            m.import_mem0(export)
        with pytest.raises(InvalidInputError, match="path"):
            m.import_mem0(5)  # type: ignore[arg-type]
        assert m.native.stats()["counts"].get("log", 0) == 0


def test_created_at_and_updated_at_filters_compare_the_memorys_times(tmp_path: Path, embedder: Embedder) -> None:
    """Named in mem0's filter fields, they matched nothing: every memory lacked them."""
    with shim(tmp_path, embedder) as m:
        m.add("note", user_id="alice", timestamp="2024-05-01T10:00:00Z", infer=False)
        after = {"user_id": "alice", "created_at": {"gte": "2024-01-01"}}
        assert len(m.get_all(filters=after)["results"]) == 1
        assert m.get_all(filters={"user_id": "alice", "created_at": {"gte": "2025-01-01"}})["results"] == []
        assert len(m.get_all(filters={"user_id": "alice", "updated_at": "*"})["results"]) == 1
        assert len(m.search("note", filters=after)["results"]) == 1


def test_close_waits_for_the_adds_in_flight_and_refuses_calls_after_it(tmp_path: Path, embedder: Embedder) -> None:
    """close used to close the store under running adds: an add that was stored reported a
    StoreError (a retry would store it twice); a second close failed."""

    async def flow() -> list[Any]:
        m = AsyncMemory(MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder)
        await m.add("warm up", user_id="u", infer=False)
        tasks = [asyncio.create_task(m.add(f"late note {i}", user_id="u", infer=False)) for i in range(12)]
        await asyncio.sleep(0.05)
        await m.close()
        await m.close()  # again: waits for the first, fails nothing
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        with pytest.raises(StoreError, match="closed"):
            await m.add("after close", user_id="u", infer=False)
        return outcomes

    outcomes = asyncio.run(flow())
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    with Memory(MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as again:
        held = {r["memory"] for r in again.get_all(filters={"user_id": "u"}, top_k=100)["results"]}
    assert held == {"warm up", *(f"late note {i}" for i in range(12))}


def test_update_with_text_and_data_that_differ_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    """``text`` silently won over a different ``data`` (its 1.0.x name)."""
    with shim(tmp_path, embedder) as m:
        [added] = m.add("I like tea", user_id="dan", infer=False)["results"]
        with pytest.raises(InvalidInputError, match="same argument"):
            m.update(added["id"], text="I like coffee", data="I like cocoa")
        assert m.get(added["id"])["memory"] == "I like tea"
        m.update(added["id"], text="I like coffee", data="I like coffee")
        assert m.get(added["id"])["memory"] == "I like coffee"
