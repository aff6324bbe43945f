"""Shared CLI plumbing: the global options, opening a Memory, printing JSON or tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

from outcrop.api.memory import Memory
from outcrop.config import MemoryConfig

console = Console()
err_console = Console(stderr=True)


@dataclass
class Settings:
    db: str | None = None
    embedder: str | None = None
    config_file: str | None = None

    def open(self) -> Memory:
        if self.config_file:
            config = MemoryConfig.from_file(self.config_file, store=self.db, embedder=self.embedder)
        else:
            config = MemoryConfig.from_env(store=self.db, embedder=self.embedder)
        return Memory(config=config)


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


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
