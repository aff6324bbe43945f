"""``Store.snapshot``: one state of the store for a thread's reads, on both backends, while
another store instance writes; what an export reads through it, without any lock."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.errors import StoreError
from outcrop.providers import Embedder


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _memory(url: str, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig(store=url, tenant="acme", strata={"on_add": False}), embedder=embedder)


def test_reads_in_a_snapshot_see_one_state_while_another_store_writes(url: str, embedder: Embedder) -> None:
    scope = Scope(tenant="acme", user_id="u1")
    with _memory(url, embedder) as reader, _memory(url, embedder) as writer:
        writer.add(["I adopted a parrot.", "We went camping."], user_id="u1", session_id="s1")
        with reader.store.snapshot("acme"):
            before = reader.store.records.count(scope)
            writer.add(["The bakery sells cardamom buns."], user_id="u1", session_id="s1")
            assert reader.store.records.count(scope) == before  # the write is not seen here
            assert len(list(reader.store.records.iter_items(scope))) == before["turn"] == 2
            with pytest.raises(StoreError):  # a snapshot reads only
                reader.add("Not now.", user_id="u1")
        assert reader.store.records.count(scope)["turn"] == 3  # seen once the snapshot ends
        out = io.StringIO()
        reader.export(out, user_id="u1")  # reads one snapshot
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [line["payload"]["content"] for line in lines[1:]] == [
            "I adopted a parrot.",
            "We went camping.",
            "The bakery sells cardamom buns.",
        ]
