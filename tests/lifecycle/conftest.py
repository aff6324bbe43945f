"""A small multi-session memory on a real SQLite file, and a scanner for what the file holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from outcrop.stores.sqlite.driver import sqlite3
from tests.helpers import Sessions, ingest_sessions, run_cli

SESSIONS: Sessions = [
    (
        "s1",
        "2023-05-08T13:56:00",
        [
            ("Caroline", "I went to the LGBTQ support group yesterday. It was so powerful."),
            ("Melanie", "I love pottery and painting. I made a blue bowl in my pottery class last Saturday."),
            ("Caroline", "I live in Boston. I'm planning to study counseling next year."),
            ("Melanie", "My kids loved the clay too, we glazed the pottery bowls together."),
        ],
    ),
    (
        "s2",
        "2023-06-20T10:00:00",
        [
            ("Caroline", "I adopted a parrot named Zorblax from the Quokkaville shelter."),
            ("Bartholomew", "I baked a marzipanoid cake for the pottery party at Quokkaville."),
            ("Melanie", "Zorblax sounds wonderful, I love pottery and parrots."),
        ],
    ),
    (
        "s3",
        "2023-08-02T18:30:00",
        [
            ("Melanie", "The pottery studio asked me to teach a pottery glazing workshop."),
            ("Caroline", "I really enjoy hiking and reading."),
            ("Melanie", "We roasted marshmallows on our camping trip in the mountains last weekend."),
        ],
    ),
]

SECRETS = ["zorblax", "quokkaville", "marzipanoid", "bartholomew"]
STRATA = {"topic_similarity": 0.4, "refresh_growth": 0.0}


def ingest(memory: Memory, user: str = "u1", sessions: Sessions = SESSIONS) -> dict[str, list[str]]:
    return ingest_sessions(memory, sessions, user)


def open_memory(path: Path, embedder: Embedder, **config: object) -> Memory:
    return Memory(config=MemoryConfig(store=f"sqlite:///{path}", strata=STRATA, **config), embedder=embedder)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "m.db"


@pytest.fixture
def filled(db_path: Path, embedder: Embedder) -> Iterator[Memory]:
    with open_memory(db_path, embedder) as m:
        ingest(m)
        ingest(m, user="u2", sessions=SESSIONS[:1])
        yield m


def table_hits(path: Path, needles: list[str]) -> dict[str, list[str]]:
    """Every table of the file (FTS5 shadow tables included) whose rows contain a needle."""
    found: dict[str, list[str]] = {}
    db = sqlite3.connect(path)
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            try:
                rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
            except sqlite3.OperationalError:
                continue
            blob = "\n".join(
                (v.decode("latin-1") if isinstance(v, bytes) else str(v)) for row in rows for v in row
            ).lower()
            hits = [n for n in needles if n in blob]
            if hits:
                found[table] = hits
        indexes = [name for row in db.execute("SELECT own, ctx FROM lexical_tables") for name in row]
        for n, index in enumerate(indexes):  # each tenant's FTS5 vocabulary: what its index still holds
            db.execute(f"CREATE VIRTUAL TABLE temp.vocab{n} USING fts5vocab(main, {index}, 'row')")
            terms = {r[0] for r in db.execute(f"SELECT term FROM temp.vocab{n}")}
            hits = [needle for needle in needles if any(needle in term for term in terms)]
            if hits:
                found[f"fts5vocab:{index}"] = hits
    finally:
        db.close()
    return found


def file_hits(path: Path, needles: list[str]) -> dict[str, list[str]]:
    """Raw bytes of the database file and its journals, case-insensitive."""
    found: dict[str, list[str]] = {}
    for suffix in ("", "-wal", "-journal"):
        f = Path(f"{path}{suffix}")
        if f.exists():
            data = f.read_bytes().lower()
            hits = [n for n in needles if n.encode() in data]
            if hits:
                found[f.name] = hits
    return found


def add(db: Path, text: str, session: str, speaker: str = "Ana") -> str:
    return run_cli(
        "add", text, "--speaker", speaker, "-u", "ana", "-s", session, "-t", "2024-03-01", db=db
    ).stdout.strip()
