"""The real ``memstrata`` executable in subprocesses, against a real SQLite file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = shutil.which("memstrata") or str(Path(sys.executable).with_name("memstrata"))


def run(*args: str, db: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEMSTRATA_DB": f"sqlite:///{db}"}
    result = subprocess.run([EXE, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"memstrata {args} failed ({result.returncode}): {result.stderr}")
    return result


def test_demo_runs_offline_and_explains(tmp_path: Path) -> None:
    result = run("demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}", db=tmp_path / "unused.db")
    assert "24 turns from 3 sessions" in result.stdout
    assert "bm25" in result.stdout and "dense" in result.stdout
    assert "[t_" in result.stdout  # the cited context block


def test_add_search_show_history_delete_roundtrip(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    item_id = run("add", "I keep my bike in the garage", "--speaker", "Sam", "-u", "sam", db=db).stdout.strip()
    assert item_id.startswith("t_")
    hits = json.loads(run("search", "where is the bike", "-u", "sam", "--json", db=db).stdout)
    # the turn itself, or the fact made from it ("Sam keeps Sam's bike in the garage.")
    assert item_id in (hits[0]["id"], *hits[0]["sources"]) and hits[0]["speaker"] == "Sam"
    assert "channels" in hits[0]["explain"]
    shown = json.loads(run("show", item_id, "--json", db=db).stdout)
    assert shown["text"] == "I keep my bike in the garage" and shown["sources"]
    context = run("context", "bike", "-u", "sam", db=db).stdout
    assert f"[{item_id}]" in context
    run("delete", item_id, db=db)
    history = json.loads(run("history", item_id, "--json", db=db).stdout)
    assert [v["event"] for v in history] == ["add", "delete"]
    assert json.loads(run("list", "-u", "sam", "--json", db=db).stdout) == []


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
    first = json.loads(run("ingest", str(conversation), "-u", "ana", "--json", db=db).stdout)
    again = json.loads(run("ingest", str(conversation), "-u", "ana", "--json", db=db).stdout)
    assert (first["added"], again["added"], again["already_present"]) == (2, 0, 2)
    stats = json.loads(run("stats", "-u", "ana", "--json", db=db).stdout)
    assert stats["counts"]["turn"] == 2 and stats["counts"]["log"] == 2
    assert stats["counts"]["fact"] == 1  # "Ana starts Ana's new job on Monday (5 February 2024)."
    report = json.loads(run("consolidate", "-u", "ana", "--json", db=db).stdout)
    assert report == {"written": {}, "removed": {}}  # ingest already consolidated


def test_profile_command_lists_profile_lines(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    for text in ("I love hiking and jazz.", "I live in Lisbon."):
        run("add", text, "--speaker", "Ana", "-u", "ana", "-s", "s1", db=db)
    lines = json.loads(run("profile", "-u", "ana", "--json", db=db).stdout)
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
    result = run(*args, db=tmp_path / "m.db", check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_file_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"content": "fine"}\n{"content": ""}\n')
    result = run("ingest", str(bad), db=db, check=False)
    assert result.returncode == 2 and "empty" in result.stderr
    assert json.loads(run("stats", "--json", db=db).stdout)["counts"]["log"] == 0
