"""An approximate (HNSW) index over one large scope's vectors, and its file.

A :class:`ScopeAnn` is a faiss ``IndexHNSWSQ`` (inner product; 8-bit scalar-quantised copies of
the vectors for walking the graph) with **one node per distinct vector**: rows whose vectors are
equal to the bit (the same text said again: "ok", "thanks!", a pasted line) share a node, and the
node stands for all of them. A graph with a node per row fills each node's neighbour lists with
its own copies once a vector repeats more than the graph's degree, and the search no longer
reaches past them (recall@10 0.90 of the exact ranking for a 100k-row scope of texts said ~30
times each, 0.99+ once the copies share a node: ``bench/ann_recall.py --copies``). Rows are
recognised as copies by a 64-bit fingerprint of their bytes; two different vectors with one
fingerprint (~2^-64 a pair) would only make the later one a candidate with the earlier's node.

It proposes candidates (every row of each node found, nearest node first); the caller scores them
exactly against the scope's float32 matrix, so scores are the exact ones and only which rows are
proposed is approximate. Rows and nodes are only ever added: a removed row stays a member of its
node until the next rebuild, and its rowid no longer names a live row of the matrix, so it is
never returned; a node all of whose rows are removed stays in the graph, and a later copy of its
vector joins it again.

**The file holds no vector.** :meth:`ScopeAnn.save` writes the graph, the quantiser's ranges
and the labels, but cuts the quantised codes off faiss's serialisation (they are its tail, checked
on every save); :meth:`ScopeAnn.load` encodes them again from the scope's matrix, which is read
from the ``vectors`` table. A removed (deleted, forgotten) vector is therefore never in the file,
before or after its removal; the file is a cache of the graph, rebuildable from the table at any
time (delete it).
"""

from __future__ import annotations

import functools
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

_MAGIC = b"OUTCROP-HNSW-2\n"  # 2: nodes are distinct vectors; the file maps rows to nodes
_M = 32  # graph degree (neighbours per node above the base layer; twice that in it)
_EF_CONSTRUCTION = 80
_TRAIN = 20_000  # rows the quantiser's ranges are trained on
_PRINT_CHUNK = 4096  # rows fingerprinted at a time (their words widened to 64 bits: ~12 MB at 384 dims)


def _faiss() -> Any:
    import faiss  # the optional "ann" extra

    return faiss


@functools.cache
def _mix(dim: int) -> npt.NDArray[np.uint64]:
    """The fingerprint's odd multipliers, one per 32-bit word of a ``dim``-float row (fixed)."""
    return np.random.default_rng(0x0C7C).integers(1, 2**63, size=dim, dtype=np.uint64) | np.uint64(1)


def fingerprints(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.uint64]:
    """A 64-bit fingerprint of each row's exact bytes: equal rows, equal prints (a random linear
    hash of the rows' 32-bit words, wrapping at 2^64; the same in every process)."""
    rows = np.ascontiguousarray(vectors, dtype=np.float32)
    mix = _mix(rows.shape[1])
    out = np.empty(len(rows), dtype=np.uint64)
    for start in range(0, len(rows), _PRINT_CHUNK):
        words = rows[start : start + _PRINT_CHUNK].view(np.uint32).astype(np.uint64)
        with np.errstate(over="ignore"):
            out[start : start + _PRINT_CHUNK] = (words * mix).sum(axis=1, dtype=np.uint64)
    return out


def available() -> bool:
    """Whether faiss is installed (the ``ann`` extra); it is imported at the first large scope, not here."""
    return importlib.util.find_spec("faiss") is not None


class ScopeAnn:
    """The HNSW index of one scope; see the module docstring. ``labels[i]`` is the vector rowid of
    the ``i``-th row held (rowid order) and ``nodes_of[i]`` its node."""

    def __init__(self, index: Any, labels: npt.NDArray[np.int64], nodes_of: npt.NDArray[np.int64], epoch: str) -> None:
        self._index = index
        self.labels = labels
        self.nodes_of = nodes_of
        self.epoch = epoch
        self.saved_rows = 0  # rows the file on disk holds (0: no file of this index yet)
        self._code_size = int(_faiss().downcast_index(index.storage).code_size)
        self._node_of_print: dict[int, int] = {}  # fingerprint -> node, for rows added later
        self._members: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None  # rows by node, starts

    @classmethod
    def build(cls, vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64], epoch: str) -> ScopeAnn:
        """An index of ``vectors`` (rows in rowid order, labelled ``labels``)."""
        faiss = _faiss()
        dim = vectors.shape[1]
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, _M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = _EF_CONSTRUCTION
        step = max(1, len(vectors) // _TRAIN)
        index.train(np.ascontiguousarray(vectors[::step]))
        ann = cls(index, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), epoch)
        ann.add(vectors, labels)
        return ann

    def __len__(self) -> int:
        """Rows held (live or not)."""
        return int(self.labels.size)

    @property
    def nodes(self) -> int:
        """Nodes of the graph: distinct vectors (live or not)."""
        return int(self._index.ntotal)

    @property
    def nbytes(self) -> int:
        """Memory held, roughly: codes and graph links (two layers' worth) per node, and per row
        its rowid, node and place among its node's rows; the fingerprints."""
        return (
            self.nodes * (self._code_size + 2 * 2 * _M * 4 + 16)
            + len(self) * (8 + 8 + 16)
            + len(self._node_of_print) * 100
        )

    def add(self, vectors: npt.NDArray[np.float32], labels: npt.NDArray[np.int64]) -> None:
        """Rows added after every row already held (rowids above them): a copy of a vector the
        graph holds joins its node; the others become nodes."""
        if not len(vectors):
            return
        known = self._node_of_print
        first = self.nodes
        nodes = np.empty(len(vectors), dtype=np.int64)
        fresh: list[int] = []
        for row, print_ in enumerate(fingerprints(vectors).tolist()):
            node = known.get(print_)
            if node is None:
                node = known[print_] = first + len(fresh)
                fresh.append(row)
            nodes[row] = node
        if fresh:
            self._index.add(np.ascontiguousarray(vectors[fresh], dtype=np.float32))
        self.labels = np.concatenate([self.labels, np.asarray(labels, dtype=np.int64)])
        self.nodes_of = np.concatenate([self.nodes_of, nodes])
        self._members = None

    def _rows_by_node(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Row positions grouped by node (rowid order within a node) and where each node's start."""
        if self._members is None:
            order = np.argsort(self.nodes_of, kind="stable")
            starts = np.searchsorted(self.nodes_of[order], np.arange(self.nodes + 1))
            self._members = (order, starts)
        return self._members

    def candidates(self, query: npt.NDArray[np.float32], n: int, ef_search: int) -> npt.NDArray[np.int64]:
        """Vector rowids of at least ``n`` rows (when held) whose vectors are nearest ``query``:
        every row of the nearest nodes, nearest first, until ``n`` (some may be dead)."""
        faiss = _faiss()
        k = min(n, self.nodes)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef_search, k)
        _scores, found = self._index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        found = found[0][found[0] >= 0]
        order, starts = self._rows_by_node()
        sizes = starts[found + 1] - starts[found]
        found = found[: int(np.searchsorted(np.cumsum(sizes), n)) + 1]  # whole nodes, until n rows
        if not found.size:
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate([order[starts[node] : starts[node + 1]] for node in found.tolist()])
        return np.asarray(self.labels[rows], dtype=np.int64)

    # -- the file ------------------------------------------------------------------------------
    def save(self, path: Path, header: dict[str, Any]) -> None:
        """Write graph, ranges, rowids and their nodes (no codes) to ``path``, atomically (a
        temporary file renamed over it): a reader sees the old file or the new one."""
        faiss = _faiss()
        codes = faiss.vector_to_array(faiss.downcast_index(self._index.storage).codes)
        blob = faiss.serialize_index(self._index)
        if codes.size and not np.array_equal(blob[-codes.size :], codes):
            raise RuntimeError("faiss no longer ends its serialisation with the codes; the file would hold vectors")
        graph = blob[: blob.size - codes.size]
        meta = json.dumps(
            {**header, "epoch": self.epoch, "rows": len(self), "nodes": self.nodes, "codes": int(codes.size)}
        ).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            out.write(_MAGIC + struct.pack("<Q", len(meta)) + meta)
            out.write(self.labels.astype("<i8").tobytes())
            out.write(self.nodes_of.astype("<i8").tobytes())
            out.write(graph.tobytes())
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        self.saved_rows = len(self)

    @classmethod
    def load(
        cls,
        path: Path,
        header: dict[str, Any],
        vectors_of: Callable[[npt.NDArray[np.int64]], tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]],
    ) -> ScopeAnn | None:
        """The index in ``path`` if its header matches ``header`` (space, dimension, epoch), each
        node's code encoded again from the vector of one of its live rows, read through
        ``vectors_of(labels)`` (the rows' vectors and whether each is still live; a node with no
        live row gets zeros, and a later copy of its vector makes a new node); None when there is
        no usable file."""
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
        rows, nodes = int(meta["rows"]), int(meta["nodes"])
        labels = np.frombuffer(data, dtype="<i8", count=rows, offset=at).astype(np.int64)
        nodes_of = np.frombuffer(data, dtype="<i8", count=rows, offset=at + 8 * rows).astype(np.int64)
        graph = np.frombuffer(data, dtype=np.uint8, offset=at + 16 * rows)
        index = faiss.deserialize_index(np.concatenate([graph, np.zeros(int(meta["codes"]), dtype=np.uint8)]))
        if int(index.ntotal) != nodes:
            return None
        storage = faiss.downcast_index(index.storage)
        vectors, live = vectors_of(labels)
        live_rows = np.flatnonzero(live)
        held, first = np.unique(nodes_of[live_rows], return_index=True)  # each node with a live row: its first
        node_vectors = np.zeros((nodes, vectors.shape[1]), dtype=np.float32)
        node_vectors[held] = vectors[live_rows[first]]
        codes = storage.sa_encode(node_vectors)
        codes[np.setdiff1d(np.arange(nodes), held)] = 0
        faiss.copy_array_to_vector(codes.ravel(), storage.codes)
        ann = cls(index, labels, nodes_of, str(meta["epoch"]))
        ann._node_of_print = dict(zip(fingerprints(vectors[live_rows[first]]).tolist(), held.tolist(), strict=True))
        ann.saved_rows = rows
        return ann
