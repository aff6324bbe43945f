"""Shared CLI plumbing: the global options, opening a Memory, printing JSON or tables."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from outcrop.api.memory import Memory
from outcrop.config import MemoryConfig, default_store_url
from outcrop.errors import StoreError
from outcrop.stores.registry import sqlite_path

console = Console()
err_console = Console(stderr=True)
# C0 controls but tab and newline, DEL and C1: an escape sequence in a stored text would drive the
# reader's terminal (ESC [2J clears it); they are shown as \x.. instead
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

T = TypeVar("T")


@dataclass
class Settings:
    db: str | None = None
    embedder: str | None = None
    config_file: str | None = None
    json: bool = False  # --json given before the subcommand (or after it, on one without its own)

    def config(self) -> MemoryConfig:
        """The config file (--config, OUTCROP_CONFIG), then the environment over it (OUTCROP_DB,
        OUTCROP_LLM_*, ...), then the flags: as the library's ``MemoryConfig.from_env`` reads them
        (with a config file, OUTCROP_LLM_* used to be ignored)."""
        return MemoryConfig.from_env(file=self.config_file, store=self.db, embedder=self.embedder)

    def open(self, *, existing: bool = False) -> Memory:
        """The memory the options name; ``existing``: for a command that only reads, a SQLite
        store named by --db, OUTCROP_DB or a config file must be there already (a mistyped one used
        to be created, folders and all, and answered as an empty memory). The default store is
        empty until something is added, not missing."""
        return Memory(config=self.existing_config() if existing else self.config())

    def existing_config(self) -> MemoryConfig:
        """The configuration, its SQLite store checked to be there already, unless it is the
        default store (see :meth:`open`): for a command over a store's tenants."""
        config = self.config()
        path = sqlite_path(config.store) if config.store != default_store_url() else None
        if path is not None and not Path(path).exists():
            raise StoreError(f"no store at {path} (nothing has been added there; check --db or OUTCROP_DB)")
        return config


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


def run_and_print(
    ctx: typer.Context,
    as_json: bool,
    call: Callable[[Memory], T],
    render: Callable[[T], None],
    to_json: Callable[[T], Any] | None = None,
    *,
    reads: bool = False,
) -> None:
    """Open the memory, ``call`` it and close it, then print the result: as JSON with ``--json``
    (through ``to_json`` when given), else with ``render``. ``reads``: the command only reads, so
    the store must exist (:meth:`Settings.open`)."""
    with settings(ctx).open(existing=reads) as memory:
        result = call(memory)
    if as_json:
        print_json(to_json(result) if to_json is not None else result)
    else:
        render(result)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def shown(value: object) -> Text:
    """``value`` (a stored text, a name) as the console prints it: literally (no console markup:
    "[/bold]" in a memory is text, not a style), with control characters written as ``\\x1b``."""
    return Text(plain(value))


def plain(value: object) -> str:
    """``value`` with control characters written as ``\\x1b``, for ``typer.echo``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, unwrapped: Sequence[str] = ()) -> None:
    """``rows`` as a table on the console: ``columns`` fold long cells, ``unwrapped`` ones after them
    do not."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for column in unwrapped:
        table.add_column(column)
    for row in rows:
        table.add_row(*(shown(cell) for cell in row))
    console.print(table)
