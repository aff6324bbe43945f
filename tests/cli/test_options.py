"""Global options after the subcommand: every subcommand and group of the real ``outcrop`` app is
parsed with ``--db``, ``--embedder``, ``--config`` and ``--json`` after its name, and each option
must land where the same option before the subcommand lands (the Settings every command opens its
memory with, or the command's own option of that name). Then real commands on a real SQLite file
print the same thing with the options before and after."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from outcrop.cli.app import app
from outcrop.cli.common import Settings
from outcrop.cli.options import commands_of

AFTER = {"--db": "sqlite:///after.db", "--embedder": "wordllama", "--config": "after.toml"}
FIELD = {"--db": "db", "--embedder": "embedder", "--config": "config_file"}


def _root() -> Any:
    return typer.main.get_command(app)


def _required(command: Any) -> list[str]:
    """Values for the command's required arguments and options: "1" passes for a text, a number or a path."""
    words: list[str] = []
    for param in command.params:
        if param.required:
            words.extend(["1"] if param.param_type_name == "argument" else [param.opts[0], "1"])
    return words


def _own(command: Any, flag: str) -> Any | None:
    """The command's own parameter for ``flag`` (not a copy of the global option), if any."""
    for param in command.params:
        if flag in getattr(param, "opts", ()) and param.expose_value:
            return param
    return None


SUBCOMMANDS = [path for path, _ in commands_of(_root())]


def _command_at(path: tuple[str, ...]) -> Any:
    command = _root()
    for name in path:
        command = command.commands[name]
    return command


WITH_OWN_JSON = [path for path in SUBCOMMANDS if _own(_command_at(path), "--json") is not None]


def test_the_sweep_covers_every_subcommand() -> None:
    names = {" ".join(path) for path in SUBCOMMANDS}
    assert {"add", "search", "serve", "mcp", "keys", "keys list", "eval locomo", "llm serve", "forget"} <= names
    assert len(SUBCOMMANDS) >= 30


@pytest.mark.parametrize("path", SUBCOMMANDS, ids=" ".join)
def test_global_options_after_the_subcommand_land_where_they_do_before(path: tuple[str, ...]) -> None:
    root = _root()
    ctx = root.make_context("outcrop", ["--db", "sqlite:///before.db"])
    ctx.obj = Settings(db="sqlite:///before.db")  # what the root's callback makes of the options before
    group = root
    for name in path[:-1]:
        group = group.commands[name]
        ctx = group.make_context(name, ["--json"], parent=ctx)  # a group takes them too
    command = group.commands[path[-1]]
    args = [*_required(command)]
    for flag, value in AFTER.items():
        args.extend([flag, value])
    args.append("--json")
    sub = command.make_context(path[-1], args, parent=ctx)
    chosen: Settings = sub.find_root().obj
    for flag, value in AFTER.items():
        own = _own(command, flag)
        if own is None:  # the global option's copy: sets what the option before the subcommand sets
            assert getattr(chosen, FIELD[flag]) == value, flag
        else:  # the command's own option of that name
            assert sub.params[own.name] in (value, Path(value)), flag
    own_json = _own(command, "--json")
    assert chosen.json if own_json is None else sub.params[own_json.name] is True


@pytest.mark.parametrize("path", WITH_OWN_JSON, ids=" ".join)
def test_json_before_the_subcommand_turns_on_its_own_json(path: tuple[str, ...]) -> None:
    root = _root()
    ctx = root.make_context("outcrop", ["--json"])
    ctx.obj = Settings(json=True)
    group = root
    for name in path[:-1]:
        group = group.commands[name]
        ctx = group.make_context(name, ["--json"], parent=ctx)
    command = group.commands[path[-1]]
    sub = command.make_context(path[-1], _required(command), parent=ctx)
    own = _own(command, "--json")
    assert own is not None and sub.params[own.name] is True


def _stable(printed: str) -> Any:
    """Printed JSON without what a search itself changes (scores and explain traces count accesses)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("explain", "score", "confidence")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(printed))


def test_real_commands_print_the_same_with_the_options_before_and_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a real SQLite file, in process (the model loads once); HOME is a fresh folder, so a
    command that missed ``--db`` would read the (empty) default store instead."""
    for name in list(os.environ):
        if name.startswith(("OUTCROP_", "MEMSTRATA_", "XDG_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    db = f"sqlite:///{tmp_path / 'm.db'}"
    runner = CliRunner()

    def cli(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    [item] = json.loads(
        cli("add", "I live in Porto and keep bees on my roof.", "--speaker", "Bob", "-u", "bob", "--db", db, "--json")
    )["ids"]
    assert json.loads(
        cli("--db", db, "--json", "add", "I live in Porto and keep bees on my roof.", "--speaker", "Bob", "-u", "bob")
    )["ids"] == [item]
    commands = [
        ["search", "bees in Porto", "-u", "bob"],
        ["list", "-u", "bob"],
        ["stats", "-u", "bob"],
        ["show", item],
        ["history", item],
        ["context", "Where are the bees?", "-u", "bob"],
        ["timeline", "--subject", "Bob", "-u", "bob"],
    ]
    for command in commands:
        after = _stable(cli(*command, "--db", db, "--json"))
        assert after == _stable(cli("--db", db, "--json", *command)) == _stable(cli("--json", *command, "--db", db))
        assert after, command  # JSON, and not empty: the store given, not the default one
    assert json.loads(cli("list", "-u", "bob", "--json")) == []  # without --db: the empty default store
    assert "Porto" in cli("list", "-u", "bob", "--db", db)  # the table, without --json


def test_errors_of_options_after_the_subcommand_stay_one_line_with_exit_code_2(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    for args, message in (
        (("search", "x", "--db"), "error: Option '--db' requires an argument"),
        (("stats", "--db", "mysql://nowhere"), "error: "),
        (("keys", "list", "--config", str(tmp_path / "missing.toml")), "error: "),
    ):
        result = run_cli(*args, db=tmp_path / "m.db", check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
