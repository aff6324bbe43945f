"""Query term expansion through a static embedding vocabulary (the lexical gap).

41% of LoCoMo's multi-hop evidence turns and 59% of its open-domain ones share no content word with
the question: "pets" against "my pup", "kids" against "the children". For each query term the
nearest words of WordLlama's token space (providers/term_neighbours.py) join the BM25 query at a
weight of ``weight × cosine``, matched against items' own text, as the feedback terms are.

A neighbour is dropped when it is a fragment or a form of a query term (it shares the term's first
first three letters, or is a prefix of it: "reci" for "recipes"; the porter stemmer already matches
"dog" with "dogs"), a stopword, or a term of the query itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from outcrop.core.text import FILLER, STOPWORDS, without_possessive
from outcrop.providers.term_neighbours import TermNeighbours

__all__ = ["expand_terms"]

_MODAL = {"might", "would", "could", "should", "likely", "probably", "may"}


def expand_terms(
    terms: Sequence[str],
    vocabulary: TermNeighbours,
    *,
    neighbours: int,
    floor: float,
    weight: float,
    names: Collection[str] = (),
) -> dict[str, float]:
    """Expansion terms for a query's ``terms``: word → weight (the best cosine over the terms it
    neighbours, times ``weight``). ``names`` (participants, capitalised words) are not expanded."""
    query = {without_possessive(t.lower()) for t in terms}
    skip = {n.lower() for n in names}
    found: dict[str, float] = {}
    for term in sorted(query - skip):
        if len(term) < 3 or not term.isalpha() or term in FILLER or term in _MODAL:
            continue
        for word, cosine in vocabulary.neighbours(term, neighbours, floor):
            if word in query or word in STOPWORDS or word in FILLER or _form_of(word, query):
                continue
            found[word] = max(found.get(word, 0.0), weight * cosine)
    return found


def _form_of(word: str, query: set[str]) -> bool:
    return any(t.startswith(word) or word.startswith(t) or word[:3] == t[:3] for t in query)
