"""Reliability under faults, concurrency and hostile input: one table of trials and outcomes.

    python bench/reliability.py [--trials 100] [--seconds 30] [--writers 4] [--no-postgres] [--no-cli]
                                [--parts kill,writers,corpus]

* ``kill -9``: ``--trials`` trials, round robin over add, ingest, consolidate and forget: a child
  process is killed at a random moment, the file reopened and checked (every acknowledged write
  present, no forgotten word found by search or in any table or index, the store consistent);
* several writers for ``--seconds``: ``--writers`` processes on one SQLite file, and as many
  ``outcrop serve`` processes on one PostgreSQL database (started here with the test suite's
  helper, ``tests/helpers.py:start_postgres``): errors, duplicate and skipped session positions;
* the bad-input corpus through the Python API, the CLI (a process per case: the slowest row;
  ``--no-cli`` skips it), a real REST server and the MCP server: crashes (tracebacks, other
  exceptions, a dropped connection), 5xx answers, partial writes, bad input accepted, valid input
  refused.

The checks are the test suite's (``tests/reliability/``), which runs fewer of each.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test suite's helpers

from rich.console import Console
from rich.table import Table
from tests.helpers import fresh_database, start_postgres
from tests.reliability.crash import OPS, Trial, run_trial
from tests.reliability.harness import Face, cli_face, expressible, mcp_face, python_face, rest_face
from tests.reliability.writers import WriterReport, process_writers, server_writers

from outcrop.providers import load_embedder

Row = tuple[str, str, str, str, str]
console = Console(stderr=True)


def kill_rows(trials: int, folder: Path) -> list[Row]:
    embedder = load_embedder("minilm")
    done: dict[str, list[Trial]] = collections.defaultdict(list)
    for n in range(trials):
        op = OPS[n % len(OPS)]
        trial_folder = folder / f"kill{n}"
        trial_folder.mkdir()
        trial = run_trial(op, trial_folder, embedder, random.Random(f"bench-{n}"))
        done[op].append(trial)
        console.print(f"kill -9 {n + 1}/{trials} {op}: {'ok' if trial.ok else trial}")
    rows = []
    for op in OPS:
        found = done.get(op, [])
        if not found:
            continue
        acknowledged = sum(t.acknowledged for t in found)
        what = "forgets" if op == "forget" else "files" if op == "ingest" else "adds"
        outcome = (
            f"{sum(len(t.lost) for t in found)} lost, {sum(len(t.leaked) for t in found)} forgotten found, "
            f"{sum(bool(t.problems) for t in found)} inconsistent"
        )
        ok = all(t.lost == [] and t.leaked == [] and not t.problems for t in found)
        rows.append(
            (f"kill -9 during {op}", str(len(found)), f"{acknowledged} acknowledged {what}", outcome, _mark(ok))
        )
    return rows


def _writer_row(title: str, report: WriterReport) -> Row:
    for sample in report.samples:
        console.print(f"{title}: {sample}")
    errors = ", ".join(f"{k} {v}" for k, v in report.errors.items()) or "0"
    outcome = (
        f"{errors} errors, {report.doubled} duplicate / {report.gaps} skipped positions, "
        f"{report.split_ids} split ids, turns {report.turns}/{report.expected}"
    )
    return (title, f"{report.seconds:.0f} s", f"{report.adds} adds", outcome, _mark(report.ok and not report.gaps))


def writer_rows(writers: int, seconds: float, folder: Path, postgres: bool) -> list[Row]:
    (folder / "sqlite").mkdir()
    sqlite = process_writers(
        f"sqlite:///{folder / 'sqlite' / 'm.db'}", folder / "sqlite", writers=writers, seconds=seconds
    )
    rows = [_writer_row(f"{writers} writer processes, one SQLite file", sqlite)]
    if postgres:
        server = start_postgres(folder / "pg")
        (folder / "servers").mkdir()
        report = server_writers(fresh_database(server), folder / "servers", servers=writers, seconds=seconds)
        rows.append(_writer_row(f"{writers} outcrop serve processes, one PostgreSQL", report))
    return rows


def _corpus_row(face: Face, name: str) -> Row:
    cases = expressible(name)
    problems: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    for number, case in enumerate(cases, start=1):
        problem = face.check(case)
        if problem is not None:
            kind = problem.split(":")[0]
            if kind == "crash" and ": 5" in problem[:12]:
                kind = "5xx"
            problems[kind] += 1
            console.print(f"{name} {case.name}: {problem}")
        if number % 50 == 0:
            console.print(f"{name}: {number}/{len(cases)} in {time.monotonic() - started:.0f} s")
    outcome = (
        f"{problems['crash']} crashes/tracebacks, {problems['5xx']} 5xx, {problems['partial write']} partial writes, "
        f"{problems['accepted bad input']} bad accepted, {problems['refused valid input']} valid refused"
    )
    return (f"bad input, {name}", str(len(cases)), f"{len(cases)} inputs", outcome, _mark(not problems))


def corpus_rows(folder: Path, with_cli: bool) -> list[Row]:
    embedder = load_embedder("minilm")
    rows = []
    with python_face(_new(folder, "python"), embedder) as face:
        rows.append(_corpus_row(face, "python"))
    with rest_face(_new(folder, "rest")) as face:
        rows.append(_corpus_row(face, "rest"))
    with mcp_face(_new(folder, "mcp"), embedder) as (face, _call):
        rows.append(_corpus_row(face, "mcp"))
    if with_cli:
        with cli_face(_new(folder, "cli"), embedder) as face:
            rows.append(_corpus_row(face, "cli"))
    return rows


def _new(folder: Path, name: str) -> Path:
    (folder / name).mkdir()
    return folder / name


def _mark(ok: bool) -> str:
    return "ok" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100, help="kill -9 trials (round robin over the operations)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the writers write")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL row")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI corpus row (a process per input)")
    parser.add_argument("--parts", default="kill,writers,corpus", help="which parts to run (comma-separated)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "kill").mkdir()
        (folder / "writers").mkdir()
        (folder / "corpus").mkdir()
        rows = kill_rows(args.trials, folder / "kill") if "kill" in parts else []
        if "writers" in parts:
            rows += writer_rows(args.writers, args.seconds, folder / "writers", not args.no_postgres)
        if "corpus" in parts:
            rows += corpus_rows(folder / "corpus", not args.no_cli)
    table = Table(title=f"reliability ({time.monotonic() - started:.0f} s)")
    for column in ("trial", "runs", "checked", "outcome", ""):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
