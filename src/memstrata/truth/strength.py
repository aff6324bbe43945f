"""Strength: a forgetting curve over age, access count and importance (not yet wired into ranking).

``retention = exp(-age_days / stability)`` with ``stability = half_life_days / ln 2 *
(1 + access_count) * (0.5 + importance)``: each recall and higher importance slow fading. Items
under ``faded_below`` drop out of default results, but exact-phrase (quoted) and time-bounded
queries still see them; fading never deletes anything. Access counts and importance are read
from item metadata (``access_count``, ``importance`` in [0, 1], default 0.5) since the store does
not yet track reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime

from memstrata.core.types import Hit
from memstrata.retrieve.temporal import parse_window

__all__ = ["apply_strength", "retention", "wants_faded"]

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


def apply_strength(
    hits: Sequence[Hit],
    query: str,
    now: datetime,
    *,
    weight: float = 1.0,
    faded_below: float = 0.05,
    half_life_days: float = 90.0,
) -> list[Hit]:
    """Scale each hit's score by ``retention ** weight`` and drop faded hits unless the query wants them."""
    keep_faded = wants_faded(query)
    out: list[Hit] = []
    for hit in hits:
        if hit.timestamp is None:
            out.append(hit)
            continue
        age = (now - hit.timestamp).total_seconds() / 86400
        meta = hit.metadata
        r = retention(
            age, int(meta.get("access_count", 0) or 0), float(meta.get("importance", 0.5) or 0.5), half_life_days
        )
        if r < faded_below and not keep_faded:
            continue
        explain = dict(hit.explain) | {"strength": round(r, 4)}
        out.append(hit.model_copy(update={"score": hit.score * r**weight, "explain": explain}))
    return sorted(out, key=lambda h: -h.score)
