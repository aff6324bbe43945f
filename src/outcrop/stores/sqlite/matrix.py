"""Exact in-memory cosine search over one vector space, with scope masks.

The matrix is loaded from the store once and then extended incrementally (amortised O(1) per
row: storage grows by doubling); a store bumps an epoch on every delete or replace so readers,
in this process or another, reload in full. Scope columns are kept as integer codes so masking
100k rows costs a few vectorised compares.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["VectorMatrix"]

SCOPE_COLUMNS = ("tenant", "user_id", "agent_id", "session_id")


class VectorMatrix:
    def __init__(self, dim: int, epoch: str | None = None) -> None:
        self.dim = dim
        self.epoch = epoch
        self.last_rowid = 0
        self._size = 0
        self._codes: list[dict[Any, int]] = [{} for _ in SCOPE_COLUMNS]
        self._position: dict[str, int] = {}
        self.item_ids: list[str] = []
        self._item_rowids = np.zeros(16, dtype=np.int64)
        self._scope = np.zeros((16, len(SCOPE_COLUMNS)), dtype=np.int32)
        self._matrix = np.zeros((16, dim), dtype=np.float32)

    def __len__(self) -> int:
        return self._size

    def extend(self, rows: Iterable[tuple[int, int, str, tuple[Any, ...], bytes]]) -> None:
        """Add rows of (vector rowid, item rowid, item id, scope values, float32 blob)."""
        for vec_rowid, item_rowid, item_id, scope_values, blob in rows:
            self.last_rowid = max(self.last_rowid, vec_rowid)
            if self._size == len(self._item_rowids):
                self._grow()
            row = self._size
            self._matrix[row] = np.frombuffer(blob, dtype=np.float32)
            self._item_rowids[row] = item_rowid
            self._scope[row] = [self._code(i, v) for i, v in enumerate(scope_values)]
            self._position[item_id] = row
            self.item_ids.append(item_id)
            self._size += 1

    def _grow(self) -> None:
        capacity = 2 * len(self._item_rowids)
        self._matrix = np.resize(self._matrix, (capacity, self.dim))
        self._item_rowids = np.resize(self._item_rowids, capacity)
        self._scope = np.resize(self._scope, (capacity, len(SCOPE_COLUMNS)))

    def _code(self, column: int, value: Any) -> int:
        codes = self._codes[column]
        if value not in codes:
            codes[value] = len(codes)
        return codes[value]

    def mask(
        self, scope_values: tuple[Any, ...], allowed_rowids: npt.NDArray[np.int64] | None
    ) -> npt.NDArray[np.bool_]:
        """Rows matching every non-None scope value (and in ``allowed_rowids`` when given)."""
        n = self._size
        keep = np.ones(n, dtype=bool)
        for column, value in enumerate(scope_values):
            if value is None:
                continue
            code = self._codes[column].get(value)
            if code is None:
                return np.zeros(n, dtype=bool)
            keep &= self._scope[:n, column] == code
        if allowed_rowids is not None:
            keep &= np.isin(self._item_rowids[:n], allowed_rowids)
        return keep

    def search(self, query: npt.NDArray[np.float32], k: int, keep: npt.NDArray[np.bool_]) -> list[tuple[str, float]]:
        rows = np.flatnonzero(keep)
        if rows.size == 0 or k <= 0:
            return []
        if rows.size > self._size // 4:
            scores = (self._matrix[: self._size] @ query.astype(np.float32))[rows]
        else:  # a small scope: gather its rows rather than scoring the whole matrix
            scores = self._matrix[rows] @ query.astype(np.float32)
        top = np.argpartition(-scores, k)[:k] if k < rows.size else np.arange(rows.size)
        top = top[np.lexsort((rows[top], -scores[top]))]  # score desc, then insertion order
        return [(self.item_ids[rows[i]], float(scores[i])) for i in top]

    def vectors(self, ids: Iterable[str]) -> dict[str, npt.NDArray[np.float32]]:
        return {i: self._matrix[self._position[i]] for i in ids if i in self._position}
