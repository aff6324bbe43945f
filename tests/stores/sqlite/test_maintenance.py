"""Erasure in place on SQLite: a forget zeroes what it erases (``secure_delete``, FTS5
``secure-delete``) and truncates the write-ahead log, instead of rewriting the whole file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from outcrop.providers import Embedder
from outcrop.stores.sqlite import lexical as lexical_module
from outcrop.stores.sqlite import schema
from outcrop.stores.sqlite.driver import FTS5_SECURE_DELETE, sqlite3
from outcrop.stores.sqlite.packs import FOLD_ROWS
from tests.lifecycle.conftest import SECRETS, file_hits, ingest, open_memory, table_hits

pytestmark = pytest.mark.skipif(not FTS5_SECURE_DELETE, reason="needs SQLite 3.44+ (sqlean.py)")

BULK = [f"Note {n}: the weekly market sold {n} crates of apples and pears." for n in range(300)]


def _pages(path: Path) -> dict[int, str]:
    """Each page of the database as the file holds it (checkpointed first), by number."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {n: hashlib.sha1(data).hexdigest() for n, data in db.execute("SELECT pgno, data FROM sqlite_dbpage")}
    finally:
        db.close()


@pytest.mark.parametrize("fold", [FOLD_ROWS, 1])  # the postings in the tail of rows, or packed at every write
def test_a_forget_rewrites_the_pages_it_erases_not_the_file(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, fold: int
) -> None:
    monkeypatch.setattr(lexical_module, "FOLD_ROWS", fold)
    db_path = tmp_path / "m.db"
    with open_memory(db_path, embedder) as m:
        ingest(m)
        for start in range(0, len(BULK), 100):  # another user's memory, most of the file
            m.add(BULK[start : start + 100], user_id="u3", session_id=f"b{start}", timestamp="2024-01-01T09:00:00")
        before = _pages(db_path)
        receipt = m.forget(user_id="u1", session_id="s2")
        assert receipt.ok and receipt.scrub["method"] == "in place" and receipt.scrub["bytes_gone"] is True
        assert not m.store.maintenance.scrub_due(m.config.tenant)
    after = _pages(db_path)
    changed = sum(1 for n, digest in after.items() if before.get(n) != digest)
    assert len(before) > 200
    print(f"pages changed by the forget: {changed} of {len(before)}")
    assert changed < 0.25 * len(before), (changed, len(before))  # a VACUUM rewrites and renumbers nearly all
    secrets = [s for s in SECRETS if s != "bartholomew"]  # s2's words; Bartholomew spoke only there too
    assert table_hits(db_path, secrets) == {}
    assert file_hits(db_path, secrets) == {}


def test_a_scrub_left_undone_is_done_at_the_next_open(tmp_path: Path, embedder: Embedder) -> None:
    db_path = tmp_path / "m.db"
    with open_memory(db_path, embedder) as m:
        ingest(m)
        receipt = m.forget(user_id="u1", session_id="s2", scrub=False)  # as if killed before the scrub
        assert receipt.ok and receipt.scrub == {}
        assert m.store.maintenance.scrub_due(m.config.tenant)
        assert table_hits(db_path, ["zorblax"]) == {}  # the committed pages hold zeros already
        assert "m.db-wal" in file_hits(db_path, ["zorblax"])  # the log's older frames do not
    with open_memory(db_path, embedder) as m:
        assert not m.store.maintenance.scrub_due(m.config.tenant)
    assert file_hits(db_path, ["zorblax", "quokkaville"]) == {}


def test_a_store_written_before_merges_its_masked_postings_once(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "m.db"
    with monkeypatch.context() as patch:
        patch.setattr(schema, "FTS5_SECURE_DELETE", False)  # an older SQLite: its tables, no migration
        with open_memory(db_path, embedder) as m:
            ingest(m)
            turn = next(t for t in m.list(user_id="u1", level="turn") if "marzipanoid" in t.text)
            m.delete(turn.id)  # a delete masks the postings; the segment keeps the term
    assert any(t.startswith("fts_") and t.endswith("_data") for t in table_hits(db_path, ["marzipanoid"]))
    with open_memory(db_path, embedder):  # the migration runs at open
        pass
    db = sqlite3.connect(db_path)
    applied = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
    db.close()
    assert schema.SECURE_DELETE_MIGRATION in applied
    assert not any(t.startswith("fts_") for t in table_hits(db_path, ["marzipanoid"]))
