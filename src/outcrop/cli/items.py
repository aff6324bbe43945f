"""Item commands: add, search, context, timeline, show, list, history, delete, stats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import typer
from rich.text import Text

from outcrop.api.memory import Memory
from outcrop.cli.common import console, plain, print_json, print_table, run_and_print, settings, shown
from outcrop.cli.hints import empty_scope_hint
from outcrop.core.explain import Stats
from outcrop.core.jsontext import parse_json
from outcrop.core.types import Hit, Item, ItemVersion
from outcrop.errors import InvalidInputError
from outcrop.truth.slots import SlotValue

JSON_OPTION = typer.Option(False, "--json", help="print JSON")
USER = typer.Option(None, "--user-id", "-u", help="user scope (default: 'default')")
AGENT = typer.Option(None, "--agent-id", help="agent scope")
SESSION = typer.Option(None, "--session-id", "-s", help="session scope")
ITEM_ID = typer.Argument(..., metavar="ID")
AS_OF = typer.Option(
    None, "--as-of", help="answer from what memory held at this moment (system time, ISO-8601, e.g. 2024-03-01T12:00Z)"
)

T = TypeVar("T")


def _filters(
    since: str | None, until: str | None, speaker: list[str] | None, metadata: list[str] | None
) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if since:
        filters["since"] = since
    if until:
        filters["until"] = until
    if speaker:
        filters["speakers"] = speaker
    if metadata:
        pairs = {}
        for pair in metadata:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise InvalidInputError(f"--meta expects key=value, got {pair!r}")
            pairs[key] = value
        filters["metadata"] = pairs
    return filters


def _slot_json(value: SlotValue) -> dict[str, Any]:
    fields = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in value.model_dump().items()}
    return {**fields, "sources": list(value.sources), "current": value.current}


# -- what each command prints without --json ------------------------------------------------
def _hit_row(rank: int, hit: Hit, explain: bool) -> list[str]:
    row = [
        str(rank),
        hit.id,
        hit.timestamp.strftime("%Y-%m-%d") if hit.timestamp else "",
        hit.speaker or "",
        hit.text,
        f"{hit.score:.4f}",
    ]
    if explain:
        row.append(", ".join(f"{c}#{t['rank']}" for c, t in hit.explain.get("channels", {}).items()))
    return row


def _print_hits(hits: list[Hit], explain: bool) -> None:
    print_table(
        ("#", "id", "when", "speaker", "text", "score"),
        (_hit_row(rank, hit, explain) for rank, hit in enumerate(hits, start=1)),
        unwrapped=("channels",) if explain else (),
    )


def _print_slots(values: list[SlotValue]) -> None:
    print_table(
        ("attribute", "value", "from", "to", "fact", "superseded by", "sources"),
        (
            (
                v.attribute,
                v.value,
                v.valid_from.isoformat() if v.valid_from else "",
                v.valid_to.isoformat() if v.valid_to else "(current)" if v.current else "",
                v.fact_id,
                v.superseded_by or "",
                ", ".join(v.sources),
            )
            for v in values
        ),
    )


def _print_fields(item: Item) -> None:
    for key, value in item.model_dump(mode="json").items():
        console.print(Text.assemble((key, "bold"), ": ", shown(value)))


def _print_items(found: list[Item]) -> None:
    print_table(
        ("id", "level", "when", "session", "speaker", "text"),
        (
            (
                item.id,
                item.level.value,
                item.timestamp.isoformat() if item.timestamp else "",
                item.scope.session_id or "",
                item.speaker or "",
                item.text,
            )
            for item in found
        ),
    )


def _print_versions(versions: list[ItemVersion]) -> None:
    for v in versions:
        typer.echo(f"v{v.version} {v.event:<6} {v.at.isoformat()} {plain(v.text) if v.text is not None else ''}")


def _print_stats(result: Stats) -> None:
    console.print(shown(f"store: {result['store']}\nembedder: {result['embedder']}"))
    for key, value in result["counts"].items():
        console.print(shown(f"  {key:<8} {value}"))


def _by_id_command(
    app: typer.Typer,
    name: str,
    summary: str,
    read: Callable[[Memory, str, str | None], T],
    render: Callable[[T], None],
) -> None:
    """Register command ``name``: ``read`` what one item id gives (item id, user id) and print it."""

    @app.command(name, help=summary)
    def command(
        ctx: typer.Context, item_id: str = ITEM_ID, user_id: str | None = USER, as_json: bool = JSON_OPTION
    ) -> None:
        run_and_print(ctx, as_json, lambda memory: read(memory, item_id, user_id), render, reads=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def add(
        ctx: typer.Context,
        text: str = typer.Argument(..., help="text to remember"),
        speaker: str | None = typer.Option(None, "--speaker", help="who said it"),
        role: str = typer.Option("user", "--role"),
        timestamp: str | None = typer.Option(None, "--timestamp", "-t", help="when it was said (ISO-8601)"),
        metadata: str | None = typer.Option(None, "--metadata", help="JSON object"),
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        session_id: str | None = SESSION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Remember one message."""
        meta = None
        if metadata:
            meta = parse_json(metadata, "--metadata")
        message: dict[str, Any] = {"role": role, "content": text}
        if speaker is not None:  # an empty speaker is refused, not dropped
            message["name"] = speaker
        with settings(ctx).open() as memory:
            ids = memory.add(
                [message], user_id=user_id, agent_id=agent_id, session_id=session_id, timestamp=timestamp, metadata=meta
            )
        if as_json:
            print_json({"ids": ids})
        else:
            typer.echo(ids[0])

    @app.command()
    def search(
        ctx: typer.Context,
        query: str = typer.Argument(...),
        limit: int = typer.Option(10, "--limit", "-k"),
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        session_id: str | None = SESSION,
        since: str | None = typer.Option(None, "--since"),
        until: str | None = typer.Option(None, "--until"),
        speaker: list[str] | None = typer.Option(None, "--speaker"),
        meta: list[str] | None = typer.Option(None, "--meta", help="metadata filter key=value"),
        explain: bool = typer.Option(False, "--explain", help="show each channel's rank and score"),
        as_of: str | None = AS_OF,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Hybrid search (BM25 + dense + recency, fused). When the scope holds nothing, a line on
        stderr says which users the store holds."""

        def found(memory: Memory) -> list[Hit]:
            hits = memory.search(
                query,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                limit=limit,
                filters=_filters(since, until, speaker, meta),
                as_of=as_of,
            )
            if not hits and (hint := empty_scope_hint(memory, user_id, agent_id, session_id)):
                typer.echo(hint, err=True)
            return hits

        run_and_print(ctx, as_json, found, lambda hits: _print_hits(hits, explain), reads=True)

    @app.command()
    def context(
        ctx: typer.Context,
        query: str = typer.Argument(...),
        max_tokens: int = typer.Option(1000, "--max-tokens"),
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        session_id: str | None = SESSION,
        as_of: str | None = AS_OF,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Print a cited memory block for a prompt, within a token budget."""
        run_and_print(
            ctx,
            as_json,
            lambda memory: memory.context(
                query, user_id=user_id, agent_id=agent_id, session_id=session_id, max_tokens=max_tokens, as_of=as_of
            ),
            lambda result: typer.echo(plain(result.text)),
            reads=True,
        )

    @app.command()
    def timeline(
        ctx: typer.Context,
        subject: str = typer.Option(..., "--subject", help="who, e.g. Ann"),
        attribute: str | None = typer.Option(None, "--attribute", help="one slot, e.g. lives_in (default: all)"),
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        as_of: str | None = AS_OF,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """How a subject's facts changed: each slot value, oldest first, with when it held, what
        replaced it and its sources."""
        run_and_print(
            ctx,
            as_json,
            lambda memory: memory.timeline(subject, attribute, user_id=user_id, agent_id=agent_id, as_of=as_of),
            _print_slots,
            lambda values: [_slot_json(v) for v in values],
            reads=True,
        )

    _by_id_command(
        app,
        "show",
        "Show one memory item with its provenance.",
        lambda memory, item_id, user_id: memory.get(item_id, user_id=user_id),
        _print_fields,
    )

    @app.command("list")
    def list_(
        ctx: typer.Context,
        user_id: str | None = USER,
        agent_id: str | None = AGENT,
        session_id: str | None = SESSION,
        level: str | None = typer.Option(None, "--level"),
        limit: int = typer.Option(50, "--limit"),
        offset: int = typer.Option(0, "--offset"),
        as_json: bool = JSON_OPTION,
    ) -> None:
        """List memory items in time order."""
        run_and_print(
            ctx,
            as_json,
            lambda memory: memory.list(
                user_id=user_id, agent_id=agent_id, session_id=session_id, level=level, limit=limit, offset=offset
            ),
            _print_items,
            reads=True,
        )

    _by_id_command(
        app,
        "history",
        "Show every version of an item.",
        lambda memory, item_id, user_id: memory.history(item_id, user_id=user_id),
        _print_versions,
    )

    @app.command()
    def delete(ctx: typer.Context, item_id: str = ITEM_ID, user_id: str | None = USER) -> None:
        """Delete an item from every index (its history stays)."""
        with settings(ctx).open(existing=True) as memory:
            memory.delete(item_id, user_id=user_id)
        typer.echo(f"deleted {item_id}")

    @app.command()
    def stats(ctx: typer.Context, user_id: str | None = USER, as_json: bool = JSON_OPTION) -> None:
        """Counts per level and the store in use."""
        run_and_print(ctx, as_json, lambda memory: memory.stats(user_id=user_id), _print_stats, reads=True)
