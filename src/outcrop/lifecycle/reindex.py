"""Change the embedding model: build a new vector index beside the old one, then switch.

Every item of the given tenants (all levels) is embedded with the new model and written to a
new vector space (``Store.put_vectors``: the space is registered inactive, searches keep using
the old one). Only when every item with a vector has one in the new space does
``Store.activate_space`` make it the active space and drop the old one, in one transaction.
A crash or interrupt before that leaves the old space in use and the store consistent; running
``reindex`` again fills the new space (vectors are replaced, not duplicated) and switches.
Spaces are named ``<embedder id>/<dim>``, and a search only ever reads the space of the
embedder it embeds the query with, so models and dimensions never mix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice

from pydantic import BaseModel

from outcrop.core.types import Scope
from outcrop.errors import StoreError
from outcrop.lifecycle.rebuild import embed_items
from outcrop.providers.base import Embedder
from outcrop.stores.base import Store, VectorSpace
from outcrop.strata.plan import indexed

__all__ = ["ReindexReport", "build_space", "reindex", "switch_space"]

_PAGE = 512

Progress = Callable[[int], None]


class ReindexReport(BaseModel):
    old: str | None  # the space searches used before
    new: str  # the space they use now
    vectors: int = 0  # vectors written


def build_space(store: Store, embedder: Embedder, tenants: Sequence[str], progress: Progress | None = None) -> int:
    """Embed every item of ``tenants`` into ``embedder``'s space, page by page, without
    activating it; ``progress`` is called with the running count after each page."""
    space = VectorSpace(embedder.id, embedder.dim)
    written = 0
    for tenant in tenants:
        scope = Scope(tenant=tenant, user_id=None)
        items = store.records.iter_items(scope)
        while page := list(islice(items, _PAGE)):
            # derived items reached only by their own channel (trait views) have no vector in any space
            written += store.vectors.put(scope, space, embed_items(embedder, [i for i in page if indexed(i)]))
            if progress is not None:
                progress(written)
    return written


def switch_space(store: Store, space: VectorSpace) -> None:
    """Activate ``space`` atomically; raises :class:`StoreError` (changing nothing) when items
    still lack a vector in it, such as items of tenants not re-indexed."""
    missing = store.vectors.activate(space)
    if missing:
        raise StoreError(
            f"{len(missing)} item(s) have no vector in {space.name} yet (e.g. {missing[0]}), some perhaps of"
            " other tenants: re-index them too; the old index stays active"
        )


def reindex(
    store: Store, embedder: Embedder, tenants: Sequence[str], progress: Progress | None = None
) -> ReindexReport:
    """Build ``embedder``'s space for ``tenants`` and switch to it; see the module docstring."""
    old = store.vectors.active_space()
    space = VectorSpace(embedder.id, embedder.dim)
    written = build_space(store, embedder, tenants, progress)
    switch_space(store, space)
    return ReindexReport(old=old.name if old else None, new=space.name, vectors=written)
