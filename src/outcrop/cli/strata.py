"""Strata commands: consolidate (build facts, episodes, topics, profile) and profile."""

from __future__ import annotations

import typer

from outcrop.cli.common import console, print_json, print_table, run_and_print, settings
from outcrop.cli.follow import follow_due
from outcrop.cli.items import AGENT, JSON_OPTION, USER
from outcrop.core.types import Item


def _print_profile(lines: list[Item]) -> None:
    print_table(
        ("id", "subject", "line", "support"),
        ((line.id, line.speaker or "", line.text, str(line.metadata.get("support", ""))) for line in lines),
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def consolidate(
        ctx: typer.Context,
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        as_json: bool = JSON_OPTION,
        follow: bool = typer.Option(
            False,
            "--follow",
            help="run until interrupted, computing the strata of what other processes add (strata.mode deferred)",
        ),
        interval: float = typer.Option(1.0, "--interval", min=0.05, help="with --follow: seconds between polls"),
    ) -> None:
        """Build or refresh facts, episodes, topics and the profile from the stored turns (idempotent).
        With ``--follow``: a long-lived consolidator for the tenant, polling for adds whose strata
        are due (written by processes in ``strata.mode: deferred``, or cut short); Ctrl-C stops it."""
        if follow:
            with settings(ctx).open() as memory:
                follow_due(memory, interval)
            return
        with settings(ctx).open() as memory, console.status("consolidating…", spinner="dots"):
            report = memory.consolidate(user_id=user_id, agent_id=agent_id)
        result = {"written": report.written, "removed": report.removed}
        if as_json:
            print_json(result)
            return
        if not report.written and not report.removed:
            console.print("up to date: nothing to write")
        for what, counts in result.items():
            for level, count in counts.items():
                console.print(f"{what:<8} {level:<8} {count}")

    @app.command()
    def profile(ctx: typer.Context, user_id: str | None = USER, as_json: bool = JSON_OPTION) -> None:
        """The participants' profile lines: attribute, values with support, first and last seen."""
        run_and_print(
            ctx,
            as_json,
            lambda memory: memory.list(user_id=user_id, level="profile", limit=1000),
            _print_profile,
            reads=True,
        )
