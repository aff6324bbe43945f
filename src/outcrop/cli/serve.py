"""``outcrop serve``: the multi-tenant REST server (needs the ``server`` extra)."""

from __future__ import annotations

import typer

from outcrop.cli.common import Settings, settings
from outcrop.config import MemoryConfig
from outcrop.errors import ConfigError, install_hint

DB = typer.Option(None, "--db", help="store URL (overrides the global --db / OUTCROP_DB)")
KEYS = typer.Option(
    None, "--keys", envvar="OUTCROP_KEYS", help="API key database (default: <store>.keys.db next to a SQLite store)"
)


def memory_config(options: Settings, db: str | None) -> MemoryConfig:
    """The MemoryConfig the global options, environment and a command's own --db describe."""
    return MemoryConfig.from_env(file=options.config_file, store=db or options.db, embedder=options.embedder)


def server_imports_error(exc: ImportError) -> ConfigError:
    return ConfigError(f"the server needs the 'server' extra: {install_hint('server')} ({exc.name} missing)")


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        ctx: typer.Context,
        db: str | None = DB,
        host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
        port: int = typer.Option(8420, "--port", help="TCP port (0: any free port)"),
        keys: str | None = KEYS,
        max_body_bytes: int | None = typer.Option(
            None, "--max-body-bytes", envvar="OUTCROP_MAX_BODY_BYTES", help="largest request body (default 1 MiB)"
        ),
        threads: int = typer.Option(16, "--threads", help="worker threads for memory operations (per process)"),
        workers: int = typer.Option(
            1, "--workers", min=1, max=64, help="server processes on the one port (each loads the model: ~300 MB)"
        ),
        read_timeout: float | None = typer.Option(
            None, "--read-timeout", help="seconds for a request to arrive whole, headers and body (default 30)"
        ),
        keep_alive: int | None = typer.Option(
            None, "--keep-alive", help="seconds an idle connection stays open (default 5)"
        ),
        log_level: str = typer.Option("info", "--log-level"),
    ) -> None:
        """Serve the REST API (/v1/..., OpenAPI at /openapi.json). The admin key comes from OUTCROP_ADMIN_KEY."""
        try:
            from outcrop.server import ServerConfig, create_app
            from outcrop.server.http import serve as run
        except ImportError as exc:
            raise server_imports_error(exc) from None
        config = ServerConfig.from_env(
            memory=memory_config(settings(ctx), db),
            keys_path=keys,
            max_body_bytes=max_body_bytes,
            threads=threads,
            read_timeout_s=read_timeout,
            keep_alive_s=keep_alive,
        ).for_workers(workers)
        run(create_app(config), config, host=host, port=port, log_level=log_level, workers=workers)
