"""Hostile input through the real ``outcrop`` command (a child process on a real SQLite file): each
is one line on stderr, exit code 2, no traceback and nothing written; and what a memory says is
printed as text, never as the console's markup or the terminal's escape sequences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

_DEEP = "[" * 5000 + "]" * 5000


def _refused(result_args: tuple[str, ...], fragment: str, db: Path, env: dict[str, str] | None = None) -> None:
    result = run_cli(*result_args, db=db, env=env, check=False)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _logs(db: Path) -> int:
    if not db.exists():
        return 0
    count: int = json.loads(run_cli("stats", "--json", db=db).stdout)["counts"].get("log", 0)
    return count


def test_json_nested_too_deep_is_one_clear_error_wherever_it_comes_from(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    _refused(("add", "hi", "-u", "maya", "--metadata", _DEEP), "--metadata is JSON nested too deep", db)
    config = tmp_path / "deep.json"
    config.write_text('{"retrieval": ' * 3000 + "{}" + "}" * 3000)
    _refused(("--config", str(config), "stats"), "nested too deep", db)
    mem0 = tmp_path / "mem0.json"
    mem0.write_text(_DEEP)
    _refused(("import-mem0", str(mem0)), "nested too deep", db)
    export = tmp_path / "deep.jsonl"
    export.write_text(_DEEP + "\n")
    _refused(("import", str(export), str(export)), "nested too deep", db)
    assert _logs(db) == 0


def test_a_store_path_under_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "c.db").write_text("not a folder")
    _refused(("add", "hi"), "cannot create its folder", tmp_path / "c.db" / "x.db")


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"retrieval": {"channel_weights": {"bm25": float("nan")}}}, "finite number"),
        ({"retrieval": {"channel_weights": {"bm25": -5}}}, "greater than or equal to 0"),
        ({"retrieval": {"context_feedback": float("inf")}}, "finite number"),
    ],
)
def test_a_weight_no_search_could_use_is_an_invalid_configuration(
    tmp_path: Path, config: dict[str, object], fragment: str
) -> None:
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(config))  # NaN and Infinity, as Python's json writes them
    _refused(("--config", str(path), "search", "lisbon", "-u", "maya"), fragment, tmp_path / "m.db")


@pytest.mark.parametrize("tenant", ["a\x1b[2J", " ", "tab\there"])
def test_a_tenant_name_is_checked_as_other_names_are(tmp_path: Path, tenant: str) -> None:
    db = tmp_path / "m.db"
    _refused(("add", "hello", "-u", "maya"), "invalid configuration: tenant", db, env={"OUTCROP_TENANT": tenant})
    assert _logs(db) == 0


def test_a_memory_is_printed_as_text_not_as_markup_or_escape_sequences(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    said = "hello [/bold] and [red]red[/red] and \x1b[31mred too\x07"
    [item_id] = json.loads(run_cli("add", said, "-u", "maya", "--json", db=db).stdout)["ids"]
    shown = "hello [/bold] and [red]red[/red] and \\x1b[31mred too\\x07"
    for args in (("list", "-u", "maya"), ("show", item_id, "-u", "maya"), ("context", "hello", "-u", "maya")):
        result = run_cli(*args, db=db, env={"COLUMNS": "300"})
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout, args
        assert shown in result.stdout, (args, result.stdout)
    found = run_cli("search", "hello", "-u", "maya", db=db, env={"COLUMNS": "300"}).stdout
    assert "[/bold]" in found and "\x1b" not in found
    assert json.loads(run_cli("show", item_id, "-u", "maya", "--json", db=db).stdout)["text"] == said


def _export_file(path: Path, *records: dict[str, object], version: object = 1) -> Path:
    header = {"format": "outcrop", "version": version, "tenant": "default", "user_id": None, "projections": False}
    path.write_text("\n".join(json.dumps(line) for line in (header, *records)) + "\n")
    return path


def _message(log_id: str, turn_id: str, text: str, recorded_at: str = "2024-01-01T00:00:00") -> dict[str, object]:
    return {
        "type": "log",
        "id": log_id,
        "user_id": "maya",
        "agent_id": None,
        "session_id": None,
        "kind": "message",
        "payload": {"content": text, "role": "user", "speaker": "Maya", "metadata": {}, "timestamp": None},
        "content_hash": f"hash of {text}",
        "recorded_at": recorded_at,
        "turn_id": turn_id,
    }


def test_an_import_the_store_could_not_hold_is_refused_whole(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    first = _message("l_0000000000import01", "t_0000000000import01", "I moved to Lisbon")
    year_one = _message("l_0000000000import02", "t_0000000000import02", "I moved to Porto", "0001-01-01T00:00:00")
    _refused(("import", str(_export_file(tmp_path / "a.jsonl", first, year_one))), "line 3: timestamp 0001", db)
    twice = _message("l_0000000000import01", "t_0000000000import03", "I moved to Faro")
    _refused(("import", str(_export_file(tmp_path / "b.jsonl", first, twice))), "line 3: log id", db)
    again = _message("l_0000000000import04", "t_0000000000import01", "I moved to Faro")
    _refused(("import", str(_export_file(tmp_path / "c.jsonl", first, again))), "line 3: turn id", db)
    _refused(("import", str(_export_file(tmp_path / "d.jsonl", first, version=True))), "unsupported export version", db)
    assert _logs(db) == 0
    same_twice = _export_file(tmp_path / "e.jsonl", first, first)  # one record said twice is one record
    run_cli("import", str(same_twice), db=db)
    assert _logs(db) == 1
    run_cli("add", "I moved to Porto", "--speaker", "Maya", "-u", "maya", db=db)  # the store still works
    assert _logs(db) == 2


@pytest.mark.parametrize(
    "command",
    [
        ("search", "bees"),
        ("list",),
        ("stats",),
        ("show", "t_01jd4k2m9x7q3v8w"),
        ("history", "t_01jd4k2m9x7q3v8w"),
        ("context", "Where are the bees?"),
        ("timeline", "--subject", "Bob"),
        ("profile",),
        ("delete", "t_01jd4k2m9x7q3v8w"),
        ("forget", "-u", "bob", "--yes"),
    ],
)
def test_a_command_that_only_reads_refuses_a_store_that_is_not_there(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A mistyped --db used to create an empty store, its folders too, and answer as if the memory
    were empty; a command that reads (or deletes) now says there is no store, and creates nothing."""
    db = tmp_path / "typo" / "m.db"
    _refused(("--db", f"sqlite:///{db}", *command), f"no store at {db}", tmp_path / "m.db")
    assert not (tmp_path / "typo").exists()


def test_a_sqlite_url_with_a_query_is_refused_not_taken_as_a_file_name(tmp_path: Path) -> None:
    """``sqlite:///m.db?mode=ro`` created a file named ``m.db?mode=ro``."""
    db = tmp_path / "m.db"
    _refused(("--db", f"sqlite:///{db}?mode=ro", "add", "hi"), "takes no query", db)
    assert list(tmp_path.iterdir()) == []
