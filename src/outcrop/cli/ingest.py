"""``outcrop ingest FILE``: load a conversation file with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from outcrop.cli.common import err_console, print_json, settings


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="conversation file (JSON, JSONL or LoCoMo)"),
        fmt: str = typer.Option("auto", "--format", "-f", help="auto | json | jsonl | locomo"),
        user_id: str | None = typer.Option(
            None, "--user-id", "-u", help="user scope (LoCoMo default: each sample's id)"
        ),
        as_json: bool = typer.Option(False, "--json", help="print a JSON summary"),
    ) -> None:
        """Ingest a conversation file: every message is checked before the first is written, and
        re-ingesting the same file (or the rest of one cut short) adds only what is missing."""
        with (
            settings(ctx).open() as memory,
            Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
                disable=as_json or not err_console.is_terminal,  # a log gets the summary, or one error line
            ) as progress,
        ):
            task = progress.add_task(f"ingesting {file.name}", total=None)
            report = memory.ingest(
                file, format=fmt, user_id=user_id, progress=lambda done: progress.update(task, completed=done)
            )
        if as_json:
            print_json(report.model_dump())
        else:
            typer.echo(
                f"{file.name}: {report.messages} messages, {report.added} added, {report.already_present} already present"
            )
