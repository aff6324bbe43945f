"""A user's postings of a query's terms in memory, and BM25's top-k over them in numpy.

FTS5's ``bm25()`` scores every row its ``MATCH`` finds, ~1.2 µs a row: a 100k-document user's
search holds names and months found in 8-15k of its documents each, and costs ~45 ms a call.
Here a term's postings in one user's key range (document keys, the term's occurrences per
field, each document's length per field) are read once from the postings kept on write
(``<stem>_terms`` joined to ``lexical_docs``), or for a phrase from FTS5's matches in the range
(the rows' text tokenised again, :meth:`~outcrop.stores.sqlite.tokens.FTS5Tokens.occurrences`),
kept in a cache bounded by bytes, and scored with numpy: ~1-5 ms a call.

**The same bits.** :func:`top` computes each posting's part with FTS5's operations in FTS5's
order (``idf * ((f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)))``, elementwise IEEE
doubles: numpy's ufuncs round each operation as C does, and fuse none) and adds a document's
parts term after term in the query's order, from 0.0, as ``bm25()`` does (its parts of absent
terms are 0.0, which adds nothing). Ties at the cut go to the older item (the smaller key: a
user's keys are its item rowids under one prefix).

**Never stale.** An entry is kept with its user's lexical version (``lexical_users.version``,
moved by every write of that user's documents in the write's transaction) and used only while
the version read in the search's snapshot is the same; a write drops the user's entries at its
next search, which reads them again (the cost of the call before this cache, once).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from outcrop.stores.sqlite.bm25 import K1, B

__all__ = ["FieldPostings", "Postings", "PostingsCache", "top"]

_DENSE = 1 << 22  # a span of keys up to which scores are summed in one dense array (32 MiB at most)

Key = tuple[str, int, str]  # (tenant, user's number, term: its term_key, or a phrase's tokens)


@dataclass(frozen=True)
class FieldPostings:
    """One field's postings of a term in a user's range: the documents holding it (keys, in
    order), its occurrences in each and each one's length in the field."""

    keys: npt.NDArray[np.int64]
    freq: npt.NDArray[np.int32]
    length: npt.NDArray[np.int32]

    @staticmethod
    def of(rows: Sequence[tuple[int, int, int]]) -> FieldPostings:
        """From (key, occurrences, length) rows in key order."""
        if not rows:
            return FieldPostings(np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.int32))
        array = np.array(rows, dtype=np.int64)
        return FieldPostings(array[:, 0].copy(), array[:, 1].astype(np.int32), array[:, 2].astype(np.int32))

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.freq.nbytes + self.length.nbytes)


@dataclass(frozen=True)
class Postings:
    """A term's (or a phrase's) postings in a user's range, per field (own text, context)."""

    fields: tuple[FieldPostings, FieldPostings]

    @property
    def nbytes(self) -> int:
        return sum(f.nbytes for f in self.fields)


class PostingsCache:
    """Least recently used :class:`Postings` by (tenant, user number, term), each with the user's
    lexical version when read; bounded by the bytes their arrays hold. Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, tuple[int, Postings]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._total

    def get(self, key: Key, version: int) -> Postings | None:
        """The entry read at ``version``, or None (none, or read at another version)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Key, version: int, postings: Postings) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= old[1].nbytes
            if postings.nbytes > self.max_bytes:
                return
            self._entries[key] = (version, postings)
            self._total += postings.nbytes
            while self._total > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._total -= dropped.nbytes


def top(terms: Sequence[tuple[FieldPostings, float]], avgdl: float, depth: int | None) -> list[tuple[int, float]]:
    """(document key, BM25) of the documents holding any of ``terms`` (each a field's postings
    and its IDF, in the query's order), best first, ties to the smaller key; the first ``depth``
    (None: all). The scores are FTS5's ``bm25()``'s to the bit (module docstring)."""
    present = [(p, w) for p, w in terms if len(p.keys)]
    if not present:
        return []
    k1 = K1 + 1.0
    parts = []
    for p, w in present:
        f, length = p.freq.astype(np.float64), p.length.astype(np.float64)  # exact: integers under 2**31
        parts.append(w * ((f * k1) / (f + K1 * (1.0 - B + B * length / avgdl))))
    low = min(int(p.keys[0]) for p, _ in present)
    span = max(int(p.keys[-1]) for p, _ in present) - low + 1
    if span <= _DENSE:
        dense = np.zeros(span, dtype=np.float64)
        for (p, _), part in zip(present, parts, strict=True):
            dense[p.keys - low] += part  # a term's keys are distinct: one addition per document, in term order
        found = np.flatnonzero(dense)  # every part is > 0 (idf >= 1e-6, f >= 1)
        keys, scores = found + low, dense[found]
    else:
        keys, inverse = np.unique(np.concatenate([p.keys for p, _ in present]), return_inverse=True)
        scores = np.zeros(len(keys), dtype=np.float64)
        np.add.at(scores, inverse, np.concatenate(parts))  # in array order: each document's parts in term order
    if depth is not None and len(scores) > depth:
        cut = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        kept = scores >= cut
        keys, scores = keys[kept], scores[kept]
    order = np.lexsort((keys, -scores))
    if depth is not None:
        order = order[:depth]
    return [(int(k), float(s)) for k, s in zip(keys[order], scores[order], strict=True)]
