"""``outcrop ingest FILE``: load a conversation file with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from outcrop.cli.common import err_console, print_json, settings
from outcrop.core.formats import read_batches


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
        """Ingest a conversation file. Re-ingesting the same file adds nothing."""
        batches = read_batches(file, fmt, user_id=user_id)  # parse and validate everything first
        total = sum(len(b.messages) for b in batches)
        added = existing = 0
        with settings(ctx).open() as memory:
            before = memory.stats()["counts"]["turn"]
            with Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
                disable=as_json,
            ) as progress:
                task = progress.add_task(f"ingesting {file.name}", total=total)
                for batch in batches:
                    memory.add(
                        batch.messages,
                        user_id=batch.user_id,
                        session_id=batch.session_id,
                        timestamp=batch.timestamp,
                        metadata=batch.metadata or None,
                    )
                    progress.advance(task, len(batch.messages))
            after = memory.stats()["counts"]["turn"]
        added = after - before
        existing = total - added
        summary = {
            "file": str(file),
            "messages": total,
            "added": added,
            "already_present": existing,
            "batches": len(batches),
        }
        if as_json:
            print_json(summary)
        else:
            typer.echo(f"{file.name}: {total} messages, {added} added, {existing} already present")
