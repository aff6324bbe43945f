"""A least-recently-used cache of scope matrices, bounded by the bytes they hold.

The owner serialises calls (the store's lock). An entry larger than the whole budget is never
kept: the search that loaded it uses it and lets it go.
"""

from __future__ import annotations

from collections import OrderedDict

from outcrop.stores.sqlite.matrix import ScopeMatrix

__all__ = ["ScopeCache"]

Key = tuple[str, str]  # (vector space name, scope partition)


class ScopeCache:
    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, ScopeMatrix] = OrderedDict()
        self._sizes: dict[Key, int] = {}
        self._total = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        """Bytes held by the entries kept (as measured when each was last stored)."""
        return self._total

    def get(self, key: Key) -> ScopeMatrix | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Key, entry: ScopeMatrix) -> None:
        """Keep ``entry`` as the most recent (measured now), evicting the least recent beyond the budget."""
        self.discard(key)
        size = entry.nbytes
        if size > self.max_bytes:
            return
        self._entries[key] = entry
        self._sizes[key] = size
        self._total += size
        while self._total > self.max_bytes:
            self.discard(next(iter(self._entries)))

    def discard(self, key: Key) -> None:
        if self._entries.pop(key, None) is not None:
            self._total -= self._sizes.pop(key)

    def discard_space(self, keep: str) -> None:
        """Drop every entry of a vector space other than ``keep``."""
        for key in [k for k in self._entries if k[0] != keep]:
            self.discard(key)
