"""Strength: a forgetting curve over age, access count and importance, applied at read time.

``retention = exp(-age_days / stability)`` with ``stability = half_life_days / ln 2 *
(1 + access_count) * (0.5 + importance)``: each recall and higher importance slow fading.
Ranking fuses strength as one more reciprocal-rank list over the candidates (:func:`apply_strength`);
hits under ``faded_below`` drop out of default results, but exact-phrase (quoted) and
time-bounded queries still see them. Fading
never deletes anything: it is computed on every read from the item's time, its recorded
accesses and its ``importance`` (item metadata in [0, 1], default 0.5).

Age is measured on the memory's own clock by default: from the item's time to the newest item in
the scope, so a memory left alone for a year has not forgotten anything when it is next used,
and a replayed conversation fades the way it did while it was lived (``clock="wall"`` measures
to now instead). Accesses are the times an item was returned by ``search`` or ``context``;
:class:`AccessTracker` counts them in memory and writes them to the store in batches (a lost
batch only loses a few counts: they are soft state, not memory content).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from outcrop.core.explain import Explain, StrengthTrace
from outcrop.core.time.clock import now as wall_now
from outcrop.core.time.windows import parse_window
from outcrop.core.types import Hit, Scope
from outcrop.stores.base import Store

__all__ = ["AccessTracker", "apply_strength", "retention", "wants_faded"]

_QUOTED = re.compile(r"[\"“][^\"”]{3,}[\"”]")


def retention(age_days: float, access_count: int = 0, importance: float = 0.5, half_life_days: float = 90.0) -> float:
    """Fraction of strength left after ``age_days``, in (0, 1]."""
    if age_days <= 0:
        return 1.0
    importance = min(1.0, max(0.0, importance))
    stability = half_life_days / math.log(2) * (1 + max(0, access_count)) * (0.5 + importance)
    return math.exp(-age_days / stability)


def wants_faded(query: str) -> bool:
    """Exact-phrase and time-bounded queries reach faded items too."""
    return bool(_QUOTED.search(query)) or parse_window(query) is not None


def _importance(hit: Hit) -> float:
    value = hit.metadata.get("importance", 0.5)
    try:
        return float(value) if value is not None else 0.5
    except (TypeError, ValueError):
        return 0.5


def apply_strength(
    hits: Sequence[Hit],
    query: str,
    now: datetime,
    *,
    accesses: dict[str, int] | None = None,
    weight: float = 1.0,
    faded_below: float = 0.05,
    half_life_days: float = 90.0,
    rrf_k: int = 60,
) -> list[Hit]:
    """Fuse strength into the ranking and drop faded hits unless the query wants them.

    Strength is one more ranked list, in the same reciprocal-rank units as the channels: the
    dated hits ordered by retention, the ``r``-th strongest gaining ``weight / (rrf_k + r)``. So
    it reorders near-ties (as recency does) without letting age outweigh relevance, and a memory
    read often or marked important outranks an equally relevant one nobody used. Hits without a
    time neither gain nor fade. ``accesses`` (item id → times returned) defaults to the
    ``access_count`` in each hit's metadata."""
    keep_faded = wants_faded(query)
    kept: list[tuple[Hit, float | None, int]] = []
    for hit in hits:
        if hit.timestamp is None:
            kept.append((hit, None, 0))
            continue
        age = (now - hit.timestamp).total_seconds() / 86400
        count = accesses.get(hit.id, 0) if accesses is not None else int(hit.metadata.get("access_count", 0) or 0)
        strength = retention(age, count, _importance(hit), half_life_days)
        if strength < faded_below and not keep_faded:
            continue
        kept.append((hit, strength, count))
    order = sorted((entry for entry in kept if entry[1] is not None), key=lambda e: (-(e[1] or 0.0), e[0].id))
    rank_of = {entry[0].id: rank for rank, entry in enumerate(order, start=1)}
    out: list[Hit] = []
    for hit, kept_strength, count in kept:
        if kept_strength is None:
            out.append(hit)
            continue
        trace: StrengthTrace = {"retention": round(kept_strength, 4), "rank": rank_of[hit.id]}
        if count:
            trace["accesses"] = count
        explain: Explain = {**hit.explain, "strength": trace}
        gain = weight / (rrf_k + rank_of[hit.id])
        out.append(hit.rescored(hit.score + gain, explain))
    return sorted(out, key=lambda h: (-h.score, h.id))


class AccessTracker:
    """Counts reads per item in memory and writes them to the store in batches.

    ``counts`` answers with what the store holds plus what is pending, so a read sees every
    access so far; ``flush`` writes the pending counts (called when ``batch`` are pending and on
    close). Safe to share between threads."""

    def __init__(self, store: Store, batch: int = 256) -> None:
        self.store = store
        self.batch = batch
        self._pending: dict[str, Counter[str]] = {}  # tenant -> item id -> reads not yet written
        self._lock = threading.Lock()

    def note(self, tenant: str, ids: Iterable[str]) -> None:
        with self._lock:
            self._pending.setdefault(tenant, Counter()).update(ids)
            due = sum(len(c) for c in self._pending.values()) >= self.batch
        if due:
            self.flush()

    def counts(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        stored = self.store.records.access_counts(scope, ids) if ids else {}
        with self._lock:
            pending = self._pending.get(scope.tenant, Counter())
            return {i: stored.get(i, 0) + pending.get(i, 0) for i in ids if stored.get(i, 0) or pending.get(i, 0)}

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        at = wall_now()
        for tenant, counts in pending.items():
            if counts:
                self.store.records.record_access(tenant, dict(counts), at)
