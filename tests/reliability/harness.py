"""The four faces, set up once and fed corpus cases: a ``Memory`` on a SQLite file, the
``outcrop`` command on another, a real ``outcrop serve`` on loopback, and an MCP session over
stdio through the official client. Each face's store holds the same seed conversation first.

``tests/reliability/test_bad_input.py`` runs each case as a test; ``bench/reliability.py`` runs
them all and counts (:func:`run_all`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx

from mcp import Client
from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from outcrop.server.launch import ServerProcess
from tests.helpers import run_cli
from tests.mcp.conftest import stdio_params
from tests.reliability.corpus import CASES, RAW_REQUESTS, Case
from tests.reliability.faces import (
    Outcome,
    Request,
    cli_argv,
    footprint,
    judge,
    mcp_call,
    resolve,
    rest_request,
    run_cli_case,
    run_python,
    run_rest,
)

__all__ = [
    "PROBE",
    "USER",
    "Face",
    "cli_face",
    "expressible",
    "mcp_face",
    "python_face",
    "raw_cases",
    "rest_face",
    "run_all",
]

USER = "u1"
SEED = [
    {"role": "user", "name": "Ann", "content": "I moved to Lisbon in May."},
    {"role": "user", "name": "Bob", "content": "I love hiking in the mountains with my dog Rex."},
]
PROBE = {"@turn": "t_x", "@tmp": "/tmp"}  # placeholders, to tell which cases a face can express


@dataclass
class Face:
    """One face ready for cases: ``run(case)`` returns its outcome, or ``None`` when the face
    cannot express the case; ``db`` is the store file whose rows must not move on a refusal."""

    name: str
    db: Path
    run: Callable[[Case], Outcome | None]
    seeds: dict[str, str] = field(default_factory=dict)

    def check(self, case: Case) -> str | None:
        """What went wrong with ``case`` here (``None``: nothing, or not expressible)."""
        before = footprint(self.db)
        outcome = self.run(case)
        if outcome is None:
            return None
        return judge(self.name, case, outcome, before, footprint(self.db))


def _seed(db: Path, embedder: Embedder | None) -> str:
    with Memory(config=MemoryConfig(store=f"sqlite:///{db}"), embedder=embedder) as memory:
        return memory.add(SEED, user_id=USER, session_id="s1", timestamp="2023-05-08T10:00:00")[0]


@contextmanager
def python_face(folder: Path, embedder: Embedder | None = None) -> Iterator[Face]:
    db = folder / "python.db"
    with Memory(config=MemoryConfig(store=f"sqlite:///{db}"), embedder=embedder) as memory:
        seeds = {"@turn": memory.add(SEED, user_id=USER, session_id="s1", timestamp="2023-05-08T10:00:00")[0]}
        seeds["@tmp"] = str(folder)
        yield Face("python", db, lambda case: run_python(memory, case, seeds, folder), seeds)


@contextmanager
def cli_face(folder: Path, embedder: Embedder | None = None) -> Iterator[Face]:
    db = folder / "cli.db"
    seeds = {"@turn": _seed(db, embedder), "@tmp": str(folder)}

    def run(case: Case) -> Outcome | None:
        argv = cli_argv(case, resolve(dict(case.args), seeds), folder)
        return None if argv is None else run_cli_case(run_cli(*argv, db=db, check=False, timeout=300))

    yield Face("cli", db, run, seeds)


@contextmanager
def rest_face(folder: Path) -> Iterator[Face]:
    """A real server on loopback, a tenant and its key; raises if the server logged a traceback."""
    db = folder / "rest.db"
    admin_key = "rel-admin-" + secrets.token_hex(8)
    log = folder / "server.log"
    server = ServerProcess(
        f"sqlite:///{db}",
        admin_key=admin_key,
        args=("--keys", str(folder / "keys.db"), "--log-level", "warning"),
        log_path=log,
        startup_timeout=300.0,
    )
    with server, httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin_key}"}) as admin:
        admin.post("/v1/admin/tenants", json={"name": "rel"}).raise_for_status()
        key = admin.post("/v1/admin/tenants/rel/keys", json={"name": "corpus"}).json()["key"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            body = {"messages": SEED, "user_id": USER, "session_id": "s1", "timestamp": "2023-05-08T10:00:00"}
            added = client.post("/v1/memories", json=body)
            added.raise_for_status()
            seeds = {"@turn": added.json()["ids"][0], "@tmp": str(folder)}

            def run(case: Case) -> Outcome | None:
                if case.op == "raw":
                    return run_rest(client, Request("POST", case.args["path"], body=case.args["body"]))
                request = rest_request(case, resolve(dict(case.args), seeds))
                return None if request is None else run_rest(client, request)

            yield Face("rest", db, run, seeds)
    text = log.read_text(errors="replace")
    if "Traceback" in text:
        raise AssertionError(f"the server logged a traceback: {text[text.index('Traceback') :][:2000]}")


def mcp_outcome(portal: Any, session: Any, tool: str, arguments: dict[str, Any]) -> Outcome:
    try:
        result = portal.call(session.call_tool, tool, arguments)
    except Exception as exc:
        return Outcome("crash", f"{type(exc).__name__}: {exc}"[:300])
    text = " ".join(getattr(c, "text", "") for c in result.content)
    if result.is_error:
        return Outcome("refused", text[:300]) if text and "Traceback" not in text else Outcome("crash", text[:300])
    return Outcome("accepted")


@contextmanager
def mcp_face(folder: Path, embedder: Embedder | None = None) -> Iterator[tuple[Face, Callable[..., Outcome]]]:
    """One MCP session over stdio, driven from synchronous code through a blocking portal; also
    a ``call(tool, arguments)`` for calls outside the corpus."""
    db = folder / "mcp.db"
    seeds = {"@turn": _seed(db, embedder), "@tmp": str(folder)}
    client = Client(stdio_params(f"sqlite:///{db}", USER), read_timeout_seconds=120)
    with anyio.from_thread.start_blocking_portal() as portal, portal.wrap_async_context_manager(client) as session:

        def call(tool: str, arguments: dict[str, Any]) -> Outcome:
            return mcp_outcome(portal, session, tool, arguments)

        def run(case: Case) -> Outcome | None:
            found = mcp_call(case, resolve(dict(case.args), seeds), USER)
            return None if found is None else call(*found)

        yield Face("mcp", db, run, seeds), call


def raw_cases() -> list[Case]:
    """The request bodies only a REST client can send, as cases of the REST face."""
    return [Case(f"raw-{name}", "raw", {"path": p, "body": b}, e) for name, (p, b, e) in RAW_REQUESTS.items()]


def expressible(face: str) -> list[Case]:
    """The corpus cases ``face`` can express."""
    if face == "python":
        return list(CASES)
    if face == "cli":
        return [c for c in CASES if cli_argv(c, resolve(dict(c.args), PROBE), None)]
    if face == "rest":
        return [c for c in CASES if rest_request(c, resolve(dict(c.args), PROBE))] + raw_cases()
    return [c for c in CASES if mcp_call(c, resolve(dict(c.args), PROBE), USER)]


def run_all(face: Face, cases: list[Case]) -> list[tuple[Case, str]]:
    """Every case through ``face``; the cases that went wrong, with what."""
    return [(case, problem) for case in cases if (problem := face.check(case)) is not None]
