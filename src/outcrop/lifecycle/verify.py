"""Prove a forget: search the store for what was forgotten and report anything still found.

*Distinctive* terms and phrases are those of the forgotten content that no surviving turn says
(matched the way BM25 matches: stemmed, own text only); anything else is legitimately still
in memory. Each distinctive term and each exact phrase (a sentence of three or more words) is
then searched lexically over every level of the tenant, own text and neighbour context alike:
any hit is a leak. Provenance is checked too: no surviving item may cite a forgotten id in its
sources, and the forgotten log records and items must not be readable by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from outcrop.core.text import content_terms, split_sentences, words
from outcrop.core.types import Item, Level, Scope
from outcrop.lifecycle.receipts import Leak, Verification
from outcrop.stores.base import SearchFilters, Store

__all__ = ["distinctive", "verify_forgotten"]

_TURNS = SearchFilters(levels=(Level.TURN,))
_CHUNK = 50
_MIN_PHRASE_WORDS = 3


def _candidates(texts: Iterable[str]) -> tuple[list[str], list[str]]:
    terms: dict[str, None] = {}
    phrases: dict[str, None] = {}
    for text in texts:
        terms.update(dict.fromkeys(content_terms(text)))
        for sentence in split_sentences(text):
            tokens = words(sentence)
            if len(tokens) >= _MIN_PHRASE_WORDS:
                phrases[" ".join(tokens)] = None
    return list(terms), list(phrases)


def distinctive(store: Store, tenant: Scope, texts: Iterable[str]) -> tuple[list[str], list[str]]:
    """Terms and phrases of ``texts`` that no turn now stored in ``tenant`` says."""
    terms, phrases = _candidates(texts)
    keep = [t for t in [*terms, *phrases] if not store.lexical.search(tenant, {t: 1.0}, 1, _TURNS)]
    kept = set(keep)
    return [t for t in terms if t in kept], [p for p in phrases if p in kept]


def _hits(store: Store, tenant: Scope, queries: Sequence[str], found_by: str) -> list[Leak]:
    leaks: list[Leak] = []
    for start in range(0, len(queries), _CHUNK):
        chunk = queries[start : start + _CHUNK]
        if not store.lexical.search(tenant, dict.fromkeys(chunk, 1.0), 1, None, context_weight=1.0):
            continue
        for query in chunk:  # something matched: name the culprits
            for item_id, _ in store.lexical.search(tenant, {query: 1.0}, 20, None, context_weight=1.0):
                leaks.append(Leak(item_id=item_id, level="", found_by=found_by, term=query))
    return leaks


def verify_forgotten(
    store: Store,
    tenant: Scope,
    *,
    terms: Sequence[str],
    phrases: Sequence[str],
    log_ids: Sequence[str],
    item_ids: Sequence[str],
    watched: Iterable[Item] = (),
) -> Verification:
    """Search for the forgotten content and ids; ``watched`` are surviving items (recomputed ones)
    whose metadata is checked for forgotten ids as well, and which may carry an erased id again
    when they were derived anew from what remains."""
    forgotten = {*log_ids, *item_ids}
    watched = list(watched)
    leaks = _hits(store, tenant, list(terms), "term") + _hits(store, tenant, list(phrases), "phrase")
    leaks += [
        Leak(item_id=i, level="", found_by="source") for i in store.records.derived_from(tenant, sorted(forgotten))
    ]
    for item in watched:
        if forgotten & _ids_in(item.metadata):
            leaks.append(Leak(item_id=item.id, level=item.level.value, found_by="metadata"))
    levels = {i.id: i.level.value for i in store.records.get_items(tenant, [leak.item_id for leak in leaks]).values()}
    for leak in leaks:
        leak.level = leak.level or levels.get(leak.item_id, "")
    remaining = [r.id for r in store.records.log_records(tenant, ids=list(log_ids), limit=len(log_ids) + 1)]
    # An erased derived item may be derived again under the same id from what remains (a session's
    # episode, once the only turn it quoted is gone): an id is a name, the content is what must go,
    # and the searches above judge the content of every item, these included.
    rederived = {item.id for item in watched if not forgotten & {*item.sources, *_ids_in(item.metadata)}}
    remaining += [i for i in store.records.get_items(tenant, list(item_ids)) if i not in rederived]
    return Verification(
        passed=not leaks and not remaining,
        terms_checked=len(terms),
        phrases_checked=len(phrases),
        leaks=leaks,
        remaining=remaining,
    )


def _ids_in(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_ids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_ids_in(v) for v in value)) if value else set()
    return set()
