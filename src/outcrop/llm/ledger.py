"""A token and cost ledger: one entry per LLM call, and running totals per purpose."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Ledger", "LedgerEntry"]


@dataclass(frozen=True)
class LedgerEntry:
    purpose: str  # the prompt id or use: "facts@4", "answer@2", "judge.strict@1", ...
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_ms: float = 0.0
    retries: int = 0
    ok: bool = True
    error: str | None = None
    item: str | None = None  # the item the call was about (a turn id, a session), when one
    call: bool = True  # False: not a request but a reply rejected after its repair round


_TOTALS = ("calls", "failed", "rejected", "retries", "prompt_tokens", "completion_tokens", "cost", "latency_ms")


class Ledger:
    """Thread-safe. Keeps totals for every call and the last ``keep`` entries in full."""

    def __init__(self, keep: int = 2000) -> None:
        self._lock = threading.Lock()
        self.entries: deque[LedgerEntry] = deque(maxlen=keep)
        self._totals: dict[str, dict[str, float]] = {}

    def record(self, entry: LedgerEntry) -> None:
        with self._lock:
            self.entries.append(entry)
            for key in ("*", entry.purpose):
                row = self._totals.setdefault(key, dict.fromkeys(_TOTALS, 0.0))
                if not entry.call:
                    row["rejected"] += 1
                    continue
                row["calls"] += 1
                row["failed"] += 0 if entry.ok else 1
                row["retries"] += entry.retries
                row["prompt_tokens"] += entry.prompt_tokens
                row["completion_tokens"] += entry.completion_tokens
                row["cost"] += entry.cost
                row["latency_ms"] += entry.latency_ms

    def totals(self, purpose: str = "*") -> dict[str, float]:
        with self._lock:
            return dict(self._totals.get(purpose, dict.fromkeys(_TOTALS, 0.0)))

    def summary(self) -> dict[str, Any]:
        """Totals overall and per purpose (tokens, cost in USD, latency in ms), plus recent errors."""
        with self._lock:
            totals = {k: dict(v) for k, v in self._totals.items()}
            errors = [asdict(e) for e in self.entries if not e.ok][-20:]

        def shape(row: dict[str, float]) -> dict[str, Any]:
            out: dict[str, Any] = {k: int(v) for k, v in row.items() if k not in ("cost", "latency_ms")}
            out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
            out["cost"] = round(row["cost"], 6)
            out["latency_ms"] = round(row["latency_ms"], 1)
            return out

        overall = shape(totals.pop("*", dict.fromkeys(_TOTALS, 0.0)))
        return {**overall, "by_purpose": {k: shape(v) for k, v in sorted(totals.items())}, "errors": errors}
