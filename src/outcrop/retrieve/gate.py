"""The confidence gate: did the fast path find something that answers the query?

The estimate combines three signals, each in [0, 1]:

* agreement: the top hit is ranked high by both the lexical and the dense channel;
* coverage: the share of the query's content terms present in the top hits' texts;
* attribution: when the query names one participant, the share of top hits that are theirs
  (a question about Melanie answered only by Caroline's turns is likely a trap).

Low confidence makes the pipeline widen (deeper candidate lists); ``answerable`` is the estimate
against a threshold, so an agent can say "I don't know" instead of guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from outcrop.core.text import content_terms
from outcrop.core.types import Hit
from outcrop.retrieve.query import QueryAnalysis

__all__ = ["Confidence", "estimate_confidence"]

_TOP = 5


@dataclass(frozen=True)
class Confidence:
    score: float
    agreement: float
    coverage: float
    attribution: float

    def explain(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in vars(self).items()}


def estimate_confidence(analysis: QueryAnalysis, hits: Sequence[Hit]) -> Confidence:
    if not hits:
        return Confidence(0.0, 0.0, 0.0, 0.0)
    top = hits[:_TOP]
    channels = top[0].explain.get("channels", {})
    ranks = [channels[c]["rank"] for c in ("bm25", "dense") if c in channels]
    agreement = sum(1.0 / (1 + (r - 1) / 3) for r in ranks) / 2
    terms = set(analysis.terms) - {s.lower() for s in analysis.speakers}
    present = set()
    for hit in top:
        present.update(content_terms(hit.text))
    coverage = len(terms & present) / len(terms) if terms else 1.0
    attribution = 1.0
    if len(analysis.speakers) == 1:
        named = analysis.speakers[0]
        spoken = [h for h in top if h.speaker]
        if spoken:
            attribution = sum(1 for h in spoken if h.speaker == named) / len(spoken)
    score = 0.35 * agreement + 0.4 * coverage + 0.25 * attribution
    return Confidence(score, agreement, coverage, attribution)
