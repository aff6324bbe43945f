"""A slot's values over time, with sources, and the as-of view of a set of items."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from outcrop.core.types import Hit, Item
from outcrop.truth.slots import SlotValue, resolve, visible_at

__all__ = ["apply_truth", "timeline"]


def timeline(
    items: Iterable[Item], subject: str, attribute: str | None = None, as_of: datetime | None = None
) -> list[SlotValue]:
    """Every value of ``subject``'s slots (one ``attribute``, or all), oldest first."""
    want_subject = subject.casefold()
    want_attribute = attribute.casefold() if attribute is not None else None
    out: list[SlotValue] = []
    for (s, a), values in sorted(resolve(items, as_of).items()):
        if s == want_subject and (want_attribute is None or a == want_attribute):
            out.extend(values)
    return out


def apply_truth(
    hits: Sequence[Hit], facts: Iterable[Item], as_of: datetime | None = None, demote: float = 0.0
) -> list[Hit]:
    """Drop (``demote`` 0) or scale down hits whose slot value was superseded at ``as_of``, and
    hits recorded after ``as_of``; each kept hit's explain says which fact superseded it.

    The order of ``hits`` is kept (it need not follow the scores: a context's reserved places and a
    reranker's order do not); a demoted hit moves down past the later hits that outscore it now
    and did not before (for score-ordered hits: to where its new score sorts)."""
    pool = list(facts)
    recorded = {f.id: f for f in pool}
    superseded = {v.fact_id: v for values in resolve(pool, as_of).values() for v in values if v.superseded_by}
    out: list[Hit] = []
    demoted: list[tuple[int, float]] = []  # place in ``out``, score before demotion
    for hit in hits:
        item = recorded.get(hit.id)
        if item is not None and not visible_at(item, as_of):
            continue
        value = superseded.get(hit.id)
        if value is None:
            out.append(hit)
            continue
        if demote <= 0.0:
            continue
        explain = dict(hit.explain)
        explain["superseded_by"] = value.superseded_by
        explain["valid_to"] = value.valid_to.isoformat() if value.valid_to else None
        if demote < 1.0:
            demoted.append((len(out), hit.score))
        out.append(hit.model_copy(update={"score": hit.score * demote, "explain": explain}))
    for place, before in reversed(demoted):
        _sink(out, place, before)
    return out


def _sink(hits: list[Hit], place: int, before: float) -> None:
    """Move ``hits[place]``, demoted from score ``before``, down past the later hits it outranked
    only by that score (those scoring between its new score and ``before``); hits that outscore
    it anyway were placed below it on purpose (a reserved place, a reranker) and stay below."""
    hit = hits.pop(place)
    passed = [i for i in range(place, len(hits)) if hit.score < hits[i].score <= before]
    hits.insert(passed[-1] + 1 if passed else place, hit)
