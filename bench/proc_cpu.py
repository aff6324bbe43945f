"""CPU seconds of process trees, read from ``/proc`` (Linux), for the benchmarks that report what a
request costs the server and the database beside their wall-clock figures."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_cpu(roots: set[int]) -> float | None:
    """CPU seconds of the processes ``roots`` and all their descendants, from ``/proc`` (None
    where there is no ``/proc``)."""
    proc = Path("/proc")
    if not roots or not proc.is_dir():
        return None
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)], ticks[int(entry.name)] = int(fields[1]), int(fields[11]) + int(fields[12])
    total = 0
    for pid, used in ticks.items():
        ancestor: int | None = pid
        while ancestor is not None and ancestor not in roots:
            ancestor = parent.get(ancestor) if ancestor > 1 else None
        if ancestor is not None:
            total += used
    return total / TICK
