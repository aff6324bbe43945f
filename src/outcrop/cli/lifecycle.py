"""Lifecycle commands: forget (with a receipt), rebuild, export, import, reindex."""

from __future__ import annotations

from pathlib import Path

import typer

from outcrop.api.memory import Memory
from outcrop.cli.bulk import ALL_TENANTS, RAY, TENANTS, chosen_tenants, held_scope, run_bulk
from outcrop.cli.common import console, print_json, run_and_print, settings, shown
from outcrop.cli.items import AGENT, JSON_OPTION, SESSION, USER
from outcrop.distributed.jobs import ImportJob, RebuildJob, exports_by_tenant, reindex_tenants
from outcrop.errors import InvalidInputError
from outcrop.lifecycle.export import ImportReport
from outcrop.lifecycle.rebuild import RebuildReport
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.reindex import ReindexReport

YES = typer.Option(False, "--yes", "-y", help="do not ask for confirmation")


def _print_receipt(receipt: ForgetReceipt) -> None:
    for key, ids in receipt.removed.items():
        console.print(f"removed    {key:<8} {len(ids)}")
    for key, ids in receipt.recomputed.items():
        console.print(f"recomputed {key:<8} {len(ids)}")
    v = receipt.verification
    verdict = "[green]passed[/green]" if v.passed else "[red]FAILED[/red]"
    console.print(f"verification {verdict}: {v.terms_checked} distinctive terms, {v.phrases_checked} phrases searched")
    for leak in v.leaks:
        console.print(shown(f"  leak: {leak.item_id} ({leak.level}) found by {leak.found_by} {leak.term or ''}"))
    for item_id in v.remaining:
        console.print(f"  still readable: {item_id}")
    if receipt.scrub:
        console.print("store files scrubbed: " + ", ".join(f"{k}={v}" for k, v in receipt.scrub.items()))


def _rebuild_line(report: RebuildReport) -> str:
    written = ", ".join(f"{k}={v}" for k, v in sorted(report.written.items()))
    return f"rebuilt from {report.records} log records: {report.turns} turns; {written}"


def _rebuild_held(memory: Memory, user_id: str | None) -> RebuildReport:
    held_scope(memory, user_id)
    return memory.rebuild(user_id=user_id)


def _print_rebuild(report: RebuildReport) -> None:
    console.print(_rebuild_line(report))


def _import_line(report: ImportReport) -> str:
    return f"imported {report.added} of {report.records} log records ({report.skipped} already held)"


def register(app: typer.Typer) -> None:
    @app.command()
    def forget(
        ctx: typer.Context,
        ids: list[str] | None = typer.Argument(None, metavar="[ID]...", help="turn or fact ids"),
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        session_id: str | None = SESSION,
        no_scrub: bool = typer.Option(False, "--no-scrub", help="defer the scrub to the next forget or open"),
        yes: bool = YES,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Erase turns, a session or a user for good, with everything derived from them; prints a
        receipt with the verification search. Exit code 1 if the verification found anything."""
        what = f"{len(ids)} item(s)" if ids else f"user={user_id} agent={agent_id} session={session_id}"
        if not yes:
            typer.confirm(f"forget {what} for good?", abort=True)
        with settings(ctx).open(existing=True) as memory:
            if ids:  # with a session or agent too: refused, as in Python
                receipt = memory.forget(
                    ids, user_id=user_id, agent_id=agent_id, session_id=session_id, scrub=not no_scrub
                )
            else:
                receipt = memory.forget(user_id=user_id, agent_id=agent_id, session_id=session_id, scrub=not no_scrub)
        if as_json:
            print_json(receipt)
        else:
            _print_receipt(receipt)
        if not receipt.ok:
            raise typer.Exit(1)

    @app.command()
    def compact(ctx: typer.Context, yes: bool = YES, as_json: bool = JSON_OPTION) -> None:
        """Rewrite the whole store to give free space back (SQLite VACUUM, PostgreSQL VACUUM FULL):
        for space only, forget never needs it. Every writer waits while it runs."""
        if not yes:
            typer.confirm("rewrite the whole store now (writers wait)?", abort=True)
        run_and_print(
            ctx,
            as_json,
            lambda memory: memory.compact(),
            lambda report: console.print("compacted: " + ", ".join(f"{k}={v}" for k, v in report.items())),
        )

    @app.command()
    def rebuild(
        ctx: typer.Context,
        user_id: str | None = USER,
        tenants: list[str] | None = TENANTS,
        all_tenants: bool = ALL_TENANTS,
        ray: str | None = RAY,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Recompute every projection (turn indexes, facts, episodes, topics, profile) from the log:
        of this tenant (or one user of it), or of several tenants, one Ray task each with --ray."""
        if not tenants and not all_tenants and ray is None:
            run_and_print(
                ctx, as_json, lambda memory: _rebuild_held(memory, user_id), _print_rebuild, reads=True
            )  # a store that is there
            return
        if user_id is not None:
            raise InvalidInputError(
                "--user-id rebuilds one user of one tenant: not with --tenant, --all-tenants or --ray"
            )
        config = settings(ctx).existing_config()  # a mistyped --db was created, and rebuilt nothing
        job = RebuildJob(config, threads=1 if ray else config.embedder_threads)
        run_bulk(job, chosen_tenants(config, tenants, all_tenants), ray=ray, as_json=as_json, line=_rebuild_line)

    @app.command()
    def reindex(
        ctx: typer.Context,
        embedder: str = typer.Option(..., "--embedder", help="new embedder spec: minilm | wordllama | st:/path"),
        tenants: list[str] | None = TENANTS,
        all_tenants: bool = ALL_TENANTS,
        ray: str | None = RAY,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Re-embed every item with a new model beside the old index, then switch atomically (the
        tenants given must be all the store holds). With --ray each tenant is re-embedded in its
        own Ray task, and the switch is made once all are done.
        Afterwards open this store with the same --embedder (or OUTCROP_EMBEDDER)."""

        def done(report: ReindexReport) -> None:
            console.print(f"re-indexed {report.vectors} vectors: {report.old} -> {report.new}")
            console.print(f"use --embedder {embedder} (or OUTCROP_EMBEDDER={embedder}) with this store from now on")

        if not tenants and not all_tenants and ray is None:
            run_and_print(ctx, as_json, lambda memory: memory.reindex(embedder), done)
            return
        config = settings(ctx).existing_config()
        report = reindex_tenants(config, embedder, chosen_tenants(config, tenants, all_tenants), ray=ray)
        if as_json:
            print_json(report)
        else:
            done(report)

    @app.command("export")
    def export_(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="JSONL file to write"),
        user_id: str | None = USER,
        projections: bool = typer.Option(False, "--projections", help="also write every derived item"),
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Export the log (and optionally the projections) to JSONL."""
        run_and_print(
            ctx,
            as_json,
            lambda memory: memory.export(file, user_id=user_id, projections=projections),
            lambda report: console.print(f"exported {report.records} log records and {report.items} items to {file}"),
            reads=True,
        )

    @app.command("import")
    def import_(
        ctx: typer.Context,
        files: list[Path] = typer.Argument(..., metavar="FILE_OR_DIR...", help="JSONL exports, or directories of them"),
        ray: str | None = RAY,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Import JSONL exports; records already held are skipped; projections are recomputed.
        One file goes into this tenant; several files (or a directory of *.jsonl) each go into
        the tenant its header names, one tenant after another, or one Ray task each with --ray."""
        single = len(files) == 1 and not files[0].is_dir()
        if single and ray is None:
            run_and_print(
                ctx, as_json, lambda memory: memory.import_(files[0]), lambda r: console.print(_import_line(r))
            )
            return
        config = settings(ctx).config()
        grouped: dict[str, tuple[str, ...]] = {config.tenant: (str(files[0]),)} if single else exports_by_tenant(files)
        job = ImportJob(config, grouped, threads=1 if ray else config.embedder_threads)
        run_bulk(job, list(grouped), ray=ray, as_json=as_json, line=_import_line)
