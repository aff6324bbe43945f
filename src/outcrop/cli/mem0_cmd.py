"""``outcrop import-mem0``: a mem0 store (its local Qdrant folder and history database, or a JSON
export of ``get_all``) into this memory; see :mod:`outcrop.lifecycle.mem0_import`."""

from __future__ import annotations

from pathlib import Path

import typer

from outcrop.api.memory import Memory
from outcrop.cli.common import console, run_and_print
from outcrop.cli.items import JSON_OPTION
from outcrop.lifecycle.mem0_import import Mem0ImportReport, read_mem0


def register(app: typer.Typer) -> None:
    @app.command("import-mem0")
    def import_mem0(
        ctx: typer.Context,
        source: Path = typer.Argument(
            ..., help="mem0's local Qdrant folder (vector_store.config.path), or a JSON file of get_all's result"
        ),
        collection: str = typer.Option("mem0", "--collection", help="the Qdrant collection (mem0's collection_name)"),
        history: Path | None = typer.Option(
            None, "--history", help="mem0's history database (history_db_path; default: history.db in SOURCE)"
        ),
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Import a mem0 store with its ids, scopes, metadata, history and times."""
        read = read_mem0(source, collection=collection, history_db=history)

        def run(memory: Memory) -> Mem0ImportReport:
            return read.report(memory.import_(read.as_export(memory.config.tenant)))

        run_and_print(ctx, as_json, run, lambda report: console.print(report.line()))
