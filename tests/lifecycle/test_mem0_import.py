"""A store the real mem0ai package wrote (local Qdrant folder + history database, and its
``get_all`` JSON), imported into outcrop: every memory keeps its id, scope, metadata, role, actor,
time and history, and the same query finds it in outcrop."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from outcrop.compat.mem0 import Memory
from outcrop.config import MemoryConfig
from outcrop.lifecycle.mem0_import import Mem0StoreError, read_mem0, read_mem0_store
from outcrop.providers import Embedder
from tests.helpers import run_cli
from tests.mem0_offline import close_mem0, offline_mem0, real_mem0

__all__ = ["offline_mem0", "real_mem0"]  # fixtures

pytestmark = pytest.mark.integration

SCOPES = ({"user_id": "alice"}, {"user_id": "bob"}, {"agent_id": "planner"}, {"user_id": "alice", "run_id": "trip-1"})


def write_mem0_store(m: Any) -> dict[str, Any]:
    """Memories of every kind of scope, with metadata, an actor, an edit and a delete, written by
    the real mem0; returns what mem0 holds afterwards (memories by id, histories)."""
    m.add(
        [
            {"role": "user", "content": "I'm vegetarian and allergic to peanuts", "name": "Alice"},
            {"role": "assistant", "content": "Noted: no meat and no peanuts in your recipes."},
        ],
        user_id="alice",
        metadata={"category": "food", "priority": 2},
        infer=False,
    )
    nurse = m.add("I work night shifts as a nurse", user_id="alice", infer=False)["results"][0]["id"]
    m.add("My favourite band is Radiohead", user_id="bob", metadata={"category": "music"}, infer=False)
    gone = m.add("Bob's cat is named Miso", user_id="bob", infer=False)["results"][0]["id"]
    m.add("Plan trips with at most two flights", agent_id="planner", infer=False)
    m.add("We booked a hotel in Porto for three nights", user_id="alice", run_id="trip-1", infer=False)
    m.update(nurse, text="I work day shifts as a nurse in Lisbon")
    m.delete(gone)
    held: dict[str, dict[str, Any]] = {}
    for scope in SCOPES:
        held.update({e["id"]: e for e in m.get_all(filters=scope, top_k=100)["results"]})
    return {"memories": held, "histories": {i: m.history(i) for i in held}}


def check_imported(ours: Memory, written: dict[str, Any], *, with_history: bool) -> None:
    """Every memory mem0 held, found in outcrop under its mem0 id with the same fields, and by the
    same query (its text) at the top of outcrop's search."""
    for memory_id, theirs in written["memories"].items():
        mine = ours.get(memory_id)
        assert mine is not None, theirs
        for key in ("id", "memory", "hash", "metadata", "user_id", "agent_id", "run_id", "role", "actor_id"):
            assert mine.get(key) == theirs.get(key), (key, theirs)
        assert datetime.fromisoformat(mine["created_at"]).replace(microsecond=0) == datetime.fromisoformat(
            theirs["created_at"]
        ).replace(microsecond=0)
        scope = {k: theirs[k] for k in ("user_id", "agent_id", "run_id") if k in theirs}
        found = ours.search(theirs["memory"], filters=scope, top_k=3)["results"]
        assert found and found[0]["id"] == memory_id, (theirs["memory"], found)
        if with_history:
            events = [(r["event"], r["old_memory"], r["new_memory"]) for r in written["histories"][memory_id]]
            assert [(r["event"], r["old_memory"], r["new_memory"]) for r in ours.history(memory_id)] == events


def test_a_mem0_store_imports_with_ids_scopes_metadata_history_and_times(
    tmp_path: Path, embedder: Embedder, real_mem0: Callable[[], Any]
) -> None:
    theirs = real_mem0()
    written = write_mem0_store(theirs)
    assert len(written["memories"]) == 6
    close_mem0(theirs)  # a local Qdrant folder admits one client
    folder = tmp_path / "mem0"
    source = read_mem0_store(folder / "qdrant", history_db=folder / "history.db")
    assert len(source.memories) == 6 and source.deleted == 1
    with Memory(MemoryConfig(store=f"sqlite:///{tmp_path / 'o.db'}"), embedder=embedder) as ours:
        report = ours.import_mem0(folder / "qdrant", history_db=folder / "history.db")
        assert (report.memories, report.deleted, report.imported.turns) == (6, 1, 6)
        check_imported(ours, written, with_history=True)
        nurse = next(i for i, e in written["memories"].items() if "nurse" in e["memory"])
        assert [r["event"] for r in ours.history(nurse)] == ["ADD", "UPDATE"]
        again = ours.import_mem0(folder / "qdrant", history_db=folder / "history.db")
        assert again.imported.added == 0 and again.imported.skipped == again.imported.records  # idempotent
        assert len(ours.get_all(filters={"user_id": "alice"}, top_k=100)["results"]) == 4
        native = ours.native.get("t_" + nurse)  # outcrop's own id of an imported memory
        assert native.text == "I work day shifts as a nurse in Lisbon"


def test_a_json_export_of_get_all_imports_with_ids_scopes_and_metadata(
    tmp_path: Path, embedder: Embedder, real_mem0: Callable[[], Any]
) -> None:
    theirs = real_mem0()
    written = write_mem0_store(theirs)
    export = tmp_path / "mem0.json"
    export.write_text(json.dumps({"results": list(written["memories"].values())}))
    close_mem0(theirs)
    with Memory(MemoryConfig(store=f"sqlite:///{tmp_path / 'o.db'}"), embedder=embedder) as ours:
        report = ours.import_mem0(export)
        assert report.memories == 6
        check_imported(ours, written, with_history=False)


def test_the_cli_imports_a_mem0_folder_and_fails_in_one_line(
    tmp_path: Path, embedder: Embedder, real_mem0: Callable[[], Any]
) -> None:
    theirs = real_mem0()
    written = write_mem0_store(theirs)
    close_mem0(theirs)
    db = tmp_path / "cli.db"
    out = run_cli(
        "import-mem0", str(tmp_path / "mem0" / "qdrant"), "--history", str(tmp_path / "mem0" / "history.db"), db=db
    )
    assert "imported 6 mem0 memories" in out.stdout and "1 memories mem0 had deleted" in out.stdout
    with Memory(MemoryConfig(store=f"sqlite:///{db}"), embedder=embedder) as ours:
        check_imported(ours, written, with_history=True)
    for bad in (tmp_path / "nowhere", tmp_path / "cli.db"):
        failed = run_cli("import-mem0", str(bad), db=tmp_path / "other.db", check=False)
        assert failed.returncode == 2
        assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("error: "), failed.stderr


def test_unreadable_sources_raise_the_import_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "not.json").write_text("{")
    (tmp_path / "other.json").write_text(json.dumps({"results": [{"text": "x"}]}))
    for source in ("nowhere", "empty", "not.json", "other.json"):
        with pytest.raises(Mem0StoreError):
            read_mem0(tmp_path / source)
    with pytest.raises(Mem0StoreError, match="history"):
        read_mem0(tmp_path / "empty", history_db=tmp_path / "missing.db")
