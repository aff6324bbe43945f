"""``Memory``: the public facade over a store, an embedder and the retrieval pipeline."""

from __future__ import annotations

import builtins
import copy
from collections.abc import Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from outcrop.api.answer import Answer, answer_question
from outcrop.api.filters import parse_filters
from outcrop.config import MemoryConfig
from outcrop.core.documents import dense_text, lexical_document
from outcrop.core.ids import content_hash, new_id
from outcrop.core.text import validate_text
from outcrop.core.time.clock import now, parse_time
from outcrop.core.types import DEFAULT_USER, Context, Hit, Item, ItemVersion, Level, LogRecord, Scope
from outcrop.errors import ConfigError, InvalidInputError, NotFoundError
from outcrop.ingest.messages import normalize_messages
from outcrop.ingest.turns import TurnIngestor
from outcrop.lifecycle.export import ExportReport, ImportReport
from outcrop.lifecycle.export import export_jsonl as _export
from outcrop.lifecycle.export import import_jsonl as _import
from outcrop.lifecycle.forget import forget as _forget
from outcrop.lifecycle.lexical import refresh_session_documents
from outcrop.lifecycle.rebuild import RebuildReport
from outcrop.lifecycle.rebuild import rebuild as _rebuild
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.reindex import ReindexReport
from outcrop.lifecycle.reindex import reindex as _reindex
from outcrop.lifecycle.targets import resolve_ids, resolve_scope
from outcrop.llm import LLM, open_llm
from outcrop.providers.base import Embedder
from outcrop.providers.registry import load_embedder
from outcrop.retrieve.context import pack_context
from outcrop.retrieve.pipeline import Retriever
from outcrop.retrieve.recipes import plain_hybrid
from outcrop.retrieve.recipes import recipe as named_recipe
from outcrop.retrieve.rerank import make_retriever
from outcrop.retrieve.reuse import ReadReuse, reuse_reads
from outcrop.stores.base import SearchFilters, Store, VectorSpace
from outcrop.stores.registry import open_store
from outcrop.strata.consolidate import ConsolidationReport, Consolidator
from outcrop.strata.links import absorbed_ids
from outcrop.strata.llm_producers import choose_producers
from outcrop.truth.readtime import truth_view
from outcrop.truth.slots import SlotValue
from outcrop.truth.strength import AccessTracker
from outcrop.truth.timeline import timeline as _timeline

__all__ = ["Memory"]


def _id_arg(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInputError(f"{name} must be a non-empty string of at most 200 characters")
    return value


class Memory:
    """Long-term memory for agents.

    >>> m = Memory("sqlite:///memory.db")                                  # doctest: +SKIP
    >>> m.add([{"role": "user", "name": "Caroline", "content": "I went hiking."}],
    ...       user_id="u1", session_id="s1", timestamp="2023-05-08T13:56:00")  # doctest: +SKIP
    >>> m.search("What did Caroline do?", user_id="u1")                    # doctest: +SKIP

    ``user_id`` defaults to ``"default"``; ``agent_id`` and ``session_id`` (alias ``run_id``)
    narrow a scope. Reads by id (``get``, ``update``, ``delete``, ``history``) search the whole
    tenant unless a ``user_id`` is given.
    """

    def __init__(
        self,
        store: str | None = None,
        *,
        config: MemoryConfig | None = None,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
    ) -> None:
        base = config or MemoryConfig()
        if store is not None:
            base = MemoryConfig.build({**base.model_dump(), "store": store})
        self.config = base
        self.embedder = embedder or load_embedder(base.embedder)
        self.store: Store = open_store(base.store, sqlite_synchronous=base.sqlite_synchronous)
        self._space = VectorSpace(self.embedder.id, self.embedder.dim)
        self._ingestor = TurnIngestor(self.store, self.embedder, base)
        # The LLM path (optional): ``llm`` or one built from ``config.llm``; producers, reranker
        # and ``answer`` use it, and its ledger is in ``stats()``.
        self.llm: LLM | None = llm if llm is not None else open_llm(base.llm)
        self._owns_llm = llm is None
        producers = choose_producers(base, self.llm)
        self._consolidator = Consolidator(self.store, self.embedder, base, **producers.chosen())
        self._retriever: Retriever = make_retriever(self.store, self.embedder, base.retrieval, self.llm)
        self._accesses = AccessTracker(self.store)  # what search and context return fades slower
        self._retriever.accesses = self._accesses
        self._owns_store = True

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        if self._owns_store:
            self._accesses.flush()
            self.store.close()
            close_llm = getattr(self.llm, "close", None) if self._owns_llm else None
            if close_llm is not None:
                close_llm()

    def for_tenant(self, tenant: str) -> Memory:
        """A view of this memory bound to ``tenant``, sharing the open store, embedder and pipeline
        (one server process, many tenants). Closing a view leaves the shared store open."""
        view = copy.copy(self)
        view.config = MemoryConfig.build({**self.config.model_dump(), "tenant": tenant})
        view._owns_store = False
        return view

    def __enter__(self) -> Memory:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({self.store.url!r}, embedder={self.embedder.id!r})"

    # -- scopes ---------------------------------------------------------------------------
    def _scope(
        self,
        user_id: str | None,
        agent_id: str | None,
        session_id: str | None,
        run_id: str | None = None,
        *,
        default_user: bool = True,
    ) -> Scope:
        if session_id is not None and run_id is not None and session_id != run_id:
            raise InvalidInputError("session_id and run_id are aliases; give one of them")
        user = _id_arg(user_id, "user_id")
        return Scope(
            tenant=self.config.tenant,
            user_id=user if user is not None else (DEFAULT_USER if default_user else None),
            agent_id=_id_arg(agent_id, "agent_id"),
            session_id=_id_arg(session_id if session_id is not None else run_id, "session_id"),
        )

    # -- writes ---------------------------------------------------------------------------
    def add(
        self,
        messages: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        timestamp: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> builtins.list[str]:
        """Append messages to memory; returns one turn id per message (the existing id for
        a message already ingested). All of the call is written, or none of it."""
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata must be an object")
        scope = self._scope(user_id, agent_id, session_id, run_id)
        turns = normalize_messages(messages, timestamp=parse_time(timestamp), max_chars=self.config.max_text_chars)
        ids = self._ingestor.add(scope, turns, metadata or {})
        if self.config.strata.on_add:
            self._consolidator.after_add(scope, ids)
        return ids

    def consolidate(self, *, user_id: str | None = None, agent_id: str | None = None) -> ConsolidationReport:
        """Build or refresh the facts, episodes, topics and profile of a scope from its turns.
        Idempotent; ``add`` does this incrementally unless ``strata.on_add`` is off."""
        return self._consolidator.consolidate(self._scope(user_id, agent_id, None))

    def update(self, item_id: str, text: str, *, user_id: str | None = None) -> Item:
        """Replace an item's text; the old text stays in :meth:`history`. Updating a turn re-derives
        its facts and refreshes the strata above them."""
        text = validate_text(text, max_chars=self.config.max_text_chars)
        scope = self._scope(user_id, None, None, default_user=False)
        current = self.get(item_id, user_id=user_id)
        log = LogRecord(
            id=new_id("l"),
            scope=current.scope,
            kind="update",
            payload={"item_id": item_id, "text": text},
            content_hash=content_hash("update", item_id, text, new_id("u")),
            recorded_at=now(),
        )
        changed = current.model_copy(update={"text": text})
        vector = self.embedder.embed([dense_text(changed)])[0]
        lexical = lexical_document(changed, [])
        updated = self.store.update_item(scope, item_id, text, log, lexical, vector, self._space)
        if current.level == Level.TURN:
            # the turn's own document and its neighbours' context carry the new text, not the old
            refresh_session_documents(self.store, current.scope, self.config.retrieval.neighbour_window)
            self._consolidator.after_change(current.scope, [item_id], removed=False)
        return updated

    def delete(self, item_id: str, *, user_id: str | None = None) -> None:
        """Remove an item from every index; its history stays readable. Deleting a turn removes the
        facts made from it and refreshes the episode, topics and profile that drew on it."""
        scope = self._scope(user_id, None, None, default_user=False)
        current = self.get(item_id, user_id=user_id)
        log = LogRecord(
            id=new_id("l"),
            scope=current.scope,
            kind="delete",
            payload={"item_id": item_id, **_absorbed(current)},
            content_hash=content_hash("delete", item_id, new_id("u")),
            recorded_at=now(),
        )
        self.store.delete_item(scope, item_id, log)
        if current.level == Level.TURN:
            # the neighbours' context documents no longer carry the deleted turn's words
            refresh_session_documents(self.store, current.scope, self.config.retrieval.neighbour_window)
            self._consolidator.after_change(current.scope, [item_id], removed=True)

    def forget(
        self,
        ids: builtins.list[str] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        scrub: bool = True,
    ) -> ForgetReceipt:
        """Erase for good: the log records of the given turns (or facts: the turns they came
        from), of a session, or of a whole user; every projection that depended only on them;
        then recompute what depended on them in part, verify by search that none of the content
        is left, and scrub the store's files (``scrub=False`` skips the file rewrite). Returns a
        :class:`~outcrop.lifecycle.ForgetReceipt`."""
        if ids is not None:
            if agent_id is not None or session_id is not None or run_id is not None:
                raise InvalidInputError("forget takes ids or a scope (user_id, agent_id, session_id), not both")
            tenant = self._scope(user_id, None, None, default_user=False)
            targets = resolve_ids(self.store, tenant, ids)
        else:
            if user_id is None and agent_id is None and session_id is None and run_id is None:
                raise InvalidInputError("forget needs ids, a user_id or a session_id")
            targets = resolve_scope(self.store, self._scope(user_id, agent_id, session_id, run_id))
        return _forget(
            self.store, self._consolidator, targets, window=self.config.retrieval.neighbour_window, scrub=scrub
        )

    def rebuild(self, *, user_id: str | None = None) -> RebuildReport:
        """Recompute every projection (turns' lexical documents and vectors, facts, episodes,
        topics, profile) of this tenant, or of one user, from the log; see
        :mod:`outcrop.lifecycle.rebuild`."""
        scope = self._scope(user_id, None, None, default_user=False)
        return _rebuild(
            self.store, self.embedder, self._consolidator, scope, window=self.config.retrieval.neighbour_window
        )

    def reindex(self, embedder: str | Embedder, *, tenants: builtins.list[str] | None = None) -> ReindexReport:
        """Re-embed every item into ``embedder``'s vector space (a spec such as ``"wordllama"`` or
        an :class:`Embedder`), beside the old one, then switch to it atomically; this memory then
        embeds with the new model. ``tenants`` (default: this memory's) must cover every tenant
        of the store, or the switch is refused and the old space stays."""
        new = load_embedder(embedder) if isinstance(embedder, str) else embedder
        report = _reindex(self.store, new, tenants or [self.config.tenant])
        self.embedder = new
        self._space = VectorSpace(new.id, new.dim)
        self._ingestor = TurnIngestor(self.store, new, self.config)
        producers = choose_producers(self.config, self.llm)
        self._consolidator = Consolidator(self.store, new, self.config, **producers.chosen())
        self._retriever = make_retriever(self.store, new, self.config.retrieval, self.llm)
        self._retriever.accesses = self._accesses
        return report

    def export(self, target: Any, *, user_id: str | None = None, projections: bool = False) -> ExportReport:
        """Write this tenant's log (or one user's), and with ``projections`` every item, to a
        JSONL file path or text stream; see :mod:`outcrop.lifecycle.export`."""
        scope = self._scope(user_id, None, None, default_user=False)
        return _export(self.store, scope, target, projections=projections)

    def import_(self, source: Any) -> ImportReport:
        """Load a JSONL export (path or text stream) into this tenant, skipping records already
        held, and recompute the projections. A malformed line raises
        :class:`~outcrop.errors.InvalidInputError` with its line number and nothing is written."""
        return _import(
            self.store,
            self.embedder,
            self._consolidator,
            self.config.tenant,
            source,
            window=self.config.retrieval.neighbour_window,
        )

    # -- reads ----------------------------------------------------------------------------
    def get(self, item_id: str, *, user_id: str | None = None) -> Item:
        if not isinstance(item_id, str) or not item_id:
            raise InvalidInputError("id must be a non-empty string")
        scope = self._scope(user_id, None, None, default_user=False)
        found = self.store.get_items(scope, [item_id])
        if item_id not in found:
            raise NotFoundError(f"no memory item {item_id!r} in this scope")
        return found[item_id]

    def list(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        level: str | Level | None = None,
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = False,
    ) -> builtins.list[Item]:
        if not 1 <= limit <= 10_000 or offset < 0:
            raise InvalidInputError("limit must be 1..10000 and offset >= 0")
        scope = self._scope(user_id, agent_id, session_id, run_id)
        levels = (Level(level),) if level is not None else ()
        return self.store.list_items(scope, levels=levels, limit=limit, offset=offset, newest_first=newest_first)

    def history(self, item_id: str, *, user_id: str | None = None) -> builtins.list[ItemVersion]:
        return self.store.history(self._scope(user_id, None, None, default_user=False), item_id)

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        limit: int = 10,
        filters: SearchFilters | dict[str, Any] | None = None,
        channels: dict[str, float] | None = None,
        as_of: Any = None,
        recipe: str = "default",
    ) -> builtins.list[Hit]:
        """Hybrid search; each :class:`Hit` carries an ``explain`` trace of the channels that found it.

        ``channels`` overrides the fusion weights, e.g. ``{"bm25": 1.0}`` for lexical only.
        ``recipe`` names another way to search (:mod:`outcrop.retrieve.recipes`): ``"turns"``,
        ``"bm25"``, ``"dense"`` or ``"plain-hybrid"`` (which takes no ``channels`` or ``filters``).
        """
        query = validate_text(query, max_chars=self.config.max_text_chars, what="query")
        if not 1 <= limit <= 1000:
            raise InvalidInputError("limit must be between 1 and 1000")
        chosen = named_recipe(recipe)
        scope = self._scope(user_id, agent_id, session_id, run_id)
        moment = parse_time(as_of) if as_of is not None else None
        fetch = limit if moment is None else min(1000, limit * 3)
        if chosen.plain:
            if channels is not None or filters is not None:
                raise InvalidInputError(f"recipe {recipe!r} takes no channels or filters")
            hits = plain_hybrid(self.store, self.embedder, scope, query, fetch)
        else:
            hits = self._retriever.search(
                scope,
                query,
                limit=fetch,
                filters=chosen.narrow(parse_filters(filters)),
                weights=channels if channels is not None else chosen.channels,
            )
        weight = self.config.retrieval.superseded_weight
        found = truth_view(self.store, scope, hits, as_of=moment, superseded_weight=weight)[:limit]
        self._note_reads(scope, found)
        return found

    def reusing_reads(self, *, serving: bool = True) -> AbstractContextManager[ReadReuse]:
        """A read-only stretch in which identical channel requests and query vectors are computed
        once (:mod:`outcrop.retrieve.reuse`): for asking one question several ways, as the
        evaluation does. Nobody may write to the store inside it; with ``serving`` off the block
        only records, so the next searches are computed (and timed) in full."""
        return reuse_reads(serving=serving)

    def _note_reads(self, scope: Scope, hits: Sequence[Hit]) -> None:
        if self.config.retrieval.track_access and hits:
            self._accesses.note(scope.tenant, (h.id for h in hits))

    def timeline(
        self,
        subject: str,
        attribute: str | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        as_of: Any = None,
    ) -> builtins.list[SlotValue]:
        """A subject's slot values over time (one ``attribute`` or all), oldest first, each with its
        validity, sources and the fact that superseded it; ``as_of`` replays what memory held then.
        ``agent_id`` narrows to one agent's memories of the user."""
        if not isinstance(subject, str) or not subject.strip():
            raise InvalidInputError("subject must be a non-empty string")
        scope = self._scope(user_id, agent_id, None)
        facts = self.store.list_items(scope, levels=[Level.FACT], limit=100_000)
        moment = parse_time(as_of) if as_of is not None else None
        return _timeline(facts, subject.strip(), attribute, as_of=moment)

    def context(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        max_tokens: int = 1000,
        filters: SearchFilters | dict[str, Any] | None = None,
        as_of: Any = None,
    ) -> Context:
        """A cited block of the memories most relevant to ``query``, within ``max_tokens``: the
        participants' profile lines first, then items in time order. When every turn of the scope
        fits the budget, all of them are returned (``complete``): small memories need no retrieval.
        ``confidence``/``answerable`` say whether retrieval likely found the answer."""
        if max_tokens < 16:
            raise InvalidInputError("max_tokens must be at least 16")
        query = validate_text(query, max_chars=self.config.max_text_chars, what="query")
        scope = self._scope(user_id, agent_id, session_id, run_id)
        parsed = parse_filters(filters)
        moment = parse_time(as_of) if as_of is not None else None
        if moment is None and (parsed is None or parsed.empty):
            whole = self._whole_scope(scope, query, max_tokens)
            if whole is not None:
                return whole
        retrieval = self._retriever.retrieve(
            scope,
            query,
            limit=min(1000, max(50, max_tokens // 10)),
            filters=parsed,
            reserve=self.config.retrieval.context_dense_reserve,
        )
        named = self._retriever.analyse(scope, query).speakers
        profile = [
            Hit.from_item(item, 0.0, {"profile": True})
            for item in self.store.list_items(
                scope.model_copy(update={"session_id": None}), levels=[Level.PROFILE], limit=200
            )
            if (not named or item.speaker in named)
            and (moment is None or (item.updated_at or item.recorded_at or moment) <= moment)  # as_of: no later profile
        ]
        profile.sort(key=lambda h: -int(h.metadata.get("support", 0)))
        wanted = [s for h in retrieval.hits for s in h.explain.get("zoom_in", [])]
        support = {
            item.id: Hit.from_item(item, 0.0, {"zoom_in_of": True})
            for item in self.store.get_items(scope, wanted).values()
        }
        hits = truth_view(
            self.store, scope, retrieval.hits, as_of=moment, superseded_weight=self.config.retrieval.superseded_weight
        )
        context = pack_context(query, hits, max_tokens, profile=profile, support=support)
        self._note_reads(scope, context.items)
        context.confidence = round(retrieval.confidence.score, 4)
        context.answerable = retrieval.answerable
        context.explain = {
            "route": retrieval.route.explain(),
            "confidence": retrieval.confidence.explain(),
            "widened": retrieval.widened,
        }
        return context

    def _whole_scope(self, scope: Scope, query: str, max_tokens: int) -> Context | None:
        turns = self.store.count(scope).get(Level.TURN.value, 0)
        if turns == 0 or turns * 5 > max_tokens:  # a turn line costs at least ~5 tokens ([n], a speaker, a word)
            return None
        items = self.store.list_items(scope, levels=[Level.TURN], limit=turns)
        hits = [Hit.from_item(item, 1.0, {"whole_scope": True}) for item in items]
        context = pack_context(query, hits, max_tokens)
        if len(context.items) < len(hits):
            return None
        context.confidence, context.answerable, context.complete = 1.0, True, True
        context.explain = {"whole_scope": True}
        return context

    def stats(
        self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None
    ) -> dict[str, Any]:
        scope = self._scope(user_id, agent_id, session_id, default_user=False)
        return {
            "store": self.store.url,
            "embedder": self.embedder.id,
            "tenant": scope.tenant,
            "counts": self.store.count(scope),
            **({"llm": {"model": self.llm.model, **self.llm.ledger.summary()}} if self.llm is not None else {}),
        }

    def answer(
        self,
        question: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        max_tokens: int = 1000,
    ) -> Answer:
        """Answer ``question`` from memory with the configured LLM: the :meth:`context` for it
        (``max_tokens``) goes to the model, which answers citing item ids, or abstains when the
        memories do not say. Raises :class:`~outcrop.errors.ConfigError` without an LLM and
        :class:`~outcrop.errors.LLMError` when the call fails."""
        if self.llm is None:
            raise ConfigError("answer needs an LLM: set llm.base_url and llm.model (OUTCROP_LLM_BASE_URL/_MODEL)")
        query = validate_text(question, max_chars=self.config.max_text_chars, what="question")
        return answer_question(
            self,
            self.llm,
            query,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id or run_id,
            max_tokens=max_tokens,
        )


def _absorbed(item: Item) -> dict[str, Any]:
    """A merged fact's delete record also names the facts it absorbed (strata/links.py): their
    tombstone, so consolidating again does not bring the restatements back."""
    ids = absorbed_ids(item)
    return {"absorbed": ids} if ids else {}
