"""``Memory``: the public handle on an :class:`~outcrop.api.engine.Engine`, bound to one tenant.

A ``Memory`` checks its arguments, resolves scopes (``user_id`` defaults to ``"default"``) and
hands the work to the engine it holds. ``Memory("sqlite:///m.db")`` builds and owns an engine;
:meth:`Memory.for_tenant` returns another handle on the same engine for another tenant (one
server process, many tenants), which shares everything and owns nothing.
"""

from __future__ import annotations

import builtins
import dataclasses
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any

from outcrop.api.answer import Answer, answer_question
from outcrop.api.engine import Engine
from outcrop.api.files import ingest_file
from outcrop.api.filters import Filters, parse_channels, parse_filters
from outcrop.api.reports import IngestReport
from outcrop.config import MemoryConfig
from outcrop.core.explain import Stats
from outcrop.core.provenance import Writer, parse_writer
from outcrop.core.text import validate_text
from outcrop.core.time.clock import memory_time, parse_time
from outcrop.core.types import DEFAULT_USER, Context, Hit, Item, ItemVersion, Level, Messages, Scope, Timestamp
from outcrop.core.values import validate_id, validate_metadata, validate_name
from outcrop.errors import ConfigError, InvalidInputError, NotFoundError
from outcrop.ingest.messages import normalize_messages
from outcrop.lifecycle.export import ExportReport, ImportReport, Sources, Target
from outcrop.lifecycle.quarantine import flagged_items
from outcrop.lifecycle.quarantine import release as release_item
from outcrop.lifecycle.rebuild import RebuildReport
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.reindex import ReindexReport
from outcrop.llm import LLM
from outcrop.providers.base import Embedder
from outcrop.providers.registry import configured_embedder
from outcrop.retrieve.recipes import recipe as named_recipe
from outcrop.retrieve.reuse import ReadReuse
from outcrop.stores.base import SearchFilters, Store
from outcrop.strata.consolidate import ConsolidationReport
from outcrop.truth.slots import SlotValue
from outcrop.truth.timeline import timeline as _timeline

__all__ = ["Memory"]


def _id_arg(value: Any, name: str) -> str | None:
    return None if value is None else validate_name(value, name)


def _count(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(f"{name} must be an integer between {low} and {high}")
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
        if config is not None and not isinstance(config, MemoryConfig):
            raise ConfigError(
                f"config must be a MemoryConfig (MemoryConfig.build(dict) reads one), not {type(config).__name__}"
            )
        base = config or MemoryConfig()
        if store is not None:
            base = MemoryConfig.build({**base.model_dump(), "store": store})
        self._engine = Engine(base, embedder=embedder, llm=llm)
        self.config = base
        self._owns_engine = True

    @classmethod
    def _on(cls, engine: Engine, config: MemoryConfig) -> Memory:
        handle = cls.__new__(cls)
        handle._engine, handle.config, handle._owns_engine = engine, config, False
        return handle

    # -- the engine's parts, for tools and tests ------------------------------------------
    @property
    def engine(self) -> Engine:
        """The engine this handle drives (shared by every handle from :meth:`for_tenant`)."""
        return self._engine

    @property
    def store(self) -> Store:
        return self._engine.store

    @property
    def embedder(self) -> Embedder:
        return self._engine.embedder

    @property
    def llm(self) -> LLM | None:
        return self._engine.llm

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the engine (store, LLM client) if this handle built it; a handle from
        :meth:`for_tenant` leaves it open."""
        if self._owns_engine:
            self._engine.close()

    def for_tenant(self, tenant: str) -> Memory:
        """A handle on the same engine bound to ``tenant``: it shares the open store, models and
        pipeline, and closing it leaves them open."""
        handle = Memory._on(self._engine, MemoryConfig.build({**self.config.model_dump(), "tenant": tenant}))
        self._engine.resume_forgets(tenant)  # a forget of that tenant cut short is completed first
        self._engine.catch_up_strata(tenant)  # so are the strata of an add of it cut short
        return handle

    def __enter__(self) -> Memory:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({self.store.url!r}, embedder={self.embedder.id!r}, tenant={self.config.tenant!r})"

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
        messages: Messages,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        timestamp: Timestamp | None = None,
        metadata: dict[str, Any] | None = None,
        writer: Writer | str = Writer.USER,
    ) -> builtins.list[str]:
        """Append messages to memory; returns one turn id per message (the existing id for
        a message already ingested; a new turn for one whose turn was deleted since). All of the
        call is written, or none of it. Each turn records who wrote it: the writer its role names
        (``assistant`` → agent, ``tool`` → tool, ...), else ``writer``; and the flags instruction
        screening raised (:mod:`outcrop.core.screening`)."""
        metadata = validate_metadata(metadata) if metadata is not None else None
        scope = self._scope(user_id, agent_id, session_id, run_id)
        turns = normalize_messages(messages, timestamp=memory_time(timestamp), max_chars=self.config.max_text_chars)
        return self._engine.add(scope, turns, metadata or {}, writer=parse_writer(writer)).ids

    def ingest(
        self,
        path: str | os.PathLike[str],
        *,
        format: str = "auto",
        user_id: str | None = None,
        progress: Callable[[int], None] | None = None,
        total: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Add a conversation file (JSON, JSONL or LoCoMo: :mod:`outcrop.core.formats`). Every
        message of the file is checked before the first is written, so a bad message anywhere
        writes nothing. Each session (or run of 1,024 messages of a longer one) is then one write,
        embedded in large batches with its neighbours (:mod:`outcrop.api.files`); if the process
        stops half-way, ingesting the file again adds only what is missing. A JSONL file is
        streamed: its size does not bound memory. ``total`` is called once with the number of
        messages in the file, ``progress`` with the number written so far."""
        if not isinstance(path, str | os.PathLike):
            raise InvalidInputError(f"path must be a file path, not {type(path).__name__}")
        return ingest_file(
            self._engine,
            path,
            format,
            user_id,
            lambda user, session: self._scope(user, None, session),
            self.config.max_text_chars,
            progress=progress,
            total=total,
        )

    def wait_for_strata(self, timeout: float | None = None) -> bool:
        """Block until the facts, episodes, topics and profile of every add made through this
        engine so far are computed (``strata.mode: deferred`` computes them behind ``add``; inline,
        they are at once). False if ``timeout`` seconds passed first."""
        return self._engine.wait_for_strata(timeout)

    def consolidate(self, *, user_id: str | None = None, agent_id: str | None = None) -> ConsolidationReport:
        """Build or refresh the facts, episodes, topics and profile of a scope from its turns.
        Idempotent; ``add`` does this incrementally unless ``strata.on_add`` is off."""
        return self._engine.consolidate(self._scope(user_id, agent_id, None))

    def update(self, item_id: str, text: str, *, user_id: str | None = None) -> Item:
        """Replace an item's text; the old text stays in :meth:`history`. Updating a turn re-derives
        its facts and refreshes the strata above them."""
        text = validate_text(text, max_chars=self.config.max_text_chars)
        scope = self._scope(user_id, None, None, default_user=False)
        return self._engine.update(scope, self.get(item_id, user_id=user_id), text)

    def delete(self, item_id: str, *, user_id: str | None = None) -> None:
        """Remove an item from every index; its history stays readable. Deleting a turn removes the
        facts made from it and refreshes the episode, topics and profile that drew on it."""
        scope = self._scope(user_id, None, None, default_user=False)
        self._engine.delete(scope, self.get(item_id, user_id=user_id))

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
        is left, and scrub the store's files at the cost of what was erased (``scrub=False``
        defers the scrub to this tenant's next forget or open; see docs/lifecycle.md). Returns a
        :class:`~outcrop.lifecycle.ForgetReceipt`."""
        if not isinstance(scrub, bool):  # "no" was taken as true
            raise InvalidInputError("scrub must be true or false")
        if ids is not None:
            if agent_id is not None or session_id is not None or run_id is not None:
                raise InvalidInputError("forget takes ids or a scope (user_id, agent_id, session_id), not both")
            return self._engine.forget_ids(self._scope(user_id, None, None, default_user=False), ids, scrub=scrub)
        if user_id is None and agent_id is None and session_id is None and run_id is None:
            raise InvalidInputError("forget needs ids, a user_id or a session_id")
        return self._engine.forget_scope(self._scope(user_id, agent_id, session_id, run_id), scrub=scrub)

    def compact(self) -> dict[str, object]:
        """Rewrite the whole store to give free space back to the file system (SQLite ``VACUUM``,
        PostgreSQL ``VACUUM FULL`` of every table). An operator's maintenance, never needed for
        erasure: it blocks the store's writers, every tenant's, while it runs. Returns what was
        done, backend-specific (``vacuumed``, ``bytes_gone`` on SQLite; the tables on PostgreSQL)."""
        return dict(self._engine.store.maintenance.compact())

    def rebuild(self, *, user_id: str | None = None) -> RebuildReport:
        """Recompute every projection (turns' lexical documents and vectors, facts, episodes,
        topics, profile) of this tenant, or of one user, from the log; see
        :mod:`outcrop.lifecycle.rebuild`."""
        scope = self._scope(user_id, None, None, default_user=False)
        return self._engine.rebuild(scope)

    def reindex(self, embedder: str | Embedder, *, tenants: builtins.list[str] | None = None) -> ReindexReport:
        """Re-embed every item into ``embedder``'s vector space (a spec such as ``"wordllama"`` or
        an :class:`Embedder`), beside the old one, then switch to it atomically; this memory then
        embeds with the new model. ``tenants`` (default: this memory's) must cover every tenant
        of the store, or the switch is refused and the old space stays."""
        if not isinstance(embedder, str | Embedder):
            raise InvalidInputError(
                f"embedder must be a spec such as 'wordllama' or an Embedder, not {type(embedder).__name__}"
            )
        new = configured_embedder(self.config, embedder) if isinstance(embedder, str) else embedder
        return self._engine.reindex(new, tenants or [self.config.tenant])

    def export(self, target: Target, *, user_id: str | None = None, projections: bool = False) -> ExportReport:
        """Write this tenant's log (or one user's), and with ``projections`` every item, to a
        JSONL file path or text stream; see :mod:`outcrop.lifecycle.export`."""
        if not isinstance(projections, bool):
            raise InvalidInputError(f"projections must be true or false, not {projections!r}")
        scope = self._scope(user_id, None, None, default_user=False)
        return self._engine.export(scope, target, projections=projections)

    def import_(self, source: Sources) -> ImportReport:
        """Load a JSONL export (path or text stream), or a list of them as one import (all or
        nothing), into this tenant, skipping records already held, and recompute the projections.
        A malformed line raises :class:`~outcrop.errors.InvalidInputError` with its line number
        (and its file, of several) and nothing is written."""
        return self._engine.import_(self.config.tenant, source)

    # -- reads ----------------------------------------------------------------------------
    def get(self, item_id: str, *, user_id: str | None = None) -> Item:
        validate_id(item_id)
        scope = self._scope(user_id, None, None, default_user=False)
        found = self.store.records.get_items(scope, [item_id])
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
        limit, offset = _count(limit, "limit", 1, 10_000), _count(offset, "offset", 0, 10**12)
        scope = self._scope(user_id, agent_id, session_id, run_id)
        try:
            levels = (Level(level),) if level is not None else ()
        except ValueError:
            raise InvalidInputError(f"unknown level {level!r}; levels: {[lv.value for lv in Level]}") from None
        return self.store.records.list_items(
            scope, levels=levels, limit=limit, offset=offset, newest_first=newest_first
        )

    def history(self, item_id: str, *, user_id: str | None = None) -> builtins.list[ItemVersion]:
        return self.store.records.history(self._scope(user_id, None, None, default_user=False), validate_id(item_id))

    def flagged(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        released: bool = False,
        limit: int = 100,
    ) -> builtins.list[Item]:
        """The turns and facts instruction screening flagged at write time, oldest first (their
        ``metadata["screening"]`` says why); with ``released``, those released since too."""
        limit = _count(limit, "limit", 1, 10_000)
        scope = self._scope(user_id, agent_id, session_id, default_user=False)
        return flagged_items(self.store, scope, released=bool(released), limit=limit)

    def release(self, item_id: str, *, user_id: str | None = None) -> builtins.list[Item]:
        """Let a flagged item back into context (and search) under ``retrieval.quarantine``; a
        turn's facts that inherited its flags are released with it. Returns the items released."""
        scope = self._scope(user_id, None, None, default_user=False)
        return release_item(self.store, scope, self.get(item_id, user_id=user_id))

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        limit: int = 10,
        filters: Filters | None = None,
        channels: dict[str, float] | None = None,
        as_of: Timestamp | None = None,
        recipe: str = "default",
    ) -> builtins.list[Hit]:
        """Hybrid search; each :class:`Hit` carries an ``explain`` trace of the channels that found it.
        A store whose vectors another embedder made is refused (:class:`~outcrop.errors.ConfigError`).

        ``channels`` overrides the fusion weights, e.g. ``{"bm25": 1.0}`` for lexical only.
        ``recipe`` names another way to search (:mod:`outcrop.retrieve.recipes`): ``"turns"``,
        ``"bm25"``, ``"dense"`` or ``"plain-hybrid"`` (which takes no ``channels`` or ``filters``).
        """
        query = validate_text(query, max_chars=self.config.max_text_chars, what="query")
        limit = _count(limit, "limit", 1, 1000)
        chosen = named_recipe(recipe)
        scope = self._scope(user_id, agent_id, session_id, run_id)
        moment = parse_time(as_of)
        if chosen.plain and (channels is not None or filters is not None or moment is not None):
            raise InvalidInputError(f"recipe {recipe!r} takes no channels, filters or as_of")
        parsed = _as_of(parse_filters(filters), moment)
        weights = parse_channels(channels)
        return self._engine.search(scope, query, limit=limit, recipe=chosen, filters=parsed, channels=weights)

    def reusing_reads(self, *, serving: bool = True) -> AbstractContextManager[ReadReuse]:
        """A read-only stretch in which identical channel requests and query vectors are computed
        once (:mod:`outcrop.retrieve.reuse`): for asking one question several ways, as the
        evaluation does. Nobody may write to the store inside it; with ``serving`` off the block
        only records, so the next searches are computed (and timed) in full."""
        return self._engine.reusing_reads(serving=serving)

    def timeline(
        self,
        subject: str,
        attribute: str | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        as_of: Timestamp | None = None,
    ) -> builtins.list[SlotValue]:
        """A subject's slot values over time (one ``attribute`` or all), oldest first, each with its
        validity, sources and the fact that superseded it; ``as_of`` replays what memory held then.
        ``agent_id`` narrows to one agent's memories of the user."""
        subject = validate_name(subject, "subject")
        attribute = _id_arg(attribute, "attribute")
        scope = self._scope(user_id, agent_id, None)
        facts = list(self.store.records.iter_items(scope, levels=[Level.FACT]))
        moment = parse_time(as_of)
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
        filters: Filters | None = None,
        as_of: Timestamp | None = None,
    ) -> Context:
        """A cited block of the memories most relevant to ``query``, within ``max_tokens``: the
        participants' profile lines first, then items in time order. When every turn of the scope
        fits the budget, all of them are returned (``complete``): small memories need no retrieval.
        ``confidence``/``answerable`` say whether retrieval likely found the answer."""
        max_tokens = _count(max_tokens, "max_tokens", 16, 1_000_000)
        query = validate_text(query, max_chars=self.config.max_text_chars, what="query")
        scope = self._scope(user_id, agent_id, session_id, run_id)
        moment = parse_time(as_of)
        return self._engine.context(scope, query, max_tokens, _as_of(parse_filters(filters), moment))

    def stats(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None) -> Stats:
        scope = self._scope(user_id, agent_id, session_id, default_user=False)
        stats: Stats = {
            "store": self.store.url,
            "embedder": self.embedder.id,
            "tenant": scope.tenant,
            "counts": self.store.records.count(scope),
        }
        if self.llm is not None:
            stats["llm"] = {"model": self.llm.model, **self.llm.ledger.summary()}
            breaker = getattr(self.llm, "breaker_state", None)
            if breaker is not None:
                stats["llm"]["breaker"] = dataclasses.asdict(breaker)
        return stats

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


def _as_of(filters: SearchFilters | None, moment: datetime | None) -> SearchFilters | None:
    """``filters`` narrowed to what memory had recorded at ``moment`` (applied inside the store)."""
    if moment is None:
        return filters
    return dataclasses.replace(filters or SearchFilters(), as_of=moment)
