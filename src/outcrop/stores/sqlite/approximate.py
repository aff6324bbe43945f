"""When a scope's dense search goes through its approximate index, and how that index follows the file.

A user scope of at least ``min_vectors`` live vectors gets a :class:`~outcrop.stores.sqlite.ann.ScopeAnn`
beside its exact matrix: loaded from its file beside the database (``<db>.ann/``) when one fits
the scope's vector space and epoch, built from the matrix otherwise. It follows the same deltas
as the matrix: rows appended to the matrix are added as nodes; removed rows are dead nodes (their
labels no longer name a live row). Once a quarter of the nodes are dead, or the file is behind by
more than :data:`_SAVE_EVERY` nodes (or a twentieth of them), the index is rebuilt or saved.

A search over the selection (agent, session, filters) asks the index for candidates, over-fetching
by the share of the scope the selection keeps, scores them exactly against the matrix and keeps
the best ``k`` the selection holds. A selection smaller than ``min_vectors`` (a selective filter),
or one that would need a quarter of the index as candidates, is searched exactly instead, as is
any search whose candidates yield fewer than ``k`` of its rows after two widenings.
"""

from __future__ import annotations

import hashlib
import logging
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from outcrop.stores.sqlite.ann import ScopeAnn, available
from outcrop.stores.sqlite.matrix import ScopeMatrix, Selection

__all__ = ["DEFAULT_ANN_MIN_VECTORS", "AnnSettings", "Approximate"]

log = logging.getLogger(__name__)

DEFAULT_ANN_MIN_VECTORS = 20_000
_SAVE_EVERY = 4096


@dataclass(frozen=True)
class AnnSettings:
    """``min_vectors``: live vectors from which a scope's dense search is approximate (0: never);
    ``ef_search``: HNSW's search breadth; ``candidates``: rows proposed before exact scoring."""

    min_vectors: int = DEFAULT_ANN_MIN_VECTORS
    ef_search: int = 256
    candidates: int = 100


class Approximate:
    """The approximate indexes of one store's scopes (kept on their matrices); see the module docstring.
    Called under the store's lock."""

    def __init__(self, settings: AnnSettings, directory: Path | None) -> None:
        self.settings = settings
        self.directory = directory
        self.enabled = settings.min_vectors > 0 and available()
        if settings.min_vectors > 0 and not self.enabled:
            log.warning("faiss is not installed (the 'ann' extra): large scopes are searched exactly")

    def path(self, space: str, part: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{hashlib.sha1(space.encode()).hexdigest()[:12]}-{part}.hnsw"

    def refresh(self, matrix: ScopeMatrix, space: str, part: str) -> None:
        """Bring ``matrix.ann`` up to date with the matrix (build, load, extend, rebuild, save), or drop it."""
        if not self.enabled or len(matrix) < self.settings.min_vectors:
            matrix.ann = None
            return
        path = self.path(space, part)
        header = {"space": space, "dim": matrix.dim, "epoch": matrix.epoch}
        ann = matrix.ann if matrix.ann is not None and matrix.ann.epoch == matrix.epoch else None
        if ann is None and path is not None:
            ann = self._load(path, header, matrix)
        if ann is not None:
            vectors, labels = matrix.rows_after(int(ann.labels.max(initial=0)))
            ann.add(vectors, labels)
        if ann is None or (len(ann) - len(matrix)) * 4 > len(ann):  # none yet, or a quarter of it dead
            vectors, labels = matrix.live_rows()
            ann = ScopeAnn.build(vectors, labels, matrix.epoch)
        matrix.ann = ann
        if path is not None and len(ann) - ann.saved_nodes >= min(_SAVE_EVERY, max(1, len(ann) // 20)):
            try:
                ann.save(path, {"space": space, "dim": matrix.dim})
            except (OSError, RuntimeError) as exc:  # a read-only directory: the index lives in memory only
                log.warning("cannot save the approximate index %s: %s", path, exc)

    @staticmethod
    def _load(path: Path, header: dict[str, object], matrix: ScopeMatrix) -> ScopeAnn | None:
        try:
            ann = ScopeAnn.load(path, header, matrix.vectors_of)
        except (OSError, ValueError, KeyError, RuntimeError, struct.error) as exc:
            log.warning("rebuilding the approximate index %s: %s", path, exc)
            return None
        if ann is not None and ann.labels.size and int(ann.labels.max()) > matrix.last_rowid:
            return None  # saved by a process that had seen more than this matrix: build afresh
        return ann

    def search(
        self, matrix: ScopeMatrix, selection: Selection, query: npt.NDArray[np.float32], k: int
    ) -> list[tuple[str, float]] | None:
        """The selection's best ``k`` through the index, or None when it should be searched exactly."""
        ann = matrix.ann
        kept = int(selection.rows.size)
        if ann is None or k <= 0 or kept < self.settings.min_vectors:
            return None
        want = math.ceil(max(k, self.settings.candidates) * len(matrix) / kept)
        for _ in range(3):
            if want > len(ann) // 4:
                return None
            rows = matrix.rows_of(ann.candidates(query, want, self.settings.ef_search))
            found = selection.among(rows, query, k)
            if len(found) >= min(k, kept):
                return found
            want *= 4
        return None
