"""The engine: one store, embedder, optional LLM, ingestor, consolidator and retriever, wired once
and shared by every :class:`~outcrop.api.memory.Memory` handle over it (one per tenant in a
server). It owns the orchestration of writes (a turn's strata after an add, the session's lexical
documents after an edit) and takes resolved :class:`~outcrop.core.types.Scope` values: argument
checking and scope defaults belong to the handle.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import numpy as np

from outcrop.config import MemoryConfig
from outcrop.core.documents import dense_text, lexical_document
from outcrop.core.ids import content_hash, new_id
from outcrop.core.provenance import Writer
from outcrop.core.time.clock import now
from outcrop.core.types import Context, Hit, Item, Level, LogRecord, Scope
from outcrop.errors import ConfigError, OutcropError, WriteConflict
from outcrop.ingest.messages import IncomingTurn
from outcrop.ingest.turns import Ingested, TurnIngestor
from outcrop.lifecycle.export import ExportReport, ImportReport, Target
from outcrop.lifecycle.export import export_jsonl as _export
from outcrop.lifecycle.export import import_jsonl as _import
from outcrop.lifecycle.forget import already_forgotten, resume
from outcrop.lifecycle.forget import forget as _forget
from outcrop.lifecycle.lexical import refresh_session_documents
from outcrop.lifecycle.rebuild import RebuildReport
from outcrop.lifecycle.rebuild import rebuild as _rebuild
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.reindex import ReindexReport
from outcrop.lifecycle.reindex import reindex as _reindex
from outcrop.lifecycle.targets import Targets, check_ids, resolve_ids, resolve_scope
from outcrop.llm import LLM, open_llm
from outcrop.providers.base import Embedder
from outcrop.providers.registry import load_embedder
from outcrop.retrieve.assemble import assemble_context
from outcrop.retrieve.pipeline import Retriever
from outcrop.retrieve.quarantine import without_quarantined
from outcrop.retrieve.recipes import Recipe, plain_hybrid
from outcrop.retrieve.rerank import make_retriever
from outcrop.retrieve.reuse import ReadReuse, reuse_reads
from outcrop.stores.base import SearchFilters, Store, VectorSpace
from outcrop.stores.registry import open_store
from outcrop.strata.consolidate import ConsolidationReport, Consolidator
from outcrop.strata.links import absorbed_ids
from outcrop.strata.llm_producers import choose_producers
from outcrop.truth.readtime import truth_view
from outcrop.truth.strength import AccessTracker

__all__ = ["Engine"]

_ATTEMPTS = 12  # computations of one write under contention before the conflict reaches the caller
_MAX_PAUSE = 0.25  # seconds, the longest pause between two attempts

T = TypeVar("T")

log = logging.getLogger("outcrop")


def _retrying(write: Callable[[], T]) -> T:
    """``write`` again (recomputed from the store) after a :class:`WriteConflict`, with a short
    jittered pause that grows, up to :data:`_ATTEMPTS` times."""
    for attempt in range(_ATTEMPTS):
        try:
            return write()
        except WriteConflict:
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0, min(_MAX_PAUSE, 0.01 * 2**attempt)))
    raise AssertionError("unreachable")


class Engine:
    """Wires the parts once; see the module docstring."""

    def __init__(self, config: MemoryConfig, *, embedder: Embedder | None = None, llm: LLM | None = None) -> None:
        self.config = config
        self.embedder = embedder or load_embedder(config.embedder)
        self.store: Store = open_store(
            config.store,
            sqlite_synchronous=config.sqlite_synchronous,
            postgres_pool_size=config.postgres_pool_size,
            sqlite_vector_cache_bytes=config.sqlite_vector_cache_bytes,
        )
        # The LLM path (optional): ``llm`` or one built from ``config.llm``; producers, reranker
        # and ``answer`` use it, and its ledger is in ``stats()``.
        self.llm: LLM | None = llm if llm is not None else open_llm(config.llm)
        self._owns_llm = llm is None
        self.accesses = AccessTracker(self.store)  # what search and context return fades slower
        self._wiring = threading.Lock()  # a re-index re-wires the parts while handles may read
        self._wire(self.embedder)
        self.resume_forgets(config.tenant)  # a forget cut short by a stopped process is completed first
        self.catch_up_strata(config.tenant)  # so are the strata of an add cut short

    def _wire(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.space = VectorSpace(embedder.id, embedder.dim)
        self.ingestor = TurnIngestor(self.store, embedder, self.config)
        self.consolidator = Consolidator(
            self.store, embedder, self.config, **choose_producers(self.config, self.llm).chosen()
        )
        self.retriever: Retriever = make_retriever(self.store, embedder, self.config.retrieval, self.llm)
        self.retriever.accesses = self.accesses

    def close(self) -> None:
        self.accesses.flush()
        self.store.close()
        close_llm = getattr(self.llm, "close", None) if self._owns_llm else None
        if close_llm is not None:
            close_llm()

    # -- writes ---------------------------------------------------------------------------
    def add(
        self, scope: Scope, turns: Sequence[IncomingTurn], metadata: dict[str, Any], writer: Writer = Writer.USER
    ) -> Ingested:
        """Write the turns, then their strata, each computed again from what is stored when a
        concurrent writer got there first (:class:`WriteConflict`: positions of the same session,
        the same input, the same derived item), a few times before giving up. ``writer``: who
        wrote the turns whose role names nobody (the path's writer)."""
        vectors: dict[str, np.ndarray] = {}  # embedded once, whatever the attempts
        due = new_id("d") if self.config.strata.on_add else None  # the new turns await their strata
        ingested = _retrying(lambda: self.ingestor.add(scope, list(turns), metadata, vectors, due, writer))
        if due is not None:
            _retrying(lambda: self.consolidator.after_add(scope, ingested.ids))
            if ingested.added:
                self.store.records.clear_strata_due(scope.tenant, [due])
        return ingested

    def catch_up_strata(self, tenant: str) -> int:
        """Compute the strata of the tenant's turns whose add stopped before them (a killed process:
        turns stored without their facts, episodes left stale); how many adds were caught up. One
        indexed read when nothing is behind. A failure leaves the record for the next open."""
        caught = 0
        for due in self.store.records.strata_due(tenant):
            scope, turn_ids = due.scope, list(due.turn_ids)
            try:
                _retrying(lambda: self.consolidator.after_add(scope, turn_ids))  # noqa: B023 (called at once)
            except OutcropError as exc:
                log.warning("the strata of %d turns could not be caught up: %s", len(due.turn_ids), exc)
                continue
            self.store.records.clear_strata_due(tenant, [due.id])
            caught += 1
        return caught

    def consolidate(self, scope: Scope) -> ConsolidationReport:
        return self.consolidator.consolidate(scope)

    def update(self, scope: Scope, current: Item, text: str) -> Item:
        log = LogRecord(
            id=new_id("l"),
            scope=current.scope,
            kind="update",
            payload={"item_id": current.id, "text": text},
            content_hash=content_hash("update", current.id, text, new_id("u")),
            recorded_at=now(),
        )
        changed = current.model_copy(update={"text": text})
        vector = self.embedder.embed([dense_text(changed)])[0]
        lexical = lexical_document(changed, [])
        updated = self.store.records.update_item(scope, current.id, text, log, lexical, vector, self.space)
        if current.level == Level.TURN:
            # the turn's own document and its neighbours' context carry the new text, not the old
            refresh_session_documents(self.store, current.scope, self.config.retrieval.neighbour_window)
            self.consolidator.after_change(current.scope, [current.id], removed=False)
        return updated

    def delete(self, scope: Scope, current: Item) -> None:
        ids = absorbed_ids(current)  # a merged fact's delete tombstones what it absorbed too (strata/links.py)
        log = LogRecord(
            id=new_id("l"),
            scope=current.scope,
            kind="delete",
            payload={"item_id": current.id, **({"absorbed": ids} if ids else {})},
            content_hash=content_hash("delete", current.id, new_id("u")),
            recorded_at=now(),
        )
        self.store.records.delete_item(scope, current.id, log)
        if current.level == Level.TURN:
            # the neighbours' context documents no longer carry the deleted turn's words
            refresh_session_documents(self.store, current.scope, self.config.retrieval.neighbour_window)
            self.consolidator.after_change(current.scope, [current.id], removed=True)

    def forget_ids(self, tenant: Scope, ids: Sequence[str], *, scrub: bool) -> ForgetReceipt:
        """Forget turns (or the turns facts came from) by id, after completing the tenant's forgets
        a stopped process left; ids forgotten before are skipped, and the receipt names them."""
        check_ids(ids)
        resumed = self.resume_forgets(tenant.tenant)
        gone = self.store.maintenance.forgotten_ids(tenant, ids)
        rest = [i for i in ids if i not in gone]
        if not rest:
            return already_forgotten(tenant, sorted(gone), resumed)
        receipt = self._forget(resolve_ids(self.store, tenant, rest), scrub=scrub)
        receipt.already_forgotten, receipt.resumed = sorted(gone), [r.plan for r in resumed]
        return receipt

    def forget_scope(self, scope: Scope, *, scrub: bool) -> ForgetReceipt:
        """Forget a user, an agent's or a session's whole log, after completing the tenant's
        forgets a stopped process left."""
        resumed = self.resume_forgets(scope.tenant)
        receipt = self._forget(resolve_scope(self.store, scope), scrub=scrub)
        receipt.resumed = [r.plan for r in resumed]
        return receipt

    def _forget(self, targets: Targets, *, scrub: bool) -> ForgetReceipt:
        window = self.config.retrieval.neighbour_window
        return _forget(self.store, self.consolidator, targets, window=window, scrub=scrub)

    def resume_forgets(self, tenant: str) -> list[ForgetReceipt]:
        """Complete what forgets of ``tenant`` cut short after their erase left to do, and scrub
        the files once when any of them was verified (a forget is for good, even one a crash
        interrupted; a plan that still finds its content stays pending and scrubbing cannot help)."""
        receipts = resume(self.store, self.consolidator, tenant)
        done = [r for r in receipts if r.ok]
        if done:
            done[-1].scrub = self.store.maintenance.scrub()
        return receipts

    def rebuild(self, scope: Scope) -> RebuildReport:
        return _rebuild(
            self.store, self.embedder, self.consolidator, scope, window=self.config.retrieval.neighbour_window
        )

    def reindex(self, embedder: Embedder, tenants: Sequence[str]) -> ReindexReport:
        """Re-embed ``tenants`` into ``embedder``'s space, switch to it, and re-wire every part
        (every handle over this engine embeds with the new model from then on)."""
        report = _reindex(self.store, embedder, list(tenants))
        with self._wiring:
            self._wire(embedder)
        return report

    def export(self, scope: Scope, target: Target, *, projections: bool) -> ExportReport:
        with self.store.snapshot(scope.tenant):  # one state, however long the export, with no lock
            return _export(self.store, scope, target, projections=projections)

    def import_(self, tenant: str, source: Target) -> ImportReport:
        return _import(
            self.store,
            self.embedder,
            self.consolidator,
            tenant,
            source,
            window=self.config.retrieval.neighbour_window,
        )

    # -- reads ----------------------------------------------------------------------------
    def search(
        self,
        scope: Scope,
        query: str,
        *,
        limit: int,
        recipe: Recipe,
        filters: SearchFilters | None,
        channels: dict[str, float] | None,
    ) -> list[Hit]:
        self.check_space()
        moment = filters.as_of if filters is not None else None
        fetch = limit if moment is None else min(1000, limit * 3)
        with self.store.snapshot(scope.tenant):  # one transaction for every channel's reads
            if recipe.plain:
                hits = plain_hybrid(self.store, self.embedder, scope, query, fetch)
            else:
                hits = self.retriever.search(
                    scope,
                    query,
                    limit=fetch,
                    filters=recipe.narrow(filters),
                    weights=channels if channels is not None else recipe.channels,
                )
            weight = self.config.retrieval.superseded_weight
            found = truth_view(self.store, scope, hits, as_of=moment, superseded_weight=weight)
            if self.config.retrieval.quarantine == "search":
                found = without_quarantined(self.store, scope, found)
            found = found[:limit]
        self.note_reads(scope, found)
        return found

    def context(self, scope: Scope, query: str, max_tokens: int, filters: SearchFilters | None) -> Context:
        self.check_space()
        with self.store.snapshot(scope.tenant):
            context = assemble_context(
                self.store, self.retriever, self.config.retrieval, scope, query, max_tokens, filters
            )
        self.note_reads(scope, context.items)
        return context

    def check_space(self) -> None:
        """Refuse to read a store whose vectors another embedder made, as ``add`` refuses to write
        to it: the dense channel would find nothing and rank by the other channels alone."""
        active = self.store.vectors.active_space()
        if active is not None and active.name != self.space.name:
            raise ConfigError(
                f"this store's vectors were made by {active.name!r}, not {self.space.name!r}; open it with that"
                " embedder or re-index it into the new one"
            )

    def reusing_reads(self, *, serving: bool = True) -> AbstractContextManager[ReadReuse]:
        return reuse_reads(serving=serving)

    def note_reads(self, scope: Scope, hits: Sequence[Hit]) -> None:
        if self.config.retrieval.track_access and hits:
            self.accesses.note(scope.tenant, (h.id for h in hits))
