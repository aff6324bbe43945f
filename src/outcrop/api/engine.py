"""The engine: one store, embedder, optional LLM, ingestor, consolidator and retriever, wired once
and shared by every :class:`~outcrop.api.memory.Memory` handle over it (one per tenant in a
server). It owns the orchestration of writes (a turn's strata after an add, the session's lexical
documents after an edit) and takes resolved :class:`~outcrop.core.types.Scope` values: argument
checking and scope defaults belong to the handle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from outcrop.api.background import StrataWorker
from outcrop.config import MemoryConfig
from outcrop.core.documents import lexical_document
from outcrop.core.ids import content_hash, new_id
from outcrop.core.provenance import Writer
from outcrop.core.threads import limit_blas_threads
from outcrop.core.time.clock import now
from outcrop.core.types import Context, Hit, Item, Level, LogRecord, Scope
from outcrop.errors import ConfigError, NotFoundError
from outcrop.ingest.batch import PendingAdd, chunks, prefetch, split_long
from outcrop.ingest.messages import IncomingTurn
from outcrop.ingest.turns import Ingested, TurnIngestor
from outcrop.lifecycle.export import ExportReport, ImportReport, Sources, Target
from outcrop.lifecycle.export import export_jsonl as _export
from outcrop.lifecycle.export import import_jsonl as _import
from outcrop.lifecycle.forget import already_forgotten, resume, with_resumed
from outcrop.lifecycle.forget import forget as _forget
from outcrop.lifecycle.lexical import edited_session_documents, refresh_session_documents
from outcrop.lifecycle.rebuild import RebuildReport, embed_items
from outcrop.lifecycle.rebuild import rebuild as _rebuild
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.reindex import ReindexReport
from outcrop.lifecycle.reindex import reindex as _reindex
from outcrop.lifecycle.targets import Targets, check_ids, resolve_ids, resolve_scope
from outcrop.llm import LLM, open_llm
from outcrop.providers.base import Embedder
from outcrop.providers.registry import configured_embedder
from outcrop.retrieve.assemble import assemble_context
from outcrop.retrieve.pipeline import Retriever
from outcrop.retrieve.quarantine import without_quarantined
from outcrop.retrieve.recipes import Recipe, plain_hybrid
from outcrop.retrieve.rerank import make_retriever
from outcrop.retrieve.reuse import ReadReuse, reuse_reads
from outcrop.stores.base import HeldEdit, LexicalDocument, SearchFilters, Store, StrataDue, VectorSpace, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.strata.consolidate import ConsolidationReport, Consolidator
from outcrop.strata.due import DueReport, consolidate_due
from outcrop.strata.due import retrying as _retrying
from outcrop.strata.links import absorbed_ids
from outcrop.strata.llm_producers import choose_producers
from outcrop.truth.readtime import truth_view
from outcrop.truth.strength import AccessTracker

__all__ = ["Engine"]

log = logging.getLogger("outcrop")


class Engine:
    """Wires the parts once; see the module docstring."""

    def __init__(self, config: MemoryConfig, *, embedder: Embedder | None = None, llm: LLM | None = None) -> None:
        self.config = config
        if config.blas_threads:
            limit_blas_threads(config.blas_threads)
        self.embedder = embedder or configured_embedder(config)
        self.store: Store = open_store(
            config.store,
            sqlite_synchronous=config.sqlite_synchronous,
            postgres_pool_size=config.postgres_pool_size,
            postgres_postings_cache_bytes=config.postgres_postings_cache_bytes,
            sqlite_vector_cache_bytes=config.sqlite_vector_cache_bytes,
            sqlite_postings_cache_bytes=config.sqlite_postings_cache_bytes,
            ann_min_vectors=config.ann_min_vectors,
            ann_ef_search=config.ann_ef_search,
            ann_background=config.ann_background,
        )
        # The LLM path (optional): ``llm`` or one built from ``config.llm``; producers, reranker
        # and ``answer`` use it, and its ledger is in ``stats()``.
        self.llm: LLM | None = llm if llm is not None else open_llm(config.llm)
        self._owns_llm = llm is None
        self.accesses = AccessTracker(self.store)  # what search and context return fades slower
        self._wiring = threading.Lock()  # a re-index re-wires the parts while handles may read
        self._wire(self.embedder)
        deferred = config.strata.on_add and config.strata.mode == "deferred"
        self.worker: StrataWorker | None = StrataWorker(self.drain_due) if deferred else None
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
        if self.worker is not None:
            self.worker.stop()  # after catching up with the adds of this process (what is left stays due)
        self.accesses.flush()
        self.store.close()
        close_llm = getattr(self.llm, "close", None) if self._owns_llm else None
        if close_llm is not None:
            close_llm()

    # -- writes ---------------------------------------------------------------------------
    def add(
        self,
        scope: Scope,
        turns: Sequence[IncomingTurn],
        metadata: dict[str, Any],
        vectors: dict[str, np.ndarray] | None = None,
        *,
        consolidate: bool = True,
        writer: Writer = Writer.USER,
    ) -> Ingested:
        """Write the turns, then their strata, each computed again from what is stored when a
        concurrent writer got there first (:class:`WriteConflict`: positions of the same session,
        the same input, the same derived item), a few times before giving up. ``vectors`` (text →
        vector) holds texts embedded beforehand (:mod:`outcrop.ingest.batch`). With
        ``strata.mode: deferred`` (or ``consolidate`` off: the caller consolidates a batch of adds)
        the strata are left due, for the background worker. ``writer``: who wrote the turns whose
        role names nobody (the path's writer)."""
        memo: dict[str, np.ndarray] = {} if vectors is None else vectors  # embedded once, whatever the attempts
        due = new_id("d") if self.config.strata.on_add else None  # the new turns await their strata
        ingested = _retrying(lambda: self.ingestor.add(scope, list(turns), metadata, memo, due, writer))
        if due is None or not consolidate:
            return ingested
        if self.worker is not None:
            if ingested.added:
                self.worker.note(scope.tenant)
            return ingested
        _retrying(lambda: self.consolidator.after_add(scope, ingested.ids))
        if ingested.added:
            self.store.records.clear_strata_due(scope.tenant, [due])
        return ingested

    def add_many(
        self, adds: Iterable[PendingAdd], progress: Callable[[int, int], None] | None = None
    ) -> tuple[int, int]:
        """The batch path: the adds' turns embedded a chunk at a time in large length-sorted
        batches, then written add by add; the strata of a chunk are computed together once it is
        written (``inline``) or left to the worker (``deferred``). ``progress(messages, added)``
        follows each write; returns the messages given and the turns added. A stop half-way leaves
        whole adds written and their strata due."""
        messages = added = 0
        for run in chunks(split_long(adds)):
            memo: dict[str, np.ndarray] = {}
            prefetch(self.store, self.embedder, run, memo)
            tenants: set[str] = set()
            for pending in run:
                ingested = self.add(
                    pending.scope, pending.turns, pending.metadata, memo, consolidate=False, writer=pending.writer
                )
                messages, added = messages + len(pending.turns), added + ingested.added
                if ingested.added:
                    tenants.add(pending.scope.tenant)
                if progress is not None:
                    progress(messages, added)
            for tenant in sorted(tenants) if self.config.strata.on_add else ():
                if self.worker is not None:
                    self.worker.note(tenant)
                else:
                    self.drain_due(tenant)
        return messages, added

    def drain_due(self, tenant: str, *, turns: int = 2048) -> DueReport:
        """Compute the strata of every add of ``tenant`` recorded as awaiting them, in runs of about
        ``turns`` turns (oldest first); the records of a run that fails stay for the next attempt."""
        total = DueReport()
        for run in _due_runs(self.store.records.strata_due(tenant), turns):
            for due in run:  # an import stopped before refreshing the sessions whose turns it edited
                if due.edited or due.removed:
                    refresh_session_documents(self.store, due.scope, self.config.retrieval.neighbour_window)
            report = consolidate_due(self.store, self.consolidator, tenant, run)
            total.adds, total.turns, total.failed = (
                total.adds + report.adds,
                total.turns + report.turns,
                total.failed + report.failed,
            )
            total.errors += report.errors
        return total

    def catch_up_strata(self, tenant: str) -> int:
        """Compute the strata of the tenant's turns whose add stopped before them (a killed process:
        turns stored without their facts, episodes left stale); how many adds were caught up. One
        indexed read when nothing is behind. A failure leaves the record for the next open. With
        ``strata.mode: deferred`` the worker catches up behind the open (0 returned)."""
        if self.worker is not None:
            if self.store.records.strata_due(tenant):
                self.worker.note(tenant)
            return 0
        return self.drain_due(tenant).adds

    def wait_for_strata(self, timeout: float | None = None) -> bool:
        """Block until the strata of every add this engine made so far are computed (at once with
        ``strata.mode: inline``); False if ``timeout`` seconds passed first."""
        return True if self.worker is None else self.worker.wait(timeout)

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
        vector = embed_items(self.embedder, [changed])[changed.id]  # a derived item from its first window
        if current.level != Level.TURN:
            metadata = self.consolidator.edited_fact_metadata(current, text) if current.level == Level.FACT else None
            edit = HeldEdit(scope, current.id, log, text, lexical_document(changed, []), vector, metadata)
            self._edit_derived(current, edit)
            updated = self.store.records.get_items(scope, [current.id]).get(current.id)
            if updated is None:  # deleted by another writer since
                raise NotFoundError(f"no memory item {current.id!r} in this scope")
            return updated
        documents = edited_session_documents(self.store, current, text, self.config.retrieval.neighbour_window)
        self._edit_turn(current, HeldEdit(scope, current.id, log, text, documents.pop(current.id), vector), documents)
        updated = self.store.records.get_items(scope, [current.id]).get(current.id)
        if updated is None:  # deleted by another writer since
            raise NotFoundError(f"no memory item {current.id!r} in this scope")
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
        if current.level != Level.TURN:
            self._edit_derived(current, HeldEdit(scope, current.id, log))
            return
        documents = edited_session_documents(self.store, current, None, self.config.retrieval.neighbour_window)
        self._edit_turn(current, HeldEdit(scope, current.id, log), documents)

    def _edit_derived(self, item: Item, edit: HeldEdit) -> None:
        """An update or delete of a derived item. A fact's is written with a record that its
        owner's strata are due, then its session's episode and the topics and profile drawn from
        it follow and the record is dropped: they quoted or cited what the fact no longer says."""
        tenant = item.scope.tenant
        due = [StrataDue(new_id("d"), item.scope, ())] if item.level == Level.FACT else []
        self.store.records.write(WriteBatch(edits=[edit], strata_due=due, space=self.space, tenant=tenant))
        if due:
            self.consolidator.after_fact_change(item.scope)
            self.store.records.clear_strata_due(tenant, [d.id for d in due])

    def _edit_turn(self, turn: Item, edit: HeldEdit, documents: dict[str, LexicalDocument]) -> None:
        """An update or delete (``edit.text`` None) of a turn, written in one transaction with the
        lexical documents it changes and a record that the turn's strata are to follow it, then the
        strata brought in line and the record dropped: a stop between leaves the work to the next
        open, not the facts and episode saying what the turn no longer says."""
        removed = edit.text is None
        ids = (turn.id,)
        due = StrataDue(new_id("d"), turn.scope, (), edited=() if removed else ids, removed=ids if removed else ())
        tenant = turn.scope.tenant
        self.store.records.write(
            WriteBatch(relexical=documents, edits=[edit], strata_due=[due], space=self.space, tenant=tenant)
        )
        self.consolidator.after_change(turn.scope, ids, removed=removed, gone=[turn] if removed else None)
        self.store.records.clear_strata_due(tenant, [due.id])

    def forget_ids(self, tenant: Scope, ids: Sequence[str], *, scrub: bool) -> ForgetReceipt:
        """Forget turns (or the turns facts came from) by id, after completing the tenant's forgets
        a stopped process left; ids forgotten before are skipped, and the receipt names them."""
        check_ids(ids)
        resumed = self.resume_forgets(tenant.tenant, scrub=scrub)
        gone = self.store.maintenance.forgotten_ids(tenant, ids)
        rest = [i for i in ids if i not in gone]
        if not rest:
            return already_forgotten(tenant, sorted(gone), resumed)
        receipt = self._forget(resolve_ids(self.store, tenant, rest), scrub=scrub)
        receipt.already_forgotten = sorted(gone)
        return with_resumed(receipt, resumed)

    def forget_scope(self, scope: Scope, *, scrub: bool) -> ForgetReceipt:
        """Forget a user, an agent's or a session's whole log, after completing the tenant's
        forgets a stopped process left."""
        resumed = self.resume_forgets(scope.tenant, scrub=scrub)
        receipt = self._forget(resolve_scope(self.store, scope), scrub=scrub)
        receipt.scope = scope  # what was asked to be forgotten (the plan's is its owner's: tenant and user)
        return with_resumed(receipt, resumed)

    def _forget(self, targets: Targets, *, scrub: bool) -> ForgetReceipt:
        window = self.config.retrieval.neighbour_window
        return _forget(self.store, self.consolidator, targets, window=window, scrub=scrub)

    def resume_forgets(self, tenant: str, *, scrub: bool = True) -> list[ForgetReceipt]:
        """Complete what forgets of ``tenant`` cut short after their erase left to do, and scrub the
        files when a scrub is due and no plan is left unverified (a forget is for good, even one a
        crash or ``scrub=False`` left unscrubbed; a plan that still finds its content stays pending
        and scrubbing cannot help)."""
        receipts = resume(self.store, self.consolidator, tenant)
        done = [r for r in receipts if r.ok]
        if scrub and (done or not receipts) and self.store.maintenance.scrub_due(tenant):
            scrubbed = self.store.maintenance.scrub(tenant)
            if done:
                done[-1].scrub = scrubbed
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

    def import_(self, tenant: str, source: Sources) -> ImportReport:
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
        moment = filters.as_of if filters is not None else None
        fetch = limit if moment is None else min(1000, limit * 3)
        with self.store.snapshot(scope.tenant):  # one transaction for every channel's reads
            self.check_space()  # in the same transaction (on PostgreSQL: one statement, not four round trips)
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
        with self.store.snapshot(scope.tenant):
            self.check_space()
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


def _due_runs(dues: Sequence[StrataDue], turns: int) -> list[list[StrataDue]]:
    """Consecutive runs of ``dues`` holding about ``turns`` turns each."""
    runs: list[list[StrataDue]] = []
    size = turns
    for due in dues:
        if size >= turns:
            runs.append([])
            size = 0
        runs[-1].append(due)
        size += len(due.turn_ids)
    return runs
