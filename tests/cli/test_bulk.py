"""The bulk options of the lifecycle commands, in-process (the Ray path: tests/distributed)."""

from __future__ import annotations

import json
from pathlib import Path

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from tests.helpers import run_cli


def test_rebuild_of_named_tenants_prints_a_report_per_tenant(tmp_path: Path, embedder: Embedder) -> None:
    db = tmp_path / "m.db"
    for tenant, text in (("acme", "I adopted a parrot named Zorblax."), ("globex", "We moved to Lisbon in May.")):
        with Memory(config=MemoryConfig(store=f"sqlite:///{db}", tenant=tenant), embedder=embedder) as memory:
            memory.add([{"role": "user", "content": text}], user_id="u1", session_id="s1")
    result = run_cli("rebuild", "--tenant", "globex", "--tenant", "acme", "--json", db=db)
    reports = json.loads(result.stdout)
    assert list(reports) == ["globex", "acme"] and all(r["turns"] == 1 for r in reports.values())

    every = json.loads(run_cli("rebuild", "--all-tenants", "--json", db=db).stdout)
    assert list(every) == ["acme", "globex"] and every == {k: reports[k] for k in every}
    both = run_cli("rebuild", "--all-tenants", "--tenant", "acme", db=db, check=False)
    assert both.returncode == 2 and "not both" in both.stderr
    mixed = run_cli("rebuild", "--tenant", "acme", "--user-id", "u1", db=db, check=False)
    assert mixed.returncode == 2 and "--user-id" in mixed.stderr
    # a misspelt tenant: exit 0 with nothing rebuilt, before; now refused before any tenant runs
    typo = run_cli("rebuild", "--tenant", "acme", "--tenant", "globx", db=db, check=False)
    assert typo.returncode == 2 and "'globx'" in typo.stderr and "acme, globex" in typo.stderr
    assert typo.stdout == ""


def test_an_error_naming_what_the_caller_typed_is_one_line_without_raw_control_characters(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A tenant named with an escape sequence was echoed raw into the error line (it drove the
    terminal: "\\x1b[2J" cleared it)."""
    db = tmp_path / "m.db"
    with Memory(config=MemoryConfig(store=f"sqlite:///{db}", tenant="acme"), embedder=embedder) as memory:
        memory.add("I adopted a parrot named Zorblax.", user_id="u1")
    done = run_cli("rebuild", "--tenant", "acme", "--tenant", "\x1b[2J\x1b[31mpwned", db=db, check=False)
    assert done.returncode == 2
    assert "\x1b" not in done.stderr and "\\x1b[2J" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bulk_work_over_a_store_that_is_not_there_is_refused(tmp_path: Path) -> None:
    """``rebuild --all-tenants`` with a mistyped --db created the store, folders and all, and
    exited 0 having rebuilt nothing."""
    missing = tmp_path / "nodir" / "missing.db"
    for args in (
        ("rebuild", "--all-tenants"),
        ("rebuild", "--tenant", "acme"),
        ("reindex", "--embedder", "wordllama", "--all-tenants"),
    ):
        done = run_cli(*args, db=missing, check=False)
        assert done.returncode == 2 and "no store at" in done.stderr, args
    assert not missing.parent.exists()


def test_a_rebuild_of_what_the_store_does_not_hold_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    """``OUTCROP_TENANT=acmee outcrop rebuild`` (or ``--user-id`` misspelt, or ``--db``) rebuilt
    nothing and exited 0."""
    db = tmp_path / "m.db"
    missing = run_cli("rebuild", db=tmp_path / "nodir" / "m.db", check=False)
    assert missing.returncode == 2 and "no store at" in missing.stderr
    assert not (tmp_path / "nodir").exists()
    with Memory(config=MemoryConfig(store=f"sqlite:///{db}"), embedder=embedder):
        pass  # an empty store: nothing to rebuild, no mistake
    assert json.loads(run_cli("rebuild", "--json", db=db).stdout)["turns"] == 0
    with Memory(config=MemoryConfig(store=f"sqlite:///{db}", tenant="acme"), embedder=embedder) as memory:
        memory.add("I adopted a parrot named Zorblax.", user_id="u1")
        [gone] = memory.add("I moved to Lisbon.", user_id="u2")
        memory.delete(gone)  # u2's only turn: its log stays, its items go
    typo = run_cli("rebuild", db=db, check=False, env={"OUTCROP_TENANT": "acmee"})
    assert typo.returncode == 2 and "no tenant 'acmee'" in typo.stderr and "(it holds: acme)" in typo.stderr
    user = run_cli("rebuild", "--user-id", "u3", db=db, check=False, env={"OUTCROP_TENANT": "acme"})
    assert user.returncode == 2 and "'u3'" in user.stderr and "u1" in user.stderr
    for who in ("u1", "u2"):  # u2 holds no item now, but its log is there to rebuild from
        run_cli("rebuild", "--user-id", who, "--json", db=db, env={"OUTCROP_TENANT": "acme"})
    assert json.loads(run_cli("rebuild", "--json", db=db, env={"OUTCROP_TENANT": "acme"}).stdout)["turns"] == 1
    with Memory(config=MemoryConfig(store=f"sqlite:///{db}", tenant="globex"), embedder=embedder) as memory:
        memory.delete(memory.add("We moved to Lisbon in May.", user_id="u1")[0])  # a tenant of deletions only
    both = json.loads(run_cli("rebuild", "--tenant", "globex", "--tenant", "acme", "--json", db=db).stdout)
    assert both["globex"]["turns"] == 0 and both["acme"]["turns"] == 1
