"""The bad-input corpus (:mod:`tests.reliability.corpus`) through all four faces
(:mod:`tests.reliability.harness`): the Python API, the ``outcrop`` command, a real REST server on
loopback and the MCP server through the official client. Every bad input is refused with the
face's own error (an ``OutcropError``; one line and exit 2; a 4xx JSON error; a tool error), never
a traceback, a 5xx or a dropped connection, and writes nothing; every valid input at an edge is
accepted.

The CLI starts a process per case (about 1.5 s each on an idle machine): a fixed sixth of its
cases runs here, all of them with ``OUTCROP_RELIABILITY_FULL=1`` and in ``bench/reliability.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from outcrop.providers import Embedder
from tests.reliability.corpus import Case
from tests.reliability.faces import Outcome, footprint
from tests.reliability.harness import Face, cli_face, expressible, mcp_face, python_face, rest_face

pytestmark = pytest.mark.integration

FULL = bool(os.environ.get("OUTCROP_RELIABILITY_FULL"))
PYTHON, REST, MCP, CLI = (expressible(face) for face in ("python", "rest", "mcp", "cli"))
CLI_RUN = CLI if FULL else CLI[::6]


def _ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


def _passes(face: Face, case: Case) -> None:
    problem = face.check(case)
    assert problem is None, f"{face.name} {case.name}: {problem}"


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Face]:
    with python_face(tmp_path_factory.mktemp("python-face"), embedder) as face:
        yield face


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Face]:
    with cli_face(tmp_path_factory.mktemp("cli-face"), embedder) as face:
        yield face


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Face]:
    with rest_face(tmp_path_factory.mktemp("rest-face")) as face:
        yield face


@pytest.fixture(scope="module")
def mcp(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[tuple[Face, Callable[..., Outcome]]]:
    with mcp_face(tmp_path_factory.mktemp("mcp-face"), embedder) as face:
        yield face


def test_the_corpus_is_large_on_every_face() -> None:
    assert len(PYTHON) >= 500 and len(REST) >= 500 and len(CLI) >= 200 and len(MCP) >= 200
    assert len(CLI_RUN) >= len(CLI) // 6


@pytest.mark.parametrize("case", PYTHON, ids=_ids(PYTHON))
def test_python(case: Case, python: Face) -> None:
    _passes(python, case)


@pytest.mark.parametrize("case", CLI_RUN, ids=_ids(CLI_RUN))
def test_cli(case: Case, cli: Face) -> None:
    _passes(cli, case)


@pytest.mark.parametrize("case", REST, ids=_ids(REST))
def test_rest(case: Case, rest: Face) -> None:
    _passes(rest, case)


@pytest.mark.parametrize("case", MCP, ids=_ids(MCP))
def test_mcp(case: Case, mcp: tuple[Face, Callable[..., Outcome]]) -> None:
    _passes(mcp[0], case)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("no_such_tool", {}),
        ("recall", {"query": "x", "bogus": 1}),
        ("recall", {}),
        ("context", {"query": "x", "max_tokens": "lots"}),
        ("forget", {"ids": "t_x"}),
        ("profile", {"user_id": "someone-else"}),
    ],
)
def test_mcp_unknown_tools_and_arguments(
    tool: str, arguments: dict[str, Any], mcp: tuple[Face, Callable[..., Outcome]]
) -> None:
    face, call = mcp
    before = footprint(face.db)
    outcome = call(tool, arguments)
    assert outcome.kind in ("refused", "accepted"), outcome.detail
    assert footprint(face.db) == before
    assert call("recall", {"query": "Lisbon"}).kind == "accepted"  # the session lives on
