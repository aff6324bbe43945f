"""``outcrop keys``: create, list and revoke the REST server's API keys, directly in its key
database (on the server's machine; over HTTP the ``/v1/admin`` endpoints do the same)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from outcrop.cli.common import print_json, print_table, settings
from outcrop.cli.serve import DB, KEYS, memory_config, server_imports_error

if TYPE_CHECKING:
    from outcrop.server.keys import SQLiteKeyStore

app = typer.Typer(help="Manage the REST server's tenants and API keys.", no_args_is_help=True)


@contextmanager
def _key_store(ctx: typer.Context, db: str | None, keys: str | None) -> Iterator[SQLiteKeyStore]:
    try:
        from outcrop.server.config import ServerConfig
        from outcrop.server.keys import SQLiteKeyStore
        from outcrop.server.sidecar import SidecarDB
    except ImportError as exc:
        raise server_imports_error(exc) from None
    config = ServerConfig.from_env(memory=memory_config(settings(ctx), db), keys_path=keys)
    sidecar = SidecarDB(config.resolved_keys_path)
    try:
        yield SQLiteKeyStore(sidecar, pepper=config.key_pepper.get_secret_value())
    finally:
        sidecar.close()


def _when(moment: float | None) -> str:
    return "" if moment is None else datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")


@app.command()
def create(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant", help="the tenant the key belongs to (created if new)"),
    name: str | None = typer.Option(None, "--name", help="a label for the key"),
    db: str | None = DB,
    keys: str | None = KEYS,
) -> None:
    """Create an API key for a tenant and print it: it is shown only this once."""
    with _key_store(ctx, db, keys) as store:
        store.create_tenant(tenant)
        key, _ = store.create_key(tenant, name)
    typer.echo(key)


@app.command("list")
def list_keys(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, "--tenant"),
    db: str | None = DB,
    keys: str | None = KEYS,
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List keys (ids and labels, never the keys themselves)."""
    with _key_store(ctx, db, keys) as store:
        found = store.keys(tenant)
    if as_json:
        print_json([vars(k) for k in found])
        return
    print_table(
        ("key id", "tenant", "name", "created", "revoked"),
        ((k.key_id, k.tenant, k.name or "", _when(k.created_at), _when(k.revoked_at)) for k in found),
    )


@app.command()
def revoke(
    ctx: typer.Context,
    key_id: str = typer.Argument(..., help="the key id"),
    db: str | None = DB,
    keys: str | None = KEYS,
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    with _key_store(ctx, db, keys) as store:
        store.revoke(key_id)
    typer.echo(f"revoked {key_id}")
