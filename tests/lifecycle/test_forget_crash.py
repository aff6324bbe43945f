"""A forget cut short by ``kill -9`` after its erase: the next open completes it, nothing it
forgot lingers in any level, and the retry reports what was done instead of failing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from outcrop.core.types import Scope
from outcrop.providers import Embedder
from tests.lifecycle.conftest import ingest, open_memory, table_hits

pytestmark = pytest.mark.integration  # a child process killed mid-forget

_REPO = Path(__file__).resolve().parents[2]

_KILLED_FORGET = """
import os, signal, sys
from pathlib import Path
from outcrop.strata.consolidate import Consolidator
from tests.lifecycle.conftest import open_memory
from outcrop.providers import load_embedder

def die(*args, **kwargs):  # the erase has committed; the process dies before recomputing anything
    os.kill(os.getpid(), signal.SIGKILL)

Consolidator.after_change = die
with open_memory(Path(sys.argv[1]), load_embedder("minilm")) as m:
    m.forget(%s, user_id="u1", scrub=False)
"""


def _forget_and_die(db: Path, how: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_FORGET % how, str(db)], cwd=_REPO, capture_output=True, text=True, timeout=300
    )
    assert child.returncode == -9, child.stderr


def _lexical_leaks(db: Path, embedder: Embedder) -> list[str]:
    """Items of any level whose own text or neighbour context still says a secret."""
    with open_memory(db, embedder) as m:  # opening completes what the killed forget left
        scope = Scope(tenant=m.config.tenant, user_id="u1")
        return [i for i, _ in m.store.lexical.search(scope, {"marzipanoid": 1.0}, 50, None, 1.0)]


def test_a_forget_killed_after_its_erase_is_completed_by_the_next_open(db_path: Path, embedder: Embedder) -> None:
    with open_memory(db_path, embedder) as m:
        ids = ingest(m)
        assert m.search("Zorblax the parrot", user_id="u1", channels={"bm25": 1.0})
    cake = ids["s2"][1]  # "I baked a marzipanoid cake for the pottery party at Quokkaville."
    _forget_and_die(db_path, f"[{cake!r}]")
    with sqlite_rows(db_path) as pending:  # the crash left work behind, recorded with the erase
        assert pending == 1
    assert _still_saying(db_path, "marzipanoid")  # debris: neighbours' documents and strata quote it
    assert _lexical_leaks(db_path, embedder) == []
    assert _still_saying(db_path, "marzipanoid") == []
    assert table_hits(db_path, ["marzipanoid"]) == {}  # no table holds it (the plan went with its work)
    with open_memory(db_path, embedder) as m:
        assert m.store.maintenance.pending_plans(m.config.tenant) == []
        again = m.forget([cake], user_id="u1")  # the retry: nothing left to do, and it says so
        assert again.ok and again.already_forgotten == [cake] and again.removed == {}
        assert all("marzipanoid" not in h.text.lower() for h in m.search("marzipanoid cake", user_id="u1", limit=50))


def test_a_retry_completes_a_killed_forget_by_id_before_anything_else(db_path: Path, embedder: Embedder) -> None:
    with open_memory(db_path, embedder) as m:
        ids = ingest(m)
    turn = ids["s2"][0]  # "I adopted a parrot named Zorblax from the Quokkaville shelter."
    _forget_and_die(db_path, f"[{turn!r}]")
    with open_memory(db_path, embedder) as m:
        receipt = m.forget([turn, ids["s1"][0]], user_id="u1")
        assert receipt.ok and receipt.already_forgotten == [turn]
        assert receipt.removed["turn"] == [ids["s1"][0]]
        assert m.store.maintenance.forgotten_ids(Scope(tenant=m.config.tenant), [turn, ids["s1"][0]]) == {
            turn,
            ids["s1"][0],
        }


def _still_saying(db: Path, word: str) -> list[str]:
    """Items whose text or neighbour document says ``word``, read from the file without opening
    a Memory (which would complete the forget)."""
    from outcrop.stores.sqlite.driver import sqlite3

    with sqlite3.connect(db) as conn:
        (ctx,) = conn.execute("SELECT ctx FROM lexical_tables").fetchone()  # the one tenant's context index
        rows = conn.execute(
            f"SELECT id FROM items WHERE lower(text) LIKE ? UNION SELECT i.id FROM {ctx} c"
            f" JOIN items i ON i.rowid = c.rowid WHERE {ctx} MATCH ?",
            [f"%{word}%", word],
        )
        return sorted(r[0] for r in rows)


class sqlite_rows:
    """The number of pending forget plans in the file, read without opening a Memory (which would
    complete them)."""

    def __init__(self, path: Path) -> None:
        from outcrop.stores.sqlite.driver import sqlite3

        self._db = sqlite3.connect(path)

    def __enter__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM forget_plans").fetchone()[0])

    def __exit__(self, *exc: object) -> None:
        self._db.close()
