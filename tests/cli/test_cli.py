"""The real ``outcrop`` executable in subprocesses, against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli


def test_demo_runs_offline_and_explains(tmp_path: Path) -> None:
    result = run_cli("demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}", db=tmp_path / "unused.db")
    assert "24 turns from 3 sessions" in result.stdout
    assert "bm25" in result.stdout and "dense" in result.stdout
    assert "[1] " in result.stdout  # the cited context block


def test_add_search_show_history_delete_roundtrip(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    item_id = run_cli("add", "I keep my bike in the garage", "--speaker", "Sam", "-u", "sam", db=db).stdout.strip()
    assert item_id.startswith("t_")
    hits = json.loads(run_cli("search", "where is the bike", "-u", "sam", "--json", db=db).stdout)
    # the turn itself, or the fact made from it ("Sam keeps Sam's bike in the garage.")
    assert item_id in (hits[0]["id"], *hits[0]["sources"]) and hits[0]["speaker"] == "Sam"
    assert "channels" in hits[0]["explain"]
    shown = json.loads(run_cli("show", item_id, "--json", db=db).stdout)
    assert shown["text"] == "I keep my bike in the garage" and shown["sources"]
    context = run_cli("context", "bike", "-u", "sam", db=db).stdout
    assert "[1] Sam: I keep my bike in the garage" in context
    run_cli("delete", item_id, db=db)
    history = json.loads(run_cli("history", item_id, "--json", db=db).stdout)
    assert [v["event"] for v in history] == ["add", "delete"]
    assert json.loads(run_cli("list", "-u", "sam", "--json", db=db).stdout) == []
    # added again after its delete: a new turn (this was an IndexError traceback)
    again = run_cli("add", "I keep my bike in the garage", "--speaker", "Sam", "-u", "sam", db=db).stdout.strip()
    assert again.startswith("t_") and again != item_id


def test_ingest_is_idempotent_and_stats_count(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    conversation = tmp_path / "chat.jsonl"
    conversation.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {
                    "session_id": "s1",
                    "name": "Ana",
                    "content": "I start my new job on Monday.",
                    "timestamp": "2024-02-01",
                },
                {"session_id": "s1", "name": "Raj", "content": "Congrats! Where is it?", "timestamp": "2024-02-01"},
            ]
        )
    )
    first = json.loads(run_cli("ingest", str(conversation), "-u", "ana", "--json", db=db).stdout)
    again = json.loads(run_cli("ingest", str(conversation), "-u", "ana", "--json", db=db).stdout)
    assert (first["added"], again["added"], again["already_present"]) == (2, 0, 2)
    stats = json.loads(run_cli("stats", "-u", "ana", "--json", db=db).stdout)
    assert stats["counts"]["turn"] == 2 and stats["counts"]["log"] == 2
    assert stats["counts"]["fact"] == 1  # "Ana starts Ana's new job on Monday (5 February 2024)."
    report = json.loads(run_cli("consolidate", "-u", "ana", "--json", db=db).stdout)
    assert report == {"written": {}, "removed": {}}  # ingest already consolidated


def test_profile_command_lists_profile_lines(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    for text in ("I love hiking and jazz.", "I live in Lisbon."):
        run_cli("add", text, "--speaker", "Ana", "-u", "ana", "-s", "s1", db=db)
    lines = json.loads(run_cli("profile", "-u", "ana", "--json", db=db).stdout)
    assert {line["text"].split(":")[0] for line in lines} == {"Ana likes", "Ana lives in"}
    assert all(line["level"] == "profile" and line["sources"] for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "t_missing0000000000"), "no memory item"),
        (("add", ""), "empty"),
        (("add", "x", "--metadata", "{oops"), "not valid JSON"),
        (("search", "x", "--limit", "0"), "limit"),
        (("ingest", "/nonexistent/file.json"), "cannot read"),
    ],
)
def test_errors_exit_non_zero_with_one_clear_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    run_cli("add", "A note, so that the store exists.", db=tmp_path / "m.db")
    result = run_cli(*args, db=tmp_path / "m.db", check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_file_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"content": "fine"}\n{"content": ""}\n')
    result = run_cli("ingest", str(bad), db=db, check=False)
    assert result.returncode == 2 and "empty" in result.stderr
    assert json.loads(run_cli("stats", "--json", db=db).stdout)["counts"]["log"] == 0


def test_as_of_and_timeline_tell_the_move_from_boston_to_paris(tmp_path: Path) -> None:
    """The Boston -> Paris story through the CLI (in process: the model loads once): search and
    context ``--as-of`` a moment between the two writes say Boston, without it Paris; ``timeline``
    shows both values, the first superseded by the second."""
    import time
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from outcrop.cli.app import app
    from outcrop.errors import InvalidInputError

    runner = CliRunner(env={"OUTCROP_DB": f"sqlite:///{tmp_path / 'm.db'}"})

    def cli(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    cli("add", "I live in Boston.", "--speaker", "Ann", "-u", "ann", "-s", "s1", "-t", "2023-01-10T10:00:00")
    time.sleep(1.1)  # recorded_at is to the second
    between = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)
    cli("add", "I moved to Paris last week.", "--speaker", "Ann", "-u", "ann", "-s", "s2", "-t", "2023-05-10T10:00:00")

    question = "Where does Ann live?"
    then = " ".join(h["text"] for h in json.loads(cli("search", question, "-u", "ann", "--as-of", between, "--json")))
    assert "Boston" in then and "Paris" not in then
    assert "Paris" in " ".join(h["text"] for h in json.loads(cli("search", question, "-u", "ann", "--json")))
    context = cli("context", question, "-u", "ann", "--as-of", between)
    assert "Boston" in context and "Paris" not in context
    assert "Paris" in cli("context", question, "-u", "ann")

    history = json.loads(cli("timeline", "--subject", "Ann", "--attribute", "lives_in", "-u", "ann", "--json"))
    assert [(v["value"], v["current"]) for v in history] == [("Boston", False), ("Paris", True)]
    assert history[0]["superseded_by"] == history[1]["fact_id"] and history[0]["valid_to"] == "2023-05-10T10:00:00"
    past = json.loads(cli("timeline", "--subject", "Ann", "-u", "ann", "--as-of", between, "--json"))
    assert [v["value"] for v in past] == ["Boston"]
    assert "Boston" in cli("timeline", "--subject", "Ann", "-u", "ann")  # the table
    refused = runner.invoke(app, ["search", question, "--as-of", "yesterday"])  # `outcrop` exits 2 on this
    assert isinstance(refused.exception, InvalidInputError) and "yesterday" in str(refused.exception)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--nope"], 2, "error: No such option: --nope"),
        (["serch", "x"], 2, "error: No such command 'serch'"),
        (["search"], 2, "error: Missing argument 'query'"),
        (["search", "q", "--nope"], 2, "error: No such option: --nope"),
        (["forget", "-u", "nobody"], 1, "aborted"),  # no --yes and no terminal to confirm on
        ([], 2, ""),  # no command: the help, on stdout
    ],
)
def test_usage_errors_are_one_line_with_their_exit_code(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    result = run_cli(*args, db=tmp_path / "m.db", check=False)
    assert result.returncode == code and "Traceback" not in result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) <= 1
    if not args:
        assert "Usage" in result.stdout


def test_version_and_short_help(tmp_path: Path) -> None:
    from outcrop import __version__

    assert run_cli("--version", db=tmp_path / "m.db").stdout.strip() == f"outcrop {__version__}"
    assert "search" in run_cli("-h", db=tmp_path / "m.db").stdout
