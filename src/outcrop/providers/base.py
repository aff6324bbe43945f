"""Provider protocols."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from outcrop.core.types import Hit, Vectors

__all__ = ["Embedder", "Reranker", "Vectors", "first_window_only"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    Contract: ``embed(texts)`` returns an array of shape ``(len(texts), dim)``, dtype float32,
    each row of unit length, so cosine similarity is a dot product (higher is more similar).
    ``id`` names the model and its variant precisely enough that two embedders with the same
    ``id`` produce interchangeable vectors; the store refuses to mix vectors of different ids.
    """

    id: str
    dim: int
    batch_size: int

    def embed(self, texts: Sequence[str]) -> Vectors: ...


@runtime_checkable
class Reranker(Protocol):
    """Reorders the top of a hit list for a query.

    Contract: ``rerank(query, hits)`` returns the same hits (no new ones, none lost), best first;
    it records its judgement in each moved hit's ``explain["rerank"]``. On failure it returns
    ``hits`` in their original order (and records why), never raises for a bad model reply.
    ``id`` names the reranker, and for an LLM reranker its model and prompt version.
    """

    id: str

    def rerank(self, query: str, hits: Sequence[Hit]) -> list[Hit]: ...


def first_window_only(embedder: Embedder) -> Embedder:
    """The same model reading only the first window of a text longer than it reads at once, when
    the embedder reads long texts whole in windows and can do otherwise (its own
    ``first_window_only()``); any other embedder as it is. The strata embed their derived items so
    (a view or topic is re-embedded each time it grows, and reading it whole cost a fifth more
    ingest for no change in retrieval), and search its queries (a 32,000-character query read
    whole costs 1.1 s instead of 39 ms); docs/decisions.md, "Strata"."""
    narrowed = getattr(embedder, "first_window_only", None)
    if callable(narrowed):
        result: Embedder = narrowed()
        return result
    return embedder


def normalise(vectors: npt.NDArray[np.floating]) -> Vectors:
    """L2-normalise rows (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised
