"""Reuse channel rankings and query vectors across the searches of a read-only stretch.

Answering one question often means several searches for the same text: ``search`` and
``context`` at a few budgets, or the same query with channel weights switched off one by one
(the evaluation's baselines). Each of them would run the same BM25 query, embed the same query
and scan the same vectors again. Inside :func:`reuse_reads` a channel's ranking for an identical
request (scope, query, filters, depth) and the vector of an identical query text are computed once
and then served from memory, so every search returns exactly what it would have returned alone.

The reuse is only valid while the store does not change: open it around reads, never across a
write. It is held in a context variable, so another thread (a server handling a write) never
sees it. With ``serving`` off the stretch only records: the next searches are computed in full
and timed honestly, and the ones after them reuse what they found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from outcrop.stores.base import ScoredId

__all__ = ["ReadReuse", "active_reuse", "reuse_reads"]

T = TypeVar("T")


@dataclass
class ReadReuse:
    """What the searches of one read-only stretch computed, by request."""

    serving: bool = True  # False: compute everything afresh, only record the results
    rankings: dict[tuple[int, str], list[ScoredId]] = field(default_factory=dict)
    vectors: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    hits: int = 0  # requests served from memory

    def ranking(self, owner: object, request: Any, compute: Callable[[], list[ScoredId]]) -> list[ScoredId]:
        """``owner``'s (a channel's) ranking for ``request``: served when known, else computed.

        The key is the request's ``repr`` (a frozen dataclass of scope, query analysis, filters
        and depth): two requests that print alike ask the same thing of the same channel."""
        ranking: list[ScoredId] = self._get(self.rankings, (id(owner), repr(request)), compute)
        return list(ranking)

    def vector(self, owner: object, text: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """``owner``'s (an embedder's) vector of a query ``text``: served when known, else computed."""
        return self._get(self.vectors, (id(owner), text), compute)

    def _get(self, table: dict[tuple[int, str], T], key: tuple[int, str], compute: Callable[[], T]) -> T:
        if self.serving and key in table:
            self.hits += 1
            return table[key]
        value = compute()
        table[key] = value
        return value


_active: ContextVar[ReadReuse | None] = ContextVar("outcrop_read_reuse", default=None)


def active_reuse() -> ReadReuse | None:
    """The stretch open in this context, if any."""
    return _active.get()


@contextmanager
def reuse_reads(*, serving: bool = True) -> Iterator[ReadReuse]:
    """Within the block, identical channel requests and query embeddings are computed once.

    The caller guarantees the store is not written meanwhile (by anyone)."""
    reuse = ReadReuse(serving=serving)
    token = _active.set(reuse)
    try:
        yield reuse
    finally:
        _active.reset(token)
