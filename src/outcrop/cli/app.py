"""The typer application: global options and command registration (one module per group)."""

from __future__ import annotations

import typer

from outcrop.cli import (
    demo,
    eval_cmd,
    ingest,
    items,
    keys,
    lifecycle,
    llm_cmd,
    mcp_cmd,
    mem0_cmd,
    screening,
    serve,
    strata,
)
from outcrop.cli.common import Settings
from outcrop.cli.options import GlobalOptionsGroup

app = typer.Typer(
    name="outcrop",
    help="Long-term memory for LLM agents: ingest conversations, search them, build cited contexts.",
    no_args_is_help=True,
    cls=GlobalOptionsGroup,  # the global options below are accepted after the subcommand too
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(show: bool) -> None:
    if show:
        from outcrop import __version__

        typer.echo(f"outcrop {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    db: str | None = typer.Option(None, "--db", envvar="OUTCROP_DB", help="store URL, e.g. sqlite:///memory.db"),
    embedder: str | None = typer.Option(
        None, "--embedder", envvar="OUTCROP_EMBEDDER", help="embedder spec: minilm | wordllama | st:/path"
    ),
    config: str | None = typer.Option(None, "--config", envvar="OUTCROP_CONFIG", help="JSON/TOML config file"),
    as_json: bool = typer.Option(False, "--json", help="print JSON (commands that print results)"),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    ctx.obj = Settings(db=db, embedder=embedder, config_file=config, json=as_json)


items.register(app)
ingest.register(app)
strata.register(app)
lifecycle.register(app)
mem0_cmd.register(app)
screening.register(app)
demo.register(app)
app.add_typer(eval_cmd.app, name="eval")
serve.register(app)
app.add_typer(keys.app, name="keys")
mcp_cmd.register(app)
llm_cmd.register(app)
