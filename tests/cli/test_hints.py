"""The empty-scope hint of ``outcrop search``: on a real SQLite file with two tenants, the line
names the users of the caller's tenant (never the other tenant's), says when the tenant holds
nobody, and stays quiet when the scope holds memories the query just did not match."""

from __future__ import annotations

import json
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.cli.hints import SHOWN_USERS, empty_scope_hint, held_users
from outcrop.providers import Embedder
from tests.helpers import run_cli


def test_the_hint_names_this_tenants_users_only(db_url: str, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig(store=db_url), embedder=embedder) as memory:
        memory.add("Alice likes tea.", user_id="alice")
        memory.add("Carol likes coffee.", user_id="carol", agent_id="barista")
        acme = memory.for_tenant("acme")
        acme.add("Mallory keeps the vault code.", user_id="mallory")

        assert empty_scope_hint(memory, "bob") == "no memories for user 'bob'; this store holds: alice, carol"
        assert empty_scope_hint(memory, None) == "no memories for user 'default'; this store holds: alice, carol"
        assert (
            empty_scope_hint(memory, "carol", "chef", "s1")
            == "no memories for user 'carol', agent 'chef', session 's1'; this store holds: alice, carol"
        )
        assert empty_scope_hint(memory, "alice") is None  # the scope holds something: no hint
        assert empty_scope_hint(memory, "carol", "barista") is None
        assert empty_scope_hint(acme, "bob") == "no memories for user 'bob'; tenant 'acme' holds: mallory"
        nobody = memory.for_tenant("empty")
        assert empty_scope_hint(nobody, "bob") == "no memories for user 'bob'; tenant 'empty' holds none yet"

        assert [held_users(m, 100) for m in (memory, acme, nobody)] == [["alice", "carol"], ["mallory"], []]
        memory.forget(user_id="carol")
        assert held_users(memory, 100) == ["alice"]  # a user whose memories are gone is not held any more


def test_many_users_are_cut_short(db_url: str, embedder: Embedder) -> None:
    with Memory(config=MemoryConfig(store=db_url), embedder=embedder) as memory:
        users = [f"u{n:02d}" for n in range(SHOWN_USERS + 2)]
        for user in users:
            memory.add(f"{user} was here.", user_id=user)
        assert held_users(memory, 3) == users[:3]
        hint = empty_scope_hint(memory, "zed")
        assert hint == f"no memories for user 'zed'; this store holds: {', '.join(users[:SHOWN_USERS])}, ..."


def test_the_command_prints_the_hint_on_stderr_and_json_on_stdout(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    run_cli("add", "Alice likes tea.", "-u", "alice", db=db)
    result = run_cli("search", "tea", "-u", "bob", "--json", db=db)
    assert json.loads(result.stdout) == []
    assert result.stderr.strip() == "no memories for user 'bob'; this store holds: alice"
    found = run_cli("search", "coffee", "-u", "alice", "--json", db=db)  # alice's scope is not empty: no hint
    assert found.stderr == ""
