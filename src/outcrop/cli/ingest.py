"""``outcrop ingest FILE``: load a conversation file, with its progress (rate, ETA) on stderr: a bar
on a terminal, plain lines in a log."""

from __future__ import annotations

from pathlib import Path

import typer

from outcrop.cli.common import err_console, print_json, settings
from outcrop.cli.progress import CountProgress


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
            CountProgress(err_console, f"ingesting {file.name}", quiet=as_json) as progress,
        ):
            report = memory.ingest(file, format=fmt, user_id=user_id, progress=progress.update, total=progress.total)
            if not memory.wait_for_strata(0):  # strata.mode deferred: the worker catches up before the close
                err_console.print("computing the strata of what was ingested…", highlight=False)
        if as_json:
            print_json(report.model_dump())
        else:
            typer.echo(
                f"{file.name}: {report.messages} messages, {report.added} added, {report.already_present} already present"
            )
