"""``outcrop mcp``: the MCP server over stdio or streamable HTTP (needs the ``server`` extra)."""

from __future__ import annotations

import os

import typer

from outcrop.cli.common import settings
from outcrop.cli.serve import DB, memory_config, server_imports_error
from outcrop.core.values import validate_name
from outcrop.errors import InvalidInputError


def register(app: typer.Typer) -> None:
    @app.command()
    def mcp(
        ctx: typer.Context,
        transport: str = typer.Option("stdio", "--transport", help="stdio | http (streamable HTTP at /mcp)"),
        db: str | None = DB,
        user_id: str = typer.Option("default", "--user-id", "-u", envvar="OUTCROP_USER_ID", help="user scope"),
        agent_id: str | None = typer.Option(None, "--agent-id", envvar="OUTCROP_AGENT_ID", help="agent scope"),
        host: str = typer.Option("127.0.0.1", "--host", help="HTTP interface (http transport)"),
        port: int = typer.Option(8421, "--port", min=0, max=65535, help="HTTP port (http transport)"),
    ) -> None:
        """Serve memory to an MCP client: tools remember, recall, context, forget, profile, timeline,
        and OpenMemory's add_memories, search_memory, list_memories, delete_memories, delete_all_memories."""
        if transport not in ("stdio", "http"):
            raise InvalidInputError("--transport must be stdio or http")
        for variable in ("OUTCROP_USER_ID", "OUTCROP_AGENT_ID"):
            # an empty variable reads as unset: a server over every agent, or the default user
            if variable in os.environ and not os.environ[variable].strip():
                raise InvalidInputError(f"{variable} is set but empty: unset it or name the scope")
        validate_name(user_id, "--user-id")
        if agent_id is not None:
            validate_name(agent_id, "--agent-id")
        try:
            from outcrop.mcp_server import McpScope, build_server
        except ImportError as exc:
            raise server_imports_error(exc) from None
        from outcrop.api.memory import Memory

        with Memory(config=memory_config(settings(ctx), db)) as memory:
            server = build_server(memory, McpScope(user_id=user_id, agent_id=agent_id))
            if transport == "stdio":
                server.run("stdio")
            else:
                server.run("streamable-http", host=host, port=port)
