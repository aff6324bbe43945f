"""A user's postings of a query's terms in memory, and BM25's top-k over them in numpy.

FTS5's ``bm25()`` scores every row its ``MATCH`` finds, ~1.2 µs a row: a 100k-document user's
search holds names and months found in 8-15k of its documents each, and costs ~45 ms a call.
Here a term's postings of one field in one user's key range (document keys, the term's
occurrences) are read once from the postings kept on write (the term's packs of the user,
:mod:`~outcrop.stores.sqlite.packs`, and the tail of rows written since the last fold: no Python
row per posting), or for a phrase from FTS5's matches in the range (the rows'
text tokenised again, :meth:`~outcrop.stores.sqlite.tokens.FTS5Tokens.occurrences`), with each
document's length from the user's lengths (``lexical_docs``, read once), kept in a cache bounded
by bytes, and scored with numpy: ~1-5 ms a call.

**The same bits.** :func:`top` computes each posting's part with FTS5's operations in FTS5's
order (``idf * ((f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)))``, elementwise IEEE
doubles: numpy's ufuncs round each operation as C does, and fuse none) and adds a document's
parts term after term in the query's order, from 0.0, as ``bm25()`` does (its parts of absent
terms are 0.0, which adds nothing). Ties at the cut go to the older item (the smaller key: a
user's keys are its item rowids under one prefix).

**Never stale.** An entry is kept with its user's lexical version (``lexical_users.version``,
moved by every write of that user's documents in the write's transaction) and used as held only
while the version read in the search's snapshot is the same. Each write also journals the
documents it touched under the version it moved to (``lexical_changes``, the user's last
versions): an entry read at an older version is patched at its next use (its rows of those
documents dropped, their current rows and lengths read by key), and read again whole only where
the journal does not reach back to it or names too many documents.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from outcrop.stores.sqlite.bm25 import K1, B

__all__ = ["FieldPostings", "Lengths", "PostingsCache", "cut", "numbers", "patched", "sums", "top"]

_DENSE = 1 << 22  # a span of keys up to which scores are summed in one dense array (32 MiB at most)
_SPARSE = 8  # ... if it holds at most this many keys per posting (else zeroing and scanning it costs more)

Key = tuple[str, int, str]  # (tenant, user's number, what: a term's or a phrase's field, or its lengths)


def numbers(text: str | None, columns: int) -> npt.NDArray[np.int64]:
    """Rows of ``columns`` integers from SQL's ``group_concat`` of them, comma-separated (parsed in
    C: a Python tuple per row would cost more than FTS5 scoring it)."""
    if not text:
        return np.empty((0, columns), dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, columns)


def patched(
    keys: npt.NDArray[np.int64],
    columns: Sequence[npt.NDArray[Any]],
    changed: npt.NDArray[np.int64],
    fresh: npt.NDArray[np.int64],
    values: Sequence[npt.NDArray[Any]],
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[Any]]]:
    """Sorted ``keys`` with their ``columns``, the rows of keys ``changed`` (sorted) dropped and the
    rows ``fresh`` (sorted, among ``changed``) with their ``values`` put in their places: a few
    copies of the arrays, no sort of them."""
    at = np.searchsorted(keys, changed)
    hit = at < len(keys)
    hit[hit] = keys[at[hit]] == changed[hit]
    gone = at[hit]
    if not len(gone) and not len(fresh):  # the changed documents hold none of these rows
        return keys, list(columns)
    keys = np.delete(keys, gone)
    columns = [np.delete(c, gone) for c in columns]
    places = np.searchsorted(keys, fresh)
    return np.insert(keys, places, fresh), [np.insert(c, places, v) for c, v in zip(columns, values, strict=True)]


@dataclass(frozen=True)
class Lengths:
    """A user's documents (keys, in order) and their lengths per field (own text; context, 0
    where there is none)."""

    keys: npt.NDArray[np.int64]
    own: npt.NDArray[np.int32]
    ctx: npt.NDArray[np.int32]

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.own.nbytes + self.ctx.nbytes)

    def postings(self, field: int, keys: npt.NDArray[np.int64], freq: npt.NDArray[np.int64]) -> FieldPostings | None:
        """A field's postings of documents ``keys`` (in order) with occurrences ``freq``; None if a
        document has no length kept."""
        at = np.minimum(np.searchsorted(self.keys, keys), max(len(self.keys) - 1, 0))
        if len(keys) and (not len(self.keys) or not np.array_equal(self.keys[at], keys)):
            return None
        length = (self.own, self.ctx)[field][at] if len(keys) else np.empty(0, np.int32)
        return FieldPostings(keys, freq.astype(np.int32), length.astype(np.int32))


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


Held = FieldPostings | Lengths


class PostingsCache:
    """Least recently used :class:`FieldPostings` (and users' :class:`Lengths`) by (tenant, user
    number, what), each with the user's lexical version when read; bounded by the bytes their
    arrays hold. Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, tuple[int, Held]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._total

    def get(self, key: Key, version: int) -> Held | None:
        """The entry read at ``version``, or None (none, or read at another version)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def entry(self, key: Key) -> tuple[int, Held] | None:
        """The entry with the version it was read at, whatever that is (None: none held)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Key, version: int, postings: Held) -> None:
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


def top(
    terms: Sequence[tuple[FieldPostings, float]],
    avgdl: float,
    depth: int | None,
    allowed: npt.NDArray[np.int64] | None = None,
) -> list[tuple[int, float]]:
    """(document key, BM25) of the documents holding any of ``terms`` (each a field's postings
    and its IDF, in the query's order), best first, ties to the smaller key; the first ``depth``
    (None: all), of the keys ``allowed`` only when given (sorted). The scores are FTS5's
    ``bm25()``'s to the bit (module docstring)."""
    keys, scores = sums(terms, avgdl)
    if allowed is not None:
        kept = np.isin(keys, allowed, assume_unique=True)
        keys, scores = keys[kept], scores[kept]
    return cut(keys, scores, depth)


def sums(
    terms: Sequence[tuple[FieldPostings, float]], avgdl: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The keys (ascending) of the documents holding any of ``terms`` and each one's BM25."""
    present = [(p, w) for p, w in terms if len(p.keys)]
    if not present:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    k1 = K1 + 1.0
    parts = []
    for p, w in present:
        f, length = p.freq.astype(np.float64), p.length.astype(np.float64)  # exact: integers under 2**31
        parts.append(w * ((f * k1) / (f + K1 * (1.0 - B + B * length / avgdl))))
    low = min(int(p.keys[0]) for p, _ in present)
    span = max(int(p.keys[-1]) for p, _ in present) - low + 1
    if span <= min(_DENSE, _SPARSE * sum(len(p.keys) for p, _ in present)):
        dense = np.zeros(span, dtype=np.float64)
        for (p, _), part in zip(present, parts, strict=True):
            dense[p.keys - low] += part  # a term's keys are distinct: one addition per document, in term order
        found = np.flatnonzero(dense)  # every part is > 0 (idf >= 1e-6, f >= 1)
        return found + low, dense[found]
    keys, inverse = np.unique(np.concatenate([p.keys for p, _ in present]), return_inverse=True)
    scores = np.zeros(len(keys), dtype=np.float64)
    np.add.at(scores, inverse, np.concatenate(parts))  # in array order: each document's parts in term order
    return keys, scores


def cut(keys: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], depth: int | None) -> list[tuple[int, float]]:
    """(key, score) best first, ties to the smaller key: the first ``depth`` (None: all)."""
    if depth is not None and len(scores) > depth:
        if depth <= 0:
            return []
        at = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        kept = scores >= at
        keys, scores = keys[kept], scores[kept]
    order = np.lexsort((keys, -scores))
    if depth is not None:
        order = order[:depth]
    return [(int(k), float(s)) for k, s in zip(keys[order], scores[order], strict=True)]
