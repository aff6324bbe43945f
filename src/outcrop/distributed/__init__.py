"""Bulk work over many tenants (or evaluation cases), in this process or as Ray tasks: one task
per tenant, each opening its own store from the configuration, with the single-process results."""

from __future__ import annotations

from outcrop.distributed.runner import connect, run_each

__all__ = ["connect", "run_each"]
