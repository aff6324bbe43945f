"""Lifecycle of a memory: forget with a receipt, rebuild from the log, export and import,
re-index into a new embedding model (DESIGN.md §1)."""

from __future__ import annotations

from outcrop.lifecycle.receipts import ForgetReceipt, Leak, Verification

__all__ = ["ForgetReceipt", "Leak", "Verification"]
