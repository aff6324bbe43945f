"""``outcrop consolidate --follow``: a long-lived consolidator for a store other processes write.

Every ``interval`` seconds it reads the tenant's adds whose strata are due (the
:class:`~outcrop.stores.base.StrataDue` records a ``strata.mode: deferred`` add, a batch ingest or
a stopped process leaves) and computes them, many adds at once; one line per pass that did
something. It runs until interrupted (Ctrl-C: exit 130). Several consolidators, or one beside a
writer's own worker, are safe: consolidation is idempotent, and a record is dropped only once its
strata are written.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import typer

from outcrop.api.memory import Memory

__all__ = ["follow_due"]


def follow_due(memory: Memory, interval: float) -> None:
    tenant = memory.config.tenant
    typer.echo(f"following {memory.store.url} (tenant {tenant!r}) every {interval:g}s; Ctrl-C stops", err=True)
    while True:
        started = time.monotonic()
        report = memory.engine.drain_due(tenant)
        if report.adds or report.failed:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            took = time.monotonic() - started
            failed = f", {report.failed} failed (kept due)" if report.failed else ""
            typer.echo(f"{stamp} strata of {report.adds} adds ({report.turns} turns) in {took:.1f}s{failed}")
            if report.adds:
                continue  # more may have arrived meanwhile
        time.sleep(interval)
