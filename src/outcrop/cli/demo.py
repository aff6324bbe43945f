"""``outcrop demo``: ingest the bundled sample conversation and show search at work, offline."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer
from rich.table import Table

from outcrop.api.memory import Memory
from outcrop.cli.common import console, settings
from outcrop.config import MemoryConfig

DEMO_QUESTIONS = (
    "When did Maya start learning the cello?",
    "What does Jonas do for work?",
    "Where is Maya moving?",
    "What is Jonas allergic to?",
)


def sample_path() -> Path:
    return Path(str(resources.files("outcrop.data").joinpath("sample_conversation.json")))


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        ctx: typer.Context,
        db: str | None = typer.Option(None, "--db", help="store URL (default: ./outcrop-demo.db)"),
    ) -> None:
        """Ingest a bundled sample conversation into SQLite and run a few searches (no network, no LLM)."""
        opts = settings(ctx)
        url = db or opts.db or "sqlite:///outcrop-demo.db"
        config = MemoryConfig.from_env(store=url, embedder=opts.embedder)
        with Memory(config=config) as memory:
            report = memory.ingest(sample_path(), format="json", user_id="demo")
            console.print(
                f"[bold]outcrop demo[/bold]: {report.messages} turns from {report.batches} sessions in {memory.store.url}"
                f" (embedder {memory.embedder.id})\n"
            )
            for question in DEMO_QUESTIONS:
                hits = memory.search(question, user_id="demo", limit=3)
                table = Table(title=f"? {question}", title_justify="left", show_lines=False)
                for column in ("id", "when", "speaker", "text", "score", "found by (rank)"):
                    table.add_column(column, overflow="fold")
                for hit in hits:
                    channels = ", ".join(f"{c} #{t['rank']}" for c, t in hit.explain["channels"].items())
                    table.add_row(
                        hit.id,
                        hit.timestamp.strftime("%Y-%m-%d") if hit.timestamp else "",
                        hit.speaker or "",
                        hit.text,
                        f"{hit.score:.4f}",
                        channels,
                    )
                console.print(table)
            context = memory.context(DEMO_QUESTIONS[0], user_id="demo", max_tokens=200)
            console.print(f"\n[bold]context[/bold] for {DEMO_QUESTIONS[0]!r} ({context.tokens} tokens):")
            console.print(context.text, markup=False, highlight=False)
