"""Dense pseudo-relevance feedback: the query's vector moved toward its first hits' vectors.

Rocchio's feedback in the dense space. The first pass's best ``docs`` fused hits are taken as
relevant; the query's unit vector plus ``shift`` times their stored vectors' mean, normalised, is
searched again. The question "What are the names of Audrey's dogs?" lies near turns that talk
about dogs; moved toward its first hits ("I've had them for 3 years! Their names are Pepper,
Precious and Panda", the view "Audrey — owns: dog: Panda, Pepper, …"), it lies near the turn that
names the fourth dog too. BM25 has the same step over words (``retrieval.prf_weight``).

Contexts only, by default (``retrieval.context_feedback``): the shifted query finds what lies
beside the first hits, which a context, a set of some thirty lines, wants; a ranking's first
places lose to it. LoCoMo dev (the kept stores of one run, `bench/locomo_rescore.py`), weight 0.2,
shift 0.3, 3 docs: coverage @1000 83.4 → 83.9, multi-hop coverage 52.3 → 53.5, answer words 79.8 →
79.9 (7 questions gain coverage, 2 lose); fused into search too, R@10 81.2 → 80.3
(docs/decisions.md, "Context packing").

Cost: one read of ``docs`` stored vectors and one more vector search, no embedding. Like the hop,
it starts from the other channels' first pass: weighted alone it finds nothing. Its seeds are the
fused hits before quarantine is applied (as BM25's feedback terms are): a flagged item among them
moves the query, and with quarantine on is itself left out of the context (retrieve/quarantine.py).
"""

from __future__ import annotations

import numpy as np

from outcrop.retrieve.channels import ChannelRequest, DenseChannel
from outcrop.stores.base import ScoredId, Store

__all__ = ["FeedbackChannel", "shifted_query"]


def shifted_query(query: np.ndarray, relevant: list[np.ndarray], shift: float) -> np.ndarray | None:
    """``query + shift · mean(relevant)`` at unit length (None when there is nothing to move toward,
    or the sum is the zero vector)."""
    if not relevant:
        return None
    moved = np.asarray(query, dtype=np.float32) + shift * np.mean(np.stack(relevant).astype(np.float32), axis=0)
    norm = float(np.linalg.norm(moved))
    return moved / norm if norm > 0.0 else None


class FeedbackChannel:
    """A second dense search from the query moved toward its first hits (module docstring)."""

    name = "feedback"

    def __init__(self, store: Store, dense: DenseChannel, docs: int = 3, shift: float = 0.3) -> None:
        self.store = store
        self.dense = dense
        self.docs = docs
        self.shift = shift

    def search(self, request: ChannelRequest, first: list[ScoredId] | None = None) -> list[ScoredId]:
        """The shifted query's nearest items (``first``: the first pass's fused order; none: abstains).
        Filters hold as for the dense channel."""
        if not first:
            return []
        ids = [item_id for item_id, _ in first[: self.docs]]
        stored = self.store.vectors.vectors_for(request.scope, self.dense.space, ids)
        vector = shifted_query(
            self.dense.query_vector(request.query.text), [np.asarray(stored[i]) for i in ids if i in stored], self.shift
        )
        if vector is None:
            return []
        return self.store.vectors.search(request.scope, self.dense.space, vector, request.k, request.filters)
