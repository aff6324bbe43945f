"""When a scope's dense search goes through its approximate index, and how that index follows the file.

A user scope of at least ``min_vectors`` live vectors gets a :class:`~outcrop.stores.sqlite.ann.ScopeAnn`
beside its exact matrix: loaded from its file beside the database (``<db>.ann/``) when one fits
the scope's vector space and epoch, built from the matrix otherwise. It follows the same deltas
as the matrix: rows appended to the matrix are added as nodes; removed rows are dead nodes (their
labels no longer name a live row). Once a quarter of the rows it holds are dead, or the file is behind by
more than :data:`_SAVE_EVERY` rows (or a twentieth of them), the index is rebuilt or saved.

A build (a scope's first index, or a rebuild) runs in a background thread by default, on a copy of
the scope's live rows, so no search waits for it (~7 s for 20k vectors on an idle core): until it
is done the scope is searched exactly (first build) or through its previous index (rebuild, whose
dead nodes are skipped as always); the next search after it is done adopts it, adds the rows
written meanwhile, and saves it. ``AnnSettings.background=False`` builds inside the search.

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
import threading
from concurrent.futures import Future, ThreadPoolExecutor
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
    ``ef_search``: HNSW's search breadth; ``candidates``: rows proposed before exact scoring;
    ``background``: build indexes in a background thread (else inside the search that needs one)."""

    min_vectors: int = DEFAULT_ANN_MIN_VECTORS
    ef_search: int = 256
    candidates: int = 100
    background: bool = True


class Approximate:
    """The approximate indexes of one store's scopes (kept on their matrices); see the module docstring.
    Called under the store's lock."""

    def __init__(self, settings: AnnSettings, directory: Path | None) -> None:
        self.settings = settings
        self.directory = directory
        self.enabled = settings.min_vectors > 0 and available()
        self._missing_said = False  # faiss missing: said once, when a scope first reaches the threshold
        self._builds: dict[tuple[str, str], Future[ScopeAnn]] = {}  # (space, part) -> a build running or done
        self._builder: ThreadPoolExecutor | None = None
        self._builder_lock = threading.Lock()

    def path(self, space: str, part: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / f"{hashlib.sha1(space.encode()).hexdigest()[:12]}-{part}.hnsw"

    def refresh(self, matrix: ScopeMatrix, space: str, part: str) -> None:
        """Bring ``matrix.ann`` up to date with the matrix (load, adopt a finished build, extend,
        build or rebuild, save), or drop it."""
        if not self.enabled or len(matrix) < self.settings.min_vectors:
            if 0 < self.settings.min_vectors <= len(matrix) and not self._missing_said:
                log.warning("faiss is not installed (the 'ann' extra): large scopes are searched exactly")
                self._missing_said = True
            matrix.ann = None
            self._builds.pop((space, part), None)
            return
        path = self.path(space, part)
        header = {"space": space, "dim": matrix.dim, "epoch": matrix.epoch}
        ann = matrix.ann if matrix.ann is not None and matrix.ann.epoch == matrix.epoch else None
        built = self._finished((space, part), matrix.epoch)
        if built is not None:
            ann = built
        if ann is None and path is not None:
            ann = self._load(path, header, matrix)
        if ann is not None:
            vectors, labels = matrix.rows_after(int(ann.labels.max(initial=0)))
            ann.add(vectors, labels)
        if ann is None or (len(ann) - len(matrix)) * 4 > len(ann):  # none yet, or a quarter of it dead
            if self.settings.background:
                self._start_build((space, part), matrix)
            else:
                vectors, labels = matrix.live_rows()
                ann = ScopeAnn.build(vectors, labels, matrix.epoch)
        matrix.ann = ann
        if (
            ann is not None
            and path is not None
            and len(ann) - ann.saved_rows >= min(_SAVE_EVERY, max(1, len(ann) // 20))
        ):
            try:
                ann.save(path, {"space": space, "dim": matrix.dim})
            except (OSError, RuntimeError) as exc:  # a read-only directory: the index lives in memory only
                log.warning("cannot save the approximate index %s: %s", path, exc)

    def _finished(self, key: tuple[str, str], epoch: str) -> ScopeAnn | None:
        """A background build of ``key`` that is done (and made for ``epoch``), taken out; else None."""
        future = self._builds.get(key)
        if future is None or not future.done():
            return None
        del self._builds[key]
        try:
            ann = future.result()
        except Exception as exc:  # a failed build leaves the scope exact; the next refresh retries
            log.warning("building the approximate index of a scope failed: %s", exc)
            return None
        return ann if ann.epoch == epoch else None

    def _start_build(self, key: tuple[str, str], matrix: ScopeMatrix) -> None:
        """Build ``key``'s index from a copy of the matrix's live rows in the background (one at a
        time per store), unless a build of it is running."""
        if key in self._builds:
            return
        vectors, labels = matrix.live_rows()
        with self._builder_lock:
            if self._builder is None:
                self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcrop-ann")
            self._builds[key] = self._builder.submit(ScopeAnn.build, vectors, labels, matrix.epoch)

    def wait(self) -> None:
        """Until every background build started so far is done (the next search adopts them)."""
        for future in list(self._builds.values()):
            future.exception()

    def close(self) -> None:
        """Stop building: builds not started are dropped, a running one finishes in its thread."""
        with self._builder_lock:
            if self._builder is not None:
                self._builder.shutdown(wait=False, cancel_futures=True)
                self._builder = None
        self._builds.clear()

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
