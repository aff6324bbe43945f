"""Bulk lifecycle commands over many tenants: ``rebuild``, ``import`` and ``reindex`` with
``--tenant``/``--all-tenants`` and ``--ray`` (one tenant per task, :mod:`outcrop.distributed`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer

from outcrop.api.memory import Memory
from outcrop.cli.common import console, print_json
from outcrop.cli.hints import empty_scope_hint
from outcrop.config import MemoryConfig
from outcrop.core.types import Scope
from outcrop.distributed.jobs import open_config_store
from outcrop.distributed.runner import run_each
from outcrop.errors import BulkWorkError, ConfigError, NotFoundError
from outcrop.stores.base import Store

R = TypeVar("R")

TENANTS = typer.Option(None, "--tenant", "-t", help="a tenant to work on (repeat for several)")
ALL_TENANTS = typer.Option(False, "--all-tenants", help="every tenant the store holds")
RAY = typer.Option(
    None,
    "--ray",
    metavar="auto|local|ADDRESS",
    help="one Ray task per tenant: auto (this machine's cluster, or a local one), local, or a cluster address",
)


def chosen_tenants(config: MemoryConfig, tenants: Sequence[str] | None, all_tenants: bool) -> list[str]:
    """The tenants named, every tenant of the store (``--all-tenants``), or the configured one."""
    if all_tenants and tenants:
        raise ConfigError("give --tenant or --all-tenants, not both")
    if not all_tenants and not tenants:
        return [config.tenant]
    store = open_config_store(config)
    try:
        if all_tenants:
            return store.records.tenants()
        named = list(dict.fromkeys(tenants or ()))
        # one tenant at a time: a role under row-level security may read only the tenants it names
        unknown = [name for name in named if not store.records.count(Scope(tenant=name, user_id=None))["log"]]
        if unknown:  # a misspelt tenant would otherwise be "done" with nothing done
            raise NotFoundError(f"the store holds no tenant {', '.join(map(repr, unknown))}{_held(store)}")
        return named
    finally:
        store.close()


def held_scope(memory: Memory, user_id: str | None) -> None:
    """Refuse a lifecycle command over what the store's log does not hold: a user of the memory's
    tenant, or the tenant itself while the store holds others (a misspelt ``OUTCROP_TENANT``
    would otherwise be "done" with nothing done; an empty store is no mistake, and a tenant whose
    turns were all deleted still has its log)."""
    tenant = memory.config.tenant
    if user_id is not None:
        if not memory.store.records.count(Scope(tenant=tenant, user_id=user_id))["log"]:
            raise NotFoundError(empty_scope_hint(memory, user_id) or f"no memories for user {user_id!r}")
        return
    try:
        held = memory.store.records.tenants()
    except ConfigError:  # a role under row-level security cannot tell a misspelt tenant from a new one
        return
    if held and tenant not in held:
        raise NotFoundError(f"the store holds no tenant {tenant!r}{_listed(held)}")


def _held(store: Store) -> str:
    """ " (it holds: a, b, ...)", when this role may list the store's tenants."""
    try:
        return _listed(store.records.tenants())
    except ConfigError:  # PostgreSQL under row-level security, without BYPASSRLS
        return ""


def _listed(held: Sequence[str]) -> str:
    shown = ", ".join(held[:_SHOWN]) + (f" and {len(held) - _SHOWN} more" if len(held) > _SHOWN else "")
    return f" (it holds: {shown or 'none'})"


_SHOWN = 10  # tenants an error names


def run_bulk(
    job: Callable[[str], R],
    tenants: Sequence[str],
    *,
    ray: str | None,
    as_json: bool,
    line: Callable[[R], str],
) -> dict[str, R]:
    """Run ``job`` for each tenant and print one line per tenant (or JSON by tenant); when some
    failed, the others' results are printed before the error is raised."""
    try:
        results = run_each(job, tenants, ray=ray)
    except BulkWorkError as exc:
        _print(exc.results, as_json, line)
        raise
    _print(results, as_json, line)
    return results


def _print(results: dict[str, Any], as_json: bool, line: Callable[[Any], str]) -> None:
    if as_json:
        print_json(results)
        return
    for tenant, result in results.items():
        console.print(f"{tenant}: {line(result)}", highlight=False)
