"""An approximate (HNSW) index over one large scope's vectors, and its file.

A :class:`ScopeAnn` is a faiss ``IndexHNSWSQ`` (inner product; 8-bit scalar-quantised copies of
the vectors for walking the graph) whose nodes are labelled with the vector rowids they were
built from, in rowid order. It proposes candidates; the caller scores them exactly against the
scope's float32 matrix, so scores are the exact ones and only which rows are proposed is
approximate. Nodes are only ever added: a removed vector's node stays in the graph until the next
rebuild, and its label no longer names a live row of the matrix, so it is never returned.

**The file holds no vector.** :meth:`ScopeAnn.save` writes the graph, the quantiser's ranges
and the labels, but cuts the quantised codes off faiss's serialisation (they are its tail, checked
on every save); :meth:`ScopeAnn.load` encodes them again from the scope's matrix, which is read
from the ``vectors`` table. A removed (deleted, forgotten) vector is therefore never in the file,
before or after its removal; the file is a cache of the graph, rebuildable from the table at any
time (delete it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ScopeAnn", "available"]

_MAGIC = b"OUTCROP-HNSW-1\n"
_M = 32  # graph degree (neighbours per node above the base layer; twice that in it)
_EF_CONSTRUCTION = 80
_TRAIN = 20_000  # rows the quantiser's ranges are trained on


def _faiss() -> Any:
    import faiss  # the optional "ann" extra

    return faiss


def available() -> bool:
    """Whether faiss is installed (the ``ann`` extra); it is imported at the first large scope, not here."""
    return importlib.util.find_spec("faiss") is not None


class ScopeAnn:
    """The HNSW index of one scope; see the module docstring. ``labels[i]`` is node ``i``'s vector rowid."""

    def __init__(self, index: Any, labels: npt.NDArray[np.int64], epoch: str) -> None:
        self._index = index
        self.labels = labels
        self.epoch = epoch
        self.saved_nodes = 0  # nodes the file on disk holds (0: no file of this index yet)
        self._code_size = int(_faiss().downcast_index(index.storage).code_size)

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], epoch: str) -> ScopeAnn:
        """An index of ``vectors`` (rows in rowid order, labelled ``labels``)."""
        faiss = _faiss()
        dim = vectors.shape[1]
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, _M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = _EF_CONSTRUCTION
        step = max(1, len(vectors) // _TRAIN)
        index.train(np.ascontiguousarray(vectors[::step]))
        ann = cls(index, np.zeros(0, dtype=np.int64), epoch)
        ann.add(vectors, labels)
        return ann

    def __len__(self) -> int:
        """Nodes (live or not)."""
        return int(self.labels.size)

    @property
    def nbytes(self) -> int:
        """Memory held, roughly: codes, graph links (two layers' worth per node) and labels."""
        n = len(self)
        return n * (self._code_size + 2 * 2 * _M * 4 + 8 + 16)

    def add(self, vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]) -> None:
        """Nodes for new rows (rowids above every label already held)."""
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            self.labels = np.concatenate([self.labels, np.asarray(labels, dtype=np.int64)])

    def candidates(self, query: npt.NDArray[np.float32], n: int, ef_search: int) -> npt.NDArray[np.int64]:
        """Vector rowids of up to ``n`` nodes nearest ``query`` (some may be dead)."""
        faiss = _faiss()
        n = min(n, len(self))
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef_search, n)
        _scores, nodes = self._index.search(query.reshape(1, -1).astype(np.float32), n, params=params)
        found = nodes[0][nodes[0] >= 0]
        return np.asarray(self.labels[found], dtype=np.int64)

    # -- the file ------------------------------------------------------------------------------
    def save(self, path: Path, header: dict[str, Any]) -> None:
        """Write graph, ranges and labels (no codes) to ``path``, atomically (a temporary file
        renamed over it): a reader sees the old file or the new one."""
        faiss = _faiss()
        codes = faiss.vector_to_array(faiss.downcast_index(self._index.storage).codes)
        blob = faiss.serialize_index(self._index)
        if codes.size and not np.array_equal(blob[-codes.size :], codes):
            raise RuntimeError("faiss no longer ends its serialisation with the codes; the file would hold vectors")
        graph = blob[: blob.size - codes.size]
        meta = json.dumps({**header, "epoch": self.epoch, "nodes": len(self), "codes": int(codes.size)}).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            out.write(_MAGIC + struct.pack("<Q", len(meta)) + meta)
            out.write(self.labels.astype("<i8").tobytes())
            out.write(graph.tobytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        self.saved_nodes = len(self)

    @classmethod
    def load(
        cls,
        path: Path,
        header: dict[str, Any],
        vectors_of: Callable[[npt.NDArray[np.int64]], tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]],
    ) -> ScopeAnn | None:
        """The index in ``path`` if its header matches ``header`` (space, dimension, epoch), its
        codes encoded again from ``vectors_of(labels)`` (the rows' vectors and whether each is
        still live; a dead node's code is zeros); None when there is no usable file."""
        faiss = _faiss()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if not data.startswith(_MAGIC):
            return None
        at = len(_MAGIC)
        (size,) = struct.unpack_from("<Q", data, at)
        meta = json.loads(data[at + 8 : at + 8 + size])
        if any(meta.get(k) != v for k, v in header.items()):
            return None
        at += 8 + size
        nodes = int(meta["nodes"])
        labels = np.frombuffer(data, dtype="<i8", count=nodes, offset=at).astype(np.int64)
        graph = np.frombuffer(data, dtype=np.uint8, offset=at + 8 * nodes)
        index = faiss.deserialize_index(np.concatenate([graph, np.zeros(int(meta["codes"]), dtype=np.uint8)]))
        storage = faiss.downcast_index(index.storage)
        vectors, live = vectors_of(labels)
        codes = storage.sa_encode(np.ascontiguousarray(vectors, dtype=np.float32))
        codes[~live] = 0
        faiss.copy_array_to_vector(codes.ravel(), storage.codes)
        ann = cls(index, labels, str(meta["epoch"]))
        ann.saved_nodes = nodes
        return ann
