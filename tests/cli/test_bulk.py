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
