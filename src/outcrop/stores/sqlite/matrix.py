"""Exact in-memory cosine search over one user scope's vectors in one vector space.

A :class:`ScopeMatrix` holds the float32 rows of one (tenant, user) scope in the order the file
stored them (vector rowid order, which breaks score ties as the store always has). It follows the
file by deltas: rows appended (new vectors), rows marked dead (deleted or replaced vectors, by
item rowid), compacted once a quarter of them are dead. Agent and session are kept as integer
codes so narrowing to them costs a vectorised compare.

Searches may run outside the owner's lock on what :meth:`ScopeMatrix.select` returned: appends
write past the rows a selection covers, and growth and compaction build new arrays, so a
selection never sees a half-written row.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from outcrop.stores.sqlite.ann import ScopeAnn

__all__ = ["ScopeMatrix", "Selection", "VectorRow", "top_k"]

VectorRow = tuple[int, int, str, Any, Any, bytes]  # vector rowid, item rowid, item id, agent, session, float32 blob

_CODED = 2  # agent_id, session_id


_GROW_ROWS = 1024  # the least a full matrix grows by
_SPARE_FROM = 8192  # rows from which a scope is loaded with room to grow (below, growing copies < 13 MB)


def top_k(scores: npt.NDArray[np.float32], order: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.intp]:
    """Indexes of the ``k`` best ``scores``, best first; ties go to the smaller ``order``."""
    top = np.argpartition(-scores, k)[:k] if k < scores.size else np.arange(scores.size)
    return top[np.lexsort((order[top], -scores[top]))]


@dataclass(frozen=True)
class Selection:
    """The rows of one search, fixed under the lock: the matrix, the rows kept, their ids."""

    matrix: npt.NDArray[np.float32]
    rows: npt.NDArray[np.intp]
    item_ids: list[str]
    size: int
    keep: npt.NDArray[np.bool_]  # over the first ``size`` rows: which ``rows`` holds

    def search(self, query: npt.NDArray[np.float32], k: int) -> list[tuple[str, float]]:
        rows = self.rows
        if rows.size == 0 or k <= 0:
            return []
        q = query.astype(np.float32)
        # a narrow selection gathers its rows rather than scoring the whole scope
        scores = (self.matrix[: self.size] @ q)[rows] if rows.size > self.size // 4 else self.matrix[rows] @ q
        return [(self.item_ids[rows[i]], float(scores[i])) for i in top_k(scores, rows, k)]

    def among(
        self, candidates: npt.NDArray[np.intp], query: npt.NDArray[np.float32], k: int
    ) -> list[tuple[str, float]]:
        """The best ``k`` of the candidate rows that this selection keeps, scored exactly (as
        :meth:`search` scores them, ties to the older row)."""
        rows = np.unique(candidates[(candidates >= 0) & (candidates < self.size)])
        rows = rows[self.keep[rows]]
        if rows.size == 0 or k <= 0:
            return []
        scores = self.matrix[rows] @ query.astype(np.float32)
        return [(self.item_ids[rows[i]], float(scores[i])) for i in top_k(scores, rows, k)]


class ScopeMatrix:
    """One scope's vectors; see the module docstring. ``version``, ``epoch``, ``last_rowid`` and
    ``last_removal`` say which state of the file it reflects (its owner keeps them)."""

    def __init__(self, dim: int, epoch: str) -> None:
        self.dim = dim
        self.epoch = epoch
        self.version = 0
        self.last_rowid = 0
        self.last_removal = 0
        self._size = 0
        self._dead = 0
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._item_rowids = np.zeros(0, dtype=np.int64)
        self._vec_rowids = np.zeros(0, dtype=np.int64)  # ascending: rows are in vector rowid order
        self._codes = np.zeros((0, _CODED), dtype=np.int32)
        self._live = np.zeros(0, dtype=bool)
        self._code_maps: list[dict[Any, int]] = [{} for _ in range(_CODED)]
        self._item_ids: list[str] = []
        self._id_bytes = 0
        self.ann: ScopeAnn | None = None  # the scope's approximate index, once it is large (its owner keeps it)

    def __len__(self) -> int:
        """Live rows."""
        return self._size - self._dead

    @property
    def nbytes(self) -> int:
        """Memory held: the arrays (with their spare capacity), the ids and the code tables."""
        arrays = self._matrix.nbytes + self._item_rowids.nbytes + self._codes.nbytes + self._live.nbytes
        arrays += self._vec_rowids.nbytes
        ids = self._id_bytes + sys.getsizeof(self._item_ids)
        codes = sum(sys.getsizeof(m) for m in self._code_maps)
        return arrays + ids + codes + (self.ann.nbytes if self.ann is not None else 0)

    # -- following the file ------------------------------------------------------------------
    def append(self, rows: Sequence[VectorRow]) -> None:
        """Rows with vector rowids above :attr:`last_rowid`, in rowid order."""
        if not rows:
            return
        n, start = len(rows), self._size
        self.reserve(start + n)
        self._matrix[start : start + n] = np.frombuffer(b"".join(r[5] for r in rows), dtype=np.float32).reshape(
            n, self.dim
        )
        self._item_rowids[start : start + n] = [r[1] for r in rows]
        self._vec_rowids[start : start + n] = [r[0] for r in rows]
        self._codes[start : start + n] = [[self._code(0, r[3]), self._code(1, r[4])] for r in rows]
        self._live[start : start + n] = True
        ids = [r[2] for r in rows]
        self._id_bytes += sum(sys.getsizeof(i) for i in ids)
        self._item_ids.extend(ids)
        self._size += n
        self.last_rowid = rows[-1][0]

    def remove(self, item_rowids: Sequence[int]) -> None:
        """Mark the rows of these items dead (their vectors were deleted or replaced)."""
        if not item_rowids or self._size == 0:
            return
        n = self._size
        hit = np.flatnonzero(np.isin(self._item_rowids[:n], np.asarray(item_rowids, dtype=np.int64)) & self._live[:n])
        self._live[hit] = False
        self._dead += int(hit.size)
        if self._dead * 4 > n:
            self._compact()

    def reserve(self, needed: int, *, spare: bool = False) -> None:
        """Room for ``needed`` rows: when appends outgrow it, by an eighth (at least 1,024 rows),
        so that a large scope does not take half its size again for one turn written (a 100k-row
        matrix grew by 77 MB, 1.7 s of copying and page faults under load, at the first search
        after a delete re-derived a fact). A large scope being loaded (``spare``, from
        :data:`_SPARE_FROM` rows) gets an eighth more than its rows at once: the pages past its
        rows stay unwritten (address space, no memory; the cache counts them all the same)
        until rows are appended, where growing it copied the whole matrix at the first vector
        written after the load (a 100k-row scope: 154 MB, 0.55 s at the search after a delete,
        whose episode's vector is new). Rows past the size are never read, so the new matrix is
        not zeroed."""
        capacity = len(self._item_rowids)
        if needed <= capacity:
            return
        if capacity:
            capacity = max(needed, capacity + max(_GROW_ROWS, capacity // 8))
        else:
            capacity = needed + (needed // 8 if spare and needed >= _SPARE_FROM else 0)
        n = self._size
        matrix = np.empty((capacity, self.dim), dtype=np.float32)
        matrix[:n] = self._matrix[:n]
        item_rowids = np.zeros(capacity, dtype=np.int64)
        item_rowids[:n] = self._item_rowids[:n]
        vec_rowids = np.zeros(capacity, dtype=np.int64)
        vec_rowids[:n] = self._vec_rowids[:n]
        self._vec_rowids = vec_rowids
        codes = np.zeros((capacity, _CODED), dtype=np.int32)
        codes[:n] = self._codes[:n]
        live = np.zeros(capacity, dtype=bool)
        live[:n] = self._live[:n]
        self._matrix, self._item_rowids, self._codes, self._live = matrix, item_rowids, codes, live

    def _compact(self) -> None:
        """Keep the live rows only, in new arrays of exactly their size."""
        keep = np.flatnonzero(self._live[: self._size])
        self._matrix = self._matrix[keep].copy()
        self._item_rowids = self._item_rowids[keep].copy()
        self._vec_rowids = self._vec_rowids[keep].copy()
        self._codes = self._codes[keep].copy()
        self._live = np.ones(keep.size, dtype=bool)
        self._item_ids = [self._item_ids[i] for i in keep]
        self._id_bytes = sum(sys.getsizeof(i) for i in self._item_ids)
        self._size, self._dead = int(keep.size), 0

    def _code(self, column: int, value: Any) -> int:
        codes = self._code_maps[column]
        if value not in codes:
            codes[value] = len(codes)
        return codes[value]

    # -- searching --------------------------------------------------------------------------
    def select(
        self, agent_id: str | None, session_id: str | None, allowed_rowids: npt.NDArray[np.int64] | None
    ) -> Selection:
        """The live rows of the agent and session (any when None), among ``allowed_rowids`` when given."""
        n = self._size
        keep = self._live[:n].copy()
        for column, value in enumerate((agent_id, session_id)):
            if value is None:
                continue
            code = self._code_maps[column].get(value)
            if code is None:
                keep[:] = False
                break
            keep &= self._codes[:n, column] == code
        if allowed_rowids is not None:
            keep &= np.isin(self._item_rowids[:n], allowed_rowids)
        return Selection(self._matrix, np.flatnonzero(keep), self._item_ids, n, keep)

    # -- for the approximate index -------------------------------------------------------------
    def live_rows(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The live rows' vectors and vector rowids, in rowid order (copies)."""
        keep = np.flatnonzero(self._live[: self._size])
        return self._matrix[keep], self._vec_rowids[keep]

    def rows_after(self, vec_rowid: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
        """The live rows with vector rowids above ``vec_rowid`` (copies)."""
        n = self._size
        start = int(np.searchsorted(self._vec_rowids[:n], vec_rowid, side="right"))
        keep = start + np.flatnonzero(self._live[start:n])
        return self._matrix[keep], self._vec_rowids[keep]

    def rows_of(self, vec_rowids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """The live row holding each vector rowid, or -1."""
        n = self._size
        if n == 0:
            return np.full(len(vec_rowids), -1, dtype=np.intp)
        at = np.minimum(np.searchsorted(self._vec_rowids[:n], vec_rowids), n - 1)
        hit = (self._vec_rowids[at] == vec_rowids) & self._live[at]
        return np.where(hit, at, -1).astype(np.intp)

    def vectors_of(self, vec_rowids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """The vectors of these rowids (zeros where not live) and which are live."""
        rows = self.rows_of(vec_rowids)
        live = rows >= 0
        out = np.zeros((len(vec_rowids), self.dim), dtype=np.float32)
        out[live] = self._matrix[rows[live]]
        return out, live
