"""Query analysis: content terms, participants named, and the kind of question."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from outcrop.core.text import named_words, query_terms
from outcrop.core.types import Scope
from outcrop.stores.base import Store

__all__ = ["QueryAnalysis", "analyse_query", "asks_about_time", "known_speakers", "question_subject"]

_TEMPORAL = re.compile(
    r"^\s*when\b|\bwhat (date|day|month|year|time)\b|\bhow long\b|\bwhich (year|month|day)\b|\bsince when\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QueryAnalysis:
    text: str
    terms: tuple[str, ...]  # content words for lexical search
    speakers: tuple[str, ...]  # known participants the query names
    temporal: bool  # asks when / how long / what date
    # every participant of the scope, as the search read them once (None: not read; a channel
    # that needs them reads the store)
    known: tuple[str, ...] | None = None
    subject: str | None = None  # the participant the question is about (:func:`question_subject`)
    lists: bool = False  # asks for a list or an aggregate (set by the retriever: retrieve/relations.asks_for_a_list)


def analyse_query(query: str, known_speakers: Iterable[str]) -> QueryAnalysis:
    tokens = named_words(query)
    named = tuple(sorted(s for s in known_speakers if s and s.lower() in tokens))
    return QueryAnalysis(
        text=query,
        terms=tuple(query_terms(query)),
        speakers=named,
        temporal=asks_about_time(query),
        subject=question_subject(query, named),
    )


def asks_about_time(query: str) -> bool:
    """Whether ``query`` asks when, since when, how long, or for a date, day, month or year."""
    return bool(_TEMPORAL.search(query))


def question_subject(query: str, named: Sequence[str]) -> str | None:
    """The participant ``query`` is about: the one it names; of several, the first named when it is
    the sentence's subject ("What did Jon say about Gina's store?", "What encouragement does Nate
    give to Joanna?"), not a possessive ("Caroline's decision") nor one of a pair ("Jon and Gina");
    None when there is no such participant. The search favours what the subject said
    (``retrieval.speaker_boost``); LoCoMo dev, two participants named: R@10 +0.3 and R@1 +0.5 over
    all questions, single-hop +0.6 (docs/decisions.md)."""
    if len(named) <= 1:
        return named[0] if named else None
    places = []
    for name in named:
        found = re.search(rf"\b{re.escape(name)}\b", query, re.IGNORECASE)
        if found is not None:
            places.append((found.start(), found.end(), name))
    if not places:
        return None
    _, end, first = min(places)
    return None if _NOT_SUBJECT_AFTER.match(query, end) else first


# after a name: a possessive ("Gina's store") or a pair ("Jon and Gina"): that name is no subject
_NOT_SUBJECT_AFTER = re.compile(r"['’]s\b|\s*(?:(?:and|or)\b|&)", re.IGNORECASE)


def known_speakers(store: Store, scope: Scope, query: QueryAnalysis) -> tuple[str, ...]:
    """The scope's participants: as the search's analysis read them, else from the store."""
    return query.known if query.known is not None else tuple(store.records.speakers(scope))
