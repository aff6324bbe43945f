"""Several processes writing one store at once: no error reaches a caller, no session position
is given twice, and the same input added by two writers is stored once (both get its id)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder

pytestmark = pytest.mark.integration  # writer processes

WRITERS, ADDS = 4, 12


def _writer(url: str, number: int, out: str) -> None:
    errors: list[str] = []
    ids: dict[str, str] = {}
    with Memory(config=MemoryConfig(store=url)) as m:
        for i in range(ADDS):
            shared = i % 3 == 0  # the same message from every writer: one turn, one id for all
            message = {
                "name": "Sam" if shared else f"W{number}",
                "content": f"{'shared' if shared else number} note {i}",
            }
            try:
                (ids[message["content"]],) = m.add(
                    [message], user_id="u", session_id="s", timestamp=f"2024-01-01T10:{i:02d}"
                )
            except Exception as exc:  # every error counts, ours or not
                errors.append(f"{type(exc).__name__}: {exc}")
    Path(out).write_text(json.dumps({"errors": errors, "ids": ids}))


def _run_writers(url: str, tmp_path: Path) -> list[dict[str, object]]:
    spawn = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"writer{n}.json" for n in range(WRITERS)]
    processes = [spawn.Process(target=_writer, args=(url, n, str(out))) for n, out in enumerate(outs)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=600)
        assert p.exitcode == 0
    return [json.loads(out.read_text()) for out in outs]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_concurrent_writers_lose_nothing_and_collide_nowhere(
    backend: str, tmp_path: Path, embedder: Embedder, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else str(request.getfixturevalue("postgres_url"))
    with Memory(config=MemoryConfig(store=url), embedder=embedder):
        pass  # the schema exists before the writers race to open it
    results = _run_writers(url, tmp_path)
    assert [r["errors"] for r in results] == [[]] * WRITERS
    shared = {k for r in results for k in r["ids"] if str(k).startswith("shared")}  # type: ignore[union-attr]
    for content in shared:  # every writer got the one id of the shared message
        assert len({r["ids"][content] for r in results}) == 1  # type: ignore[index]
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as m:
        turns = m.list(user_id="u", session_id="s", level="turn", limit=1000)
        assert len(turns) == WRITERS * ADDS - (WRITERS - 1) * len(shared)
        positions = m.store.records.positions(Scope(tenant=m.config.tenant, user_id="u"), [t.id for t in turns])
        assert sorted(positions.values()) == list(range(len(turns)))  # each position once, none skipped


def test_positions_two_writers_once_doubled_are_renumbered_on_open(tmp_path: Path, embedder: Embedder) -> None:
    import sqlite3

    url = f"sqlite:///{tmp_path / 'm.db'}"
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as m:
        ids = m.add([{"content": f"note {n}"} for n in range(4)], user_id="u", session_id="s")
    with sqlite3.connect(tmp_path / "m.db") as db:  # as concurrent writers left stores before the index
        db.execute("DROP INDEX turn_positions")
        db.execute("UPDATE items SET position = 1 WHERE id = ?", (ids[2],))
        db.execute("DELETE FROM schema_migrations WHERE name = '0008_unique_turn_positions'")
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as m:
        positions = m.store.records.positions(Scope(tenant=m.config.tenant, user_id="u"), ids)
        assert sorted(positions.values()) == [0, 1, 2, 3]
        assert positions[ids[0]] == 0 and {positions[ids[1]], positions[ids[2]]} == {1, 2} and positions[ids[3]] == 3
