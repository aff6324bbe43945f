"""Query analysis: content terms, participants named, and the kind of question."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from outcrop.core.text import named_words, query_terms
from outcrop.core.types import Scope
from outcrop.stores.base import Store

__all__ = ["QueryAnalysis", "analyse_query", "known_speakers"]

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


def analyse_query(query: str, known_speakers: Iterable[str]) -> QueryAnalysis:
    tokens = named_words(query)
    named = tuple(sorted(s for s in known_speakers if s and s.lower() in tokens))
    return QueryAnalysis(
        text=query,
        terms=tuple(query_terms(query)),
        speakers=named,
        temporal=bool(_TEMPORAL.search(query)),
    )


def known_speakers(store: Store, scope: Scope, query: QueryAnalysis) -> tuple[str, ...]:
    """The scope's participants: as the search's analysis read them, else from the store."""
    return query.known if query.known is not None else tuple(store.records.speakers(scope))
