"""The engine catches up the strata of an add a killed process cut short: its turns were stored
with a record that they await their strata, and the next open computes them (they used to stay
without facts, and their session's episode stale, until someone ran ``consolidate``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from outcrop import Level, Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder
from outcrop.stores.registry import open_store

pytestmark = pytest.mark.integration  # a child process killed mid-add, on both stores

_REPO = Path(__file__).resolve().parents[2]

_KILLED_ADD = """
import os, signal, sys
from outcrop import Memory, MemoryConfig
from outcrop.providers import load_embedder
from outcrop.strata.consolidate import Consolidator

def die(*args, **kwargs):  # the turns are written; the process dies before their strata
    os.kill(os.getpid(), signal.SIGKILL)

Consolidator.after_add = die
m = Memory(config=MemoryConfig(store=sys.argv[1]), embedder=load_embedder("minilm"))
m.add([{"name": "Ana", "content": "I adopted a puppy named Biscuit last week."}],
      user_id="u1", session_id="s1", timestamp="2023-05-08T10:00:00")
"""

USER = Scope(tenant="default", user_id="u1")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _open(url: str, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig(store=url), embedder=embedder)


def _stored(url: str) -> tuple[dict[str, int], int]:
    """Counts per level and the awaiting records, read from the store without opening a Memory."""
    store = open_store(url)
    try:
        return store.records.count(USER), len(store.records.strata_due("default"))
    finally:
        store.close()


def test_an_add_killed_before_its_strata_is_caught_up_on_open(store_url: str, embedder: Embedder) -> None:
    with _open(store_url, embedder) as m:
        first = m.add([{"name": "Ana", "content": "I moved to Lisbon in March."}], user_id="u1", session_id="s1")
        assert _stored(store_url)[1] == 0  # a finished add leaves no record behind
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_ADD, store_url], cwd=_REPO, capture_output=True, text=True, timeout=300
    )
    assert child.returncode == -9, child.stderr
    counts, due = _stored(store_url)
    assert (counts["turn"], counts.get("fact", 0), due) == (2, 1, 1)  # the new turn has no fact yet

    with _open(store_url, embedder) as m:  # opening computes what the killed add left
        turns = m.list(user_id="u1", level="turn")
        facts = m.list(user_id="u1", level=Level.FACT)
        assert len(facts) == 2 and any("Biscuit" in f.text for f in facts)
        [episode] = m.list(user_id="u1", level="episode")
        assert set(episode.metadata["session_turns"]) == {t.id for t in turns}  # no longer stale
        assert first[0] in episode.metadata["session_turns"] and "Biscuit" in episode.text
    assert _stored(store_url)[1] == 0


def test_no_record_when_strata_are_not_computed_on_add(tmp_path: Path, embedder: Embedder) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = MemoryConfig.build({"store": url, "strata": {"on_add": False}})
    with Memory(config=config, embedder=embedder) as m:
        m.add("I adopted a puppy named Biscuit last week.", user_id="u1", session_id="s1")
    counts, due = _stored(url)
    assert (counts["turn"], counts["fact"], due) == (1, 0, 0)


def test_a_fault_in_the_strata_never_makes_the_store_unopenable(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A producer that some stored text trips (any exception, not only ours) leaves the turns
    stored, searchable and awaiting their strata: the open succeeds, and a later one catches up."""
    from outcrop.strata.consolidate import Consolidator

    url = f"sqlite:///{tmp_path / 'memory.db'}"
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_ADD, url], cwd=_REPO, capture_output=True, text=True, timeout=300
    )
    assert child.returncode == -9, child.stderr
    assert _stored(url)[1] == 1

    def fault(*args: object, **kwargs: object) -> None:
        raise ValueError("year 0 is out of range")  # what a year-1 timestamp once raised in the strata

    with monkeypatch.context() as patched:
        patched.setattr(Consolidator, "after_add", fault)
        with _open(url, embedder) as m:  # opens, though its catch-up fails
            assert m.search("Biscuit puppy", user_id="u1", limit=1)[0].text.startswith("I adopted")
            assert m.list(user_id="u1", level=Level.FACT) == []
    assert _stored(url)[1] == 1  # still awaiting
    with _open(url, embedder) as m:
        assert any("Biscuit" in f.text for f in m.list(user_id="u1", level=Level.FACT))
    assert _stored(url)[1] == 0


_KILLED_EDIT = """
import os, signal, sys
from outcrop import Memory, MemoryConfig
from outcrop.providers import load_embedder
from outcrop.strata.consolidate import Consolidator

def die(*args, **kwargs):  # the edit is written; the process dies before the strata follow it
    os.kill(os.getpid(), signal.SIGKILL)

Consolidator.after_change = die
m = Memory(config=MemoryConfig(store=sys.argv[1]), embedder=load_embedder("minilm"))
if sys.argv[2] == "update":
    m.update(sys.argv[3], "I moved to Porto in March.", user_id="u1")
else:
    m.delete(sys.argv[3], user_id="u1")
"""


@pytest.mark.parametrize("edit", ["update", "delete"])
def test_an_edit_of_a_turn_killed_before_its_strata_is_caught_up_on_open(
    store_url: str, embedder: Embedder, edit: str
) -> None:
    """An update or delete of a turn is written with a record that its owner's strata are stale,
    and with its neighbours' lexical documents: a process killed before the strata followed left
    facts and an episode saying what the turn no longer says (and the neighbours' documents the
    old words) until someone ran ``consolidate``."""
    from outcrop.lifecycle.lexical import session_documents

    with _open(store_url, embedder) as m:
        lisbon, _ = m.add(
            [
                {"name": "Ana", "content": "I moved to Lisbon in March."},
                {"name": "Ana", "content": "I adopted a puppy named Biscuit last week."},
            ],
            user_id="u1",
            session_id="s1",
        )
        assert any("Lisbon" in f.text for f in m.list(user_id="u1", level=Level.FACT))
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_EDIT, store_url, edit, lisbon],
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -9, child.stderr
    assert _stored(store_url)[1] == 1  # the edit is stored, its strata awaited
    store = open_store(store_url)
    try:
        session = Scope(tenant="default", user_id="u1", session_id="s1")
        turns = [t for _, t in store.records.session_turns(session, "s1", 0, 100)]
        assert [t.text for t in turns] == (["I moved to Porto in March."] if edit == "update" else []) + [
            "I adopted a puppy named Biscuit last week."
        ]
        wanted = session_documents(turns, MemoryConfig().retrieval.neighbour_window)
        assert store.lexical.documents(session, list(wanted)) == wanted  # written with the edit
    finally:
        store.close()

    with _open(store_url, embedder) as m:  # opening computes the owner's strata anew
        derived = " ".join(i.text for level in ("fact", "episode") for i in m.list(user_id="u1", level=level))
        assert "Lisbon" not in derived and "Biscuit" in derived
        assert ("Porto" in derived) == (edit == "update")
        assert all(lisbon not in f.sources or edit == "update" for f in m.list(user_id="u1", level=Level.FACT))
    assert _stored(store_url)[1] == 0
