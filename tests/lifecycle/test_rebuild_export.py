"""Rebuild from the log, export/import round trips and the JSONL format's error handling, on real
SQLite files with the real MiniLM embedder."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.cli.demo import sample_path
from outcrop.core.formats import read_batches
from outcrop.errors import InvalidInputError, NotFoundError
from outcrop.lifecycle.export import parse_jsonl
from outcrop.providers import Embedder
from tests.helpers import locomo_file

STRATA = {"refresh_growth": 0.0}


def open_at(path: Path, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig(store=f"sqlite:///{path}", strata=STRATA), embedder=embedder)


def load_sample(m: Memory) -> None:
    for batch in read_batches(sample_path(), "json"):
        m.add(batch.messages, user_id="demo", session_id=batch.session_id, timestamp=batch.timestamp)


def load_locomo(m: Memory, sessions: int = 2) -> None:
    everything = read_batches(locomo_file(), "locomo")
    batches = [b for b in everything if b.user_id == everything[0].user_id]
    for batch in batches[:sessions]:
        m.add(batch.messages, user_id=batch.user_id, session_id=batch.session_id, timestamp=batch.timestamp)


def dump(m: Memory) -> str:
    buffer = io.StringIO()
    m.export(buffer, projections=True)
    return buffer.getvalue()


def lisbon_then_porto(tmp_path: Path, embedder: Embedder) -> tuple[str, str]:
    """A turn ("I moved to Lisbon in March."), then its update ("I moved to Porto in March."; the
    fact drawn from it is near enough to the old one to merge into it, which a consolidation does):
    its id and the export of both (a header, the add, the update)."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as source:
        [turn] = source.add(
            "I moved to Lisbon in March.", user_id="u1", session_id="s1", timestamp="2024-01-02T10:00:00"
        )
        source.update(turn, "I moved to Porto in March.", user_id="u1")
        out = io.StringIO()
        source.export(out)
    return turn, out.getvalue()


def home_and_locker(source: Memory, home: str) -> tuple[str, str]:
    """Two turns of u1's session s1: where the user lives (``home``), then a locker code."""
    first, second = source.add(
        [{"content": home}, {"content": "My locker code is quince."}],
        user_id="u1",
        session_id="s1",
        timestamp="2024-01-02T10:00:00",
    )
    return first, second


def stopped(*_args: object) -> None:
    """Put in place of the consolidation after an import's write: a process stopped there."""
    raise KeyboardInterrupt


def items_of(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if '"type":"item"' in line]


def test_rebuild_equals_incremental_state_on_the_sample(tmp_path: Path, embedder: Embedder) -> None:
    with open_at(tmp_path / "m.db", embedder) as m:
        load_sample(m)
        before = dump(m)
        report = m.rebuild()
        items = items_of(before)
        assert {i["level"] for i in items} >= {"turn", "fact", "episode"}
        assert report.turns == sum(1 for i in items if i["level"] == "turn")
        assert report.removed == len(items)
        assert dump(m) == before  # same ids, texts, levels, sources, metadata, positions

        turn = m.list(user_id="demo", level="turn", limit=3)
        m.update(turn[1].id, "I moved to Paris last spring and love the bakeries there.", user_id="demo")
        m.delete(turn[2].id, user_id="demo")
        changed = {i["id"]: i for i in items_of(dump(m))}
        m.rebuild()
        rebuilt = {i["id"]: i for i in items_of(dump(m))}
        assert rebuilt.keys() == changed.keys()
        for item_id, item in changed.items():
            same = ("level", "sources", "position", "version") if item["level"] == "episode" else tuple(item)
            # an episode's entity list ties may order differently after an update (same set)
            assert {k: rebuilt[item_id][k] for k in same} == {k: item[k] for k in same}, item_id
        hits = m.search("bakeries in Paris", user_id="demo", limit=3)
        assert turn[1].id in {h.id for h in hits} | {s for h in hits for s in h.sources}
        assert [v.event for v in m.history(turn[1].id)] == ["add", "update"]


@pytest.mark.quality
def test_rebuild_equals_incremental_state_on_a_locomo_slice(tmp_path: Path, embedder: Embedder) -> None:
    locomo_file()  # skips (or fails where the data is expected) before anything is opened
    with open_at(tmp_path / "m.db", embedder) as m:
        load_locomo(m)
        before = dump(m)
        report = m.rebuild()
        assert report.removed == len(items_of(before)) > 0
        assert dump(m) == before


def test_export_import_export_is_byte_identical(tmp_path: Path, embedder: Embedder) -> None:
    first, second = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    with open_at(tmp_path / "a.db", embedder) as a:
        load_sample(a)
        turn = a.list(user_id="demo", level="turn", limit=2)
        a.update(turn[0].id, "Edited first line about the garden.", user_id="demo")
        a.delete(turn[1].id, user_id="demo")
        exported = a.export(first)
        projected = dump(a)
    header = json.loads(first.read_text().splitlines()[0])
    assert header == {"format": "outcrop", "version": 1, "tenant": "default", "user_id": None, "projections": False}
    with open_at(tmp_path / "b.db", embedder) as b:  # another store URL
        report = b.import_(first)
        assert (report.records, report.added, report.skipped) == (exported.records, exported.records, 0)
        b.export(second)
        assert second.read_bytes() == first.read_bytes()
        assert dump(b) == projected  # projections recomputed to the same ids and texts
        assert b.get(turn[0].id).text == "Edited first line about the garden."
        assert [v.event for v in b.history(turn[1].id)] == ["add", "delete"]
        again = b.import_(first)  # already held: nothing added
        assert (again.added, again.skipped) == (0, exported.records)
        assert b.stats()["counts"]["log"] == exported.records


def test_export_one_user_and_import_into_another_tenant(tmp_path: Path, embedder: Embedder) -> None:
    with open_at(tmp_path / "a.db", embedder) as a:
        a.add([{"role": "user", "content": "I keep bees on the roof."}], user_id="u1", session_id="s")
        a.add([{"role": "user", "content": "My cat is called Miso."}], user_id="u2", session_id="s")
        buffer = io.StringIO()
        a.export(buffer, user_id="u1")
    with open_at(tmp_path / "b.db", embedder) as b:
        other = b.for_tenant("acme")
        other.import_(io.StringIO(buffer.getvalue()))
        assert [h.text for h in other.search("bees", user_id="u1", limit=1)] == ["I keep bees on the roof."]
        assert other.search("cat Miso", user_id="u2", limit=5) == []
        assert b.search("bees", user_id="u1", limit=5) == []  # the default tenant sees nothing


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["{not json"], "line 1: not JSON"),
        (['{"format":"other","version":1}'], "line 1: not an outcrop export"),
        (['{"format":"outcrop","version":9}'], "line 1: unsupported export version"),
        (['{"format":"outcrop","version":1}', '{"type":"log","kind":"message"}'], "line 2:"),
        (['{"format":"outcrop","version":1}', "", '{"type":"what"}'], "line 3: unknown line type"),
    ],
)
def test_malformed_import_names_the_line_and_writes_nothing(
    tmp_path: Path, embedder: Embedder, lines: list[str], message: str
) -> None:
    with open_at(tmp_path / "a.db", embedder) as a:
        load_sample(a)
        good = io.StringIO()
        a.export(good)
    body = good.getvalue().splitlines()
    with open_at(tmp_path / "b.db", embedder) as b:
        with pytest.raises(InvalidInputError, match=message):
            b.import_(io.StringIO("\n".join(lines) + "\n"))
        # a good file with one bad record at the end: nothing of it is written
        broken = [*body, body[-1].replace('"recorded_at":"', '"recorded_at":"not a time')]
        with pytest.raises(InvalidInputError, match=f"line {len(broken)}:"):
            b.import_(io.StringIO("\n".join(broken) + "\n"))
        assert b.stats()["counts"]["log"] == 0
        assert b.stats()["counts"]["turn"] == 0


def test_export_from_sqlite_imports_into_postgres(tmp_path: Path, embedder: Embedder, postgres_url: str) -> None:
    url = postgres_url
    first, second = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    with open_at(tmp_path / "a.db", embedder) as a:
        load_sample(a)
        a.export(first)
    with Memory(config=MemoryConfig(store=url, strata=STRATA), embedder=embedder) as pg:
        pg.import_(first)
        pg.export(second)
        assert second.read_bytes() == first.read_bytes()
        assert pg.search("What instrument is Maya learning?", user_id="demo", limit=5)


def test_a_deleted_fact_stays_deleted_through_export_and_import(tmp_path: Path, embedder: Embedder) -> None:
    """The delete record of a derived fact (its tombstone) imports as a tombstone, not as an error."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as a:
        a.add(
            [{"role": "user", "name": "Ann", "content": "I live in Boston and I love jazz."}],
            user_id="u1",
            session_id="s1",
            timestamp="2023-05-01T10:00:00",
        )
        facts = a.list(user_id="u1", level="fact")
        assert facts
        a.delete(facts[0].id, user_id="u1")
        a.export(tmp_path / "u1.jsonl", user_id="u1")
        left = sorted(f.id for f in a.list(user_id="u1", level="fact"))
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as b:
        b.import_(tmp_path / "u1.jsonl")
        assert sorted(f.id for f in b.list(user_id="u1", level="fact")) == left
        assert facts[0].id not in left


def test_an_import_into_a_session_the_store_holds_appends_after_its_turns(tmp_path: Path, embedder: Embedder) -> None:
    """The imported turns take the positions after the session's own (positions are unique per
    session: numbering an import from 0 used to give two turns one position)."""
    from outcrop.core.types import Scope

    source = tmp_path / "other.jsonl"
    with open_at(tmp_path / "b.db", embedder) as b:
        b.add([{"content": f"imported note {n}"} for n in range(4)], user_id="u1", session_id="s1")
        b.export(source)
    with open_at(tmp_path / "a.db", embedder) as a:
        own = a.add([{"content": f"own note {n}"} for n in range(3)], user_id="u1", session_id="s1")
        a.import_(source)
        turns = a.list(user_id="u1", session_id="s1", level="turn", limit=100)
        positions = a.store.records.positions(Scope(tenant=a.config.tenant, user_id="u1"), [t.id for t in turns])
        assert sorted(positions.values()) == list(range(7))
        assert [positions[i] for i in own] == [0, 1, 2]


def test_an_update_imported_apart_from_its_turn_applies_to_the_turn_held(tmp_path: Path, embedder: Embedder) -> None:
    """A file whose update names a turn the store already holds (imported earlier, on its own):
    the update is logged once, by the write that applies it (it used to be written twice and end
    in a raw UNIQUE-constraint error, a 500 over REST)."""
    turn, exported = lisbon_then_porto(tmp_path, embedder)
    header, add, update = exported.splitlines()
    assert json.loads(update)["kind"] == "update"
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as target:
        target.import_(io.StringIO(f"{header}\n{add}\n"))
        report = target.import_(io.StringIO(f"{header}\n{update}\n"))
        assert report.added == 1
        assert target.get(turn, user_id="u1").text == "I moved to Porto in March."
        facts = " ".join(f.text for f in target.list(user_id="u1", level="fact"))
        assert "Porto" in facts and "Lisbon" not in facts  # a consolidation alone kept the old fact
        assert [v.event for v in target.history(turn, user_id="u1")] == ["add", "update"]
        again = target.import_(io.StringIO(exported))  # all of it again: nothing new
        assert again.added == 0


def test_an_update_of_a_turn_the_store_lacks_refuses_the_whole_import(tmp_path: Path, embedder: Embedder) -> None:
    """The file's new turn and its update of a turn the target does not hold: the import is
    refused before anything is written (it used to write the new turn, then raise)."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as source:
        [turn] = source.add("I live in Lisbon.", user_id="u1", session_id="s1", timestamp="2024-01-02T10:00:00")
        source.update(turn, "I live in Porto now.", user_id="u1")
        source.add("I adopted a cat.", user_id="u1", session_id="s2", timestamp="2024-01-03T10:00:00")
        out = io.StringIO()
        source.export(out)
    header, _add, update, other = out.getvalue().splitlines()
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as target:
        with pytest.raises(NotFoundError, match="no turn"):
            target.import_(io.StringIO(f"{header}\n{other}\n{update}\n"))
        assert target.stats()["counts"] == {} or sum(target.stats()["counts"].values()) == 0
        assert target.list(user_id="u1") == []


def test_an_update_after_the_files_own_delete_of_a_held_turn_refuses_the_whole_import(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A file that deletes a turn the store holds, then updates it: the update has nothing to apply
    to, and the check, which follows the file's order, refuses it before anything is written (the
    delete and the file's new turn used to be written, then the update raised)."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as source:
        [turn] = source.add("I live in Lisbon.", user_id="u1", session_id="s1", timestamp="2024-01-02T10:00:00")
        source.update(turn, "I live in Porto now.", user_id="u1")
        source.delete(turn, user_id="u1")
        source.add("I adopted a cat.", user_id="u1", session_id="s2", timestamp="2024-01-03T10:00:00")
        out = io.StringIO()
        source.export(out)
    header, add, update, delete, other = out.getvalue().splitlines()
    assert [json.loads(line)["kind"] for line in (update, delete)] == ["update", "delete"]
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as target:
        target.import_(io.StringIO(f"{header}\n{add}\n"))
        before = target.stats()["counts"]
        with pytest.raises(NotFoundError, match="no turn"):
            target.import_(io.StringIO(f"{header}\n{other}\n{delete}\n{update}\n"))
        assert target.stats()["counts"] == before
        assert target.get(turn, user_id="u1").text == "I live in Lisbon."


def test_an_import_writes_its_turns_and_its_edits_of_held_turns_at_once(tmp_path: Path, embedder: Embedder) -> None:
    """A file with a new turn, an update of a held turn and a delete of another: all of it lands
    (the edits in the same transaction as the new turn), the history holds each edit once, and the
    held session's lexical documents read the new text (a search finds the update's words)."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as source:
        kept, gone = home_and_locker(source, "I live in Lisbon.")
        source.update(kept, "I live in Porto now, near the Douro.", user_id="u1")
        source.delete(gone, user_id="u1")
        source.add("I adopted a cat.", user_id="u1", session_id="s2", timestamp="2024-01-03T10:00:00")
        out = io.StringIO()
        source.export(out)
    header, add_kept, add_gone, update, delete, other = out.getvalue().splitlines()
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as target:
        target.import_(io.StringIO(f"{header}\n{add_kept}\n{add_gone}\n"))
        report = target.import_(io.StringIO(f"{header}\n{other}\n{update}\n{delete}\n"))
        assert report.added == 3 and report.turns == 1
        assert target.get(kept, user_id="u1").text == "I live in Porto now, near the Douro."
        assert [v.event for v in target.history(kept, user_id="u1")] == ["add", "update"]
        assert [v.event for v in target.history(gone, user_id="u1")] == ["add", "delete"]
        with pytest.raises(NotFoundError):
            target.get(gone, user_id="u1")
        assert kept in [h.id for h in target.search("Douro", user_id="u1", limit=5)]
        assert target.store.records.strata_due(target.config.tenant) == []
        facts = target.list(user_id="u1", level="fact")
        assert all(gone not in f.sources for f in facts)  # the deleted turn's facts went with it
        assert "quince" not in " ".join(
            f.text for level in ("fact", "episode") for f in target.list(user_id="u1", level=level)
        )


def test_an_import_stopped_before_its_strata_leaves_them_due_for_the_next_open(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's turns are written marked as awaiting their strata; a process stopped before
    the consolidation after the write (here: interrupted in it) leaves them due, and the next open
    computes them (they used to stay without facts, episodes or topics until a rebuild)."""
    import outcrop.lifecycle.export as export_module

    with open_at(tmp_path / "a.db", embedder) as source:
        load_sample(source)
        out = io.StringIO()
        source.export(out)
        facts = len(source.list(user_id="demo", level="fact", limit=1000))
    assert facts > 0

    with open_at(tmp_path / "b.db", embedder) as target:
        with monkeypatch.context() as patch:
            patch.setattr(export_module, "consolidate_owners", stopped)
            with pytest.raises(KeyboardInterrupt):
                target.import_(io.StringIO(out.getvalue()))
        assert target.list(user_id="demo", level="fact") == []
        assert target.store.records.strata_due(target.config.tenant)
    with open_at(tmp_path / "b.db", embedder) as reopened:
        assert reopened.store.records.strata_due(reopened.config.tenant) == []
        assert len(reopened.list(user_id="demo", level="fact", limit=1000)) == facts


def test_an_import_stopped_after_editing_a_held_turn_leaves_its_owners_strata_due(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that only updates a turn the store holds adds no turn, so nothing else marks the
    owner's strata as stale: a stop before the consolidation after it left the facts and the
    episode saying what the turn no longer says."""
    import outcrop.lifecycle.export as export_module

    turn, exported = lisbon_then_porto(tmp_path, embedder)
    header, add, update = exported.splitlines()

    def derived_texts(m: Memory) -> str:
        return " ".join(i.text for level in ("fact", "episode") for i in m.list(user_id="u1", level=level, limit=100))

    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as target:
        target.import_(io.StringIO(f"{header}\n{add}\n"))
        assert "Lisbon" in derived_texts(target)
        with monkeypatch.context() as patch:
            patch.setattr(export_module, "consolidate_owners", stopped)
            with pytest.raises(KeyboardInterrupt):
                target.import_(io.StringIO(f"{header}\n{update}\n"))
        assert target.get(turn, user_id="u1").text == "I moved to Porto in March."
        assert "Lisbon" in derived_texts(target)  # stale until the strata are computed again
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'b.db'}"), embedder=embedder) as reopened:
        assert reopened.store.records.strata_due(reopened.config.tenant) == []
        texts = derived_texts(reopened)
        assert "Porto" in texts and "Lisbon" not in texts


_KILLED_REBUILD = """
import os, signal, sys
import outcrop.lifecycle.rebuild as rebuild
from outcrop import Memory, MemoryConfig
from outcrop.providers import load_embedder

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

setattr(rebuild, sys.argv[2], die)
config = MemoryConfig(store=f"sqlite:///{sys.argv[1]}", strata={"refresh_growth": 0.0})
with Memory(config=config, embedder=load_embedder("minilm")) as m:
    m.rebuild()
"""


@pytest.mark.parametrize("stop", ["embed_items", "consolidate_owners"])
def test_a_rebuild_killed_anywhere_leaves_the_memory_as_it_was_or_its_turns_whole(
    tmp_path: Path, embedder: Embedder, stop: str
) -> None:
    """A rebuild used to drop the stored items in a transaction of their own, then embed the turns
    (half its time), then write them: killed in between, the memory was empty, and the next
    rebuild, no longer finding the turns' ids, gave every turn a new one. Killed while embedding
    (before its write) or while consolidating (after it), the reopened memory now equals the one
    before the rebuild, ids and all."""
    with open_at(tmp_path / "m.db", embedder) as m:
        load_sample(m)
        before = dump(m)
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_REBUILD, str(tmp_path / "m.db"), stop],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == -9, child.stderr
    with open_at(tmp_path / "m.db", embedder) as reopened:  # the open computes the strata due
        assert reopened.store.records.strata_due(reopened.config.tenant) == []
        assert dump(reopened) == before


def test_an_import_racing_another_tenants_for_its_ids_is_computed_again(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tenants importing one export at once (a bulk import on Ray): the ids another tenant holds
    are checked before the write, so the loser's write was refused (UNIQUE log.id, a WriteConflict
    reaching the caller) where the same imports one after the other succeed. The import is now
    computed again from the store, as an add is."""
    import outcrop.lifecycle.export as export_module

    _turn, exported = lisbon_then_porto(tmp_path, embedder)
    url = f"sqlite:///{tmp_path / 'b.db'}"
    with Memory(config=MemoryConfig(store=url, tenant="staging"), embedder=embedder) as staging:
        staging.import_(io.StringIO(exported))
    checks: list[int] = []
    real = export_module._own_ids

    def late(store, tenant, records, ids):  # type: ignore[no-untyped-def]
        checks.append(1)  # the first check runs before the other tenant's write lands
        return (records, ids) if len(checks) == 1 else real(store, tenant, records, ids)

    with monkeypatch.context() as patch:
        patch.setattr(export_module, "_own_ids", late)
        with Memory(config=MemoryConfig(store=url, tenant="test"), embedder=embedder) as test:
            report = test.import_(io.StringIO(exported))
            assert report.added == 2 and len(checks) == 2
            [turn] = test.list(user_id="u1", level="turn")
            assert turn.text == "I moved to Porto in March."


def test_an_import_stopped_before_refreshing_an_edited_session_refreshes_it_on_the_next_open(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn's lexical document reads its neighbours' words: after an import updated a held turn,
    its neighbour's document kept the old words until that session was next edited, when the
    process stopped before the refresh that follows the import's write."""
    import outcrop.lifecycle.export as export_module
    from outcrop.core.types import Scope
    from outcrop.lifecycle.lexical import session_documents

    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'a.db'}"), embedder=embedder) as source:
        moved, _ = home_and_locker(source, "I moved to Lisbon in March.")
        source.update(moved, "I moved to Porto in March, near the Douro.", user_id="u1")
        out = io.StringIO()
        source.export(out)
    header, *adds, update = out.getvalue().splitlines()
    session = Scope(user_id="u1", session_id="s1")

    def current(m: Memory) -> bool:
        turns = [t for _, t in m.store.records.session_turns(session, "s1", 0, 10)]
        wanted = session_documents(turns, m.config.retrieval.neighbour_window)
        return m.store.lexical.documents(session, list(wanted)) == wanted

    url = f"sqlite:///{tmp_path / 'b.db'}"
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as target:
        target.import_(io.StringIO("\n".join([header, *adds]) + "\n"))
        with monkeypatch.context() as patch:
            patch.setattr(export_module, "_refresh_edited_sessions", stopped)
            with pytest.raises(KeyboardInterrupt):
                target.import_(io.StringIO(f"{header}\n{update}\n"))
        assert not current(target)  # the neighbour's document still reads "Lisbon"
    with Memory(config=MemoryConfig(store=url), embedder=embedder) as reopened:
        assert current(reopened)
        assert reopened.store.records.strata_due(reopened.config.tenant) == []
        facts = " ".join(f.text for f in reopened.list(user_id="u1", level="fact"))
        assert "Porto" in facts and "Lisbon" not in facts


def test_an_export_line_naming_a_key_twice_is_refused() -> None:
    header = '{"format": "outcrop", "version": 1}'
    with pytest.raises(InvalidInputError, match="line 2: the key 'user_id' appears twice"):
        parse_jsonl([header, '{"kind": "turn", "user_id": "a", "user_id": "b"}'], "acme")
