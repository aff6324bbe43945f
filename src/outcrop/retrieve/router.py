"""Resolution routing: which levels a query should draw from, and how much.

Two signals decide (DESIGN.md §4): the kind of question, from its wording, and the shape of the
fine levels' scores. Precise questions ("when did…", "what did X say about…") want facts and
turns; broad ones ("what activities…", "what does X like", "would X…") want the profile, topics
and episodes. When the fine-level scores are flat (no candidate stands out), the query is zoomed
out: coarse levels gain weight.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from outcrop.core.types import Level

__all__ = ["QueryKind", "Route", "asks_about_traits", "asks_for_many", "classify", "is_coarse", "route"]


class QueryKind(StrEnum):
    WHEN = "when"  # a date or duration
    PRECISE = "precise"  # one fact, event or detail
    BROAD = "broad"  # lists, summaries, habits, preferences across time
    INFERENCE = "inference"  # "would X likely…", "is X…": needs traits


_WHEN = re.compile(
    r"^\s*when\b|\bwhat (date|day|month|year|time)\b|\bhow long\b|\bwhich (year|month|day)\b|\bsince when\b|"
    r"\bhow many (days|weeks|months|years)\b",
    re.I,
)
_BROAD = re.compile(
    r"\b(what|which) (kinds?|types?|sorts?) of\b|\bwhat (are|were) (some|all)\b|\b(activities|hobbies|interests|"
    r"things|ways|events|places|books|items|pets|symptoms|instruments|games|sports|artists|bands|countries|cities)\b|"
    r"\bhow many\b|\bin what ways\b|\bwhat does \w+ (like|love|enjoy|do)\b|\bwhat do \w+ and \w+\b|\bboth\b|"
    r"\b(likes?|enjoys?|prefers?|favou?rites?)\b",
    re.I,
)
# an aggregate or list question: "which …", "what has X painted", "what books has X read", "what pets does X have"
_MANY = re.compile(
    r"\bwhich\b|\bwhat (?:has|have|had) \w+(?:'s)? (?:\w+ )?\w+ed\b|"
    r"\bwhat (?:\w+ ){0,2}(?!(?:is|was|has|does|this|its|his|us|yes|always|perhaps)\b)\w{2,}s (?:has|have|had|does|do|did|is|are|was|were)\b|"
    r"\bwhat (?:\w+ )?(?:\w+s) (?:\w+ )?(?:\w+(?:'s)?) (?:has|have|had|does|do|did)\b",
    re.I,
)
_INFERENCE = re.compile(r"^\s*(would|could|might|is it likely|does \w+ seem|what might|how might)\b|\blikely\b", re.I)
# an inference about a person: a modal verb ("would", "might", "could"), "likely", or the person's
# attributes; not "how does X describe Y" (a quote) nor a date
_TRAITS = re.compile(
    r"\b(?:would|could|might|likely|potentially|probably)\b|\bwhat (?:attributes|personality|traits?|kind of person)\b",
    re.I,
)
_QUOTE = re.compile(r"^\s*how (?:does|did|do|would) \w+ describe\b", re.I)

# Level weights per kind: multipliers on the fused score.
_WEIGHTS: dict[QueryKind, dict[Level, float]] = {
    QueryKind.WHEN: {Level.TURN: 1.0, Level.FACT: 1.0, Level.EPISODE: 0.5, Level.TOPIC: 0.4, Level.PROFILE: 0.4},
    QueryKind.PRECISE: {Level.TURN: 1.0, Level.FACT: 1.0, Level.EPISODE: 0.6, Level.TOPIC: 0.6, Level.PROFILE: 0.7},
    QueryKind.BROAD: {Level.TURN: 1.0, Level.FACT: 1.0, Level.EPISODE: 0.9, Level.TOPIC: 1.0, Level.PROFILE: 1.2},
    QueryKind.INFERENCE: {Level.TURN: 1.0, Level.FACT: 1.0, Level.EPISODE: 0.9, Level.TOPIC: 1.0, Level.PROFILE: 1.3},
}
_ZOOM_OUT = {Level.EPISODE: 1.3, Level.TOPIC: 1.3, Level.PROFILE: 1.2}
_COARSE = (Level.EPISODE, Level.TOPIC, Level.PROFILE)


@dataclass(frozen=True)
class Route:
    kind: QueryKind
    weights: dict[Level, float]
    zoomed_out: bool
    peak: float  # top fine score / mean of the next fine scores (1.0 = flat)

    def explain(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "zoomed_out": self.zoomed_out,
            "peak": round(self.peak, 3),
            "weights": {level.value: w for level, w in self.weights.items()},
        }


def classify(query: str) -> QueryKind:
    if _WHEN.search(query):
        return QueryKind.WHEN
    if _INFERENCE.search(query):
        return QueryKind.INFERENCE
    if _BROAD.search(query):
        return QueryKind.BROAD
    return QueryKind.PRECISE


def asks_for_many(query: str) -> bool:
    """Whether ``query`` asks for a list or an aggregate whose parts sit in several turns
    ("Which pets has Audrey adopted?", "What has Melanie painted?", "What activities does Nate
    do?"), not for one fact or a date: the questions a relation view answers."""
    kind = classify(query)
    if kind == QueryKind.WHEN:
        return False
    return kind in (QueryKind.BROAD, QueryKind.INFERENCE) or bool(_MANY.search(query))


def asks_about_traits(query: str) -> bool:
    """Whether ``query`` asks for an inference about someone ("What job might Maria pursue?",
    "Would Melanie prefer a national park or a theme park?", "What attributes describe John?"):
    the questions that a participant's trait views answer (strata/traits.py)."""
    if classify(query) == QueryKind.WHEN or _QUOTE.search(query):
        return False
    return _TRAITS.search(query) is not None


def route(query: str, fine_scores: Sequence[float], flat_below: float = 1.15) -> Route:
    """The level weights for ``query`` given its fine-level (turn and fact) fused scores, best first."""
    kind = classify(query)
    weights = dict(_WEIGHTS[kind])
    peak = 1.0
    if len(fine_scores) >= 2:
        rest = fine_scores[1:10]
        peak = fine_scores[0] / (sum(rest) / len(rest)) if rest and sum(rest) > 0 else 1.0
    zoomed = len(fine_scores) >= 5 and peak < flat_below and kind != QueryKind.WHEN
    if zoomed:
        for level, factor in _ZOOM_OUT.items():
            weights[level] *= factor
    return Route(kind, weights, zoomed, peak)


def is_coarse(level: Level) -> bool:
    return level in _COARSE
