"""Quarantine commands: flagged (the items instruction screening flagged) and release."""

from __future__ import annotations

import typer

from outcrop.cli.common import print_table, run_and_print
from outcrop.cli.items import AGENT, ITEM_ID, JSON_OPTION, SESSION, USER
from outcrop.core.provenance import flags_of, is_quarantined, writer_of
from outcrop.core.types import Item


def _print_flagged(found: list[Item]) -> None:
    print_table(
        ("id", "level", "writer", "flags", "state", "text"),
        (
            (
                item.id,
                item.level.value,
                (writer.value if (writer := writer_of(item)) is not None else ""),
                ", ".join(flags_of(item)),
                "quarantined" if is_quarantined(item) else "released",
                item.text,
            )
            for item in found
        ),
    )


def _print_released(released: list[Item]) -> None:
    for item in released:
        typer.echo(f"released {item.id}")


def register(app: typer.Typer) -> None:
    @app.command()
    def flagged(
        ctx: typer.Context,
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        session_id: str | None = SESSION,
        released: bool = typer.Option(False, "--released", help="list items released from quarantine too"),
        limit: int = typer.Option(100, "--limit"),
        as_json: bool = JSON_OPTION,
    ) -> None:
        """List the turns and facts instruction screening flagged (--json: with the words that raised each flag)."""
        run_and_print(
            ctx,
            as_json,
            lambda memory: memory.flagged(
                user_id=user_id, agent_id=agent_id, session_id=session_id, released=released, limit=limit
            ),
            _print_flagged,
        )

    @app.command()
    def release(
        ctx: typer.Context, item_id: str = ITEM_ID, user_id: str | None = USER, as_json: bool = JSON_OPTION
    ) -> None:
        """Let a flagged item (and the facts that inherited its flags) back into context and search."""
        run_and_print(ctx, as_json, lambda memory: memory.release(item_id, user_id=user_id), _print_released)
