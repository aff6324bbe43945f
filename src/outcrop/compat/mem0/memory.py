"""``Memory``: mem0's API (2.0.x shapes, 1.0.x calling convention too) over outcrop's engine.

Each message added is one memory (an outcrop turn), as mem0 stores messages with ``infer=False``;
``search`` runs outcrop's hybrid retrieval over those memories. What each mem0 argument does here
is tabled in docs/integrations/mem0.md; what cannot be honoured as mem0 would raises an outcrop
error or warns with :class:`~outcrop.compat.mem0.errors.Mem0CompatWarning`.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from outcrop.api.memory import Memory as NativeMemory
from outcrop.compat.mem0 import filters as mem0_filters
from outcrop.compat.mem0.config import to_memory_config
from outcrop.compat.mem0.errors import Mem0CompatWarning, MemoryNotFoundError
from outcrop.compat.mem0.shapes import from_mem0_id, history_rows, iso, memory_item, to_mem0_id, user_metadata
from outcrop.config import MemoryConfig
from outcrop.core.text import validate_text
from outcrop.core.time.clock import now
from outcrop.core.types import Hit, Item, Level, Scope, Timestamp
from outcrop.core.values import validate_id, validate_metadata
from outcrop.errors import ConfigError, InvalidInputError, NotFoundError
from outcrop.lifecycle.logs import iter_log
from outcrop.lifecycle.mem0_import import Mem0ImportReport, read_mem0
from outcrop.lifecycle.mem0_import import expiration_date as expiration_date_of
from outcrop.llm import LLM
from outcrop.providers.base import Embedder
from outcrop.retrieve.recipes import recipe as named_recipe
from outcrop.stores.base import SearchFilters, VectorSpace

__all__ = ["Memory"]

PROCEDURAL = "procedural_memory"
_UNSET: Any = object()
_PAGE = 500
_MAX_FETCH = 1000


def _expired(item: Item) -> bool:
    """Past its ``expiration_date``; a stored value that is not a date (one written before dates
    were checked) expires nothing rather than fail every read of the scope."""
    when = item.metadata.get("expiration_date")
    if not isinstance(when, str):
        return False
    try:
        return date.fromisoformat(when) < datetime.now(UTC).date()
    except ValueError:
        return False


def _messages(messages: Any) -> list[dict[str, Any]]:
    """mem0's ``messages`` (a string, a message dict or a list of them) as messages, without the
    system messages (mem0 does not store them)."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    elif isinstance(messages, Mapping):
        messages = [messages]
    elif not isinstance(messages, list):
        raise InvalidInputError("messages must be str, dict, or list[dict]")
    out = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") is None or message.get("content") is None:
            raise InvalidInputError(f"message {index} must be a dict with 'role' and 'content'")
        if message["role"] == "system":
            continue
        kept = {"role": message["role"], "content": message["content"]}
        if message.get("name"):
            kept["name"] = message["name"]
        out.append(kept)
    return out


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be a non-negative integer")
    return value


def _how_many(top_k: int | None, limit: int | None, default: int) -> int:
    """``top_k`` (2.0.x) or ``limit`` (1.0.x)."""
    if top_k is not None and limit is not None and top_k != limit:
        raise InvalidInputError("top_k and limit are the same setting (2.0.x and 1.0.x names); give one")
    chosen = top_k if top_k is not None else limit
    return default if chosen is None else _count(chosen, "top_k")


class Memory:
    """mem0's ``Memory`` backed by outcrop (docs/integrations/mem0.md).

    >>> from outcrop.compat.mem0 import Memory                                   # doctest: +SKIP
    >>> m = Memory.from_config({"outcrop": {"store": "sqlite:///memory.db"}})   # doctest: +SKIP
    >>> m.add("I love hiking in the Alps", user_id="alice", infer=False)         # doctest: +SKIP
    >>> m.search("hobbies?", filters={"user_id": "alice"})["results"]           # doctest: +SKIP

    ``config`` is mem0's config dict (its mem0 sections are accepted but unused; outcrop's own
    settings go under ``"outcrop"``) or an outcrop :class:`MemoryConfig`. ``native`` is the outcrop
    :class:`~outcrop.api.memory.Memory` underneath, for what mem0's API has no name for.
    """

    def __init__(
        self,
        config: object | None = None,
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
    ) -> None:
        self.native = NativeMemory(config=to_memory_config(config), embedder=embedder, llm=llm)
        self._warned: set[str] = set()

    @classmethod
    def from_config(cls, config_dict: dict[str, Any], **kwargs: Any) -> Memory:
        """mem0's constructor from a dict (see the class docstring)."""
        return cls(to_memory_config(config_dict, stacklevel=3), **kwargs)

    @property
    def config(self) -> MemoryConfig:
        return self.native.config

    def close(self) -> None:
        self.native.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, Mem0CompatWarning, stacklevel=3)

    # -- scopes -----------------------------------------------------------------------------
    @property
    def _tenant(self) -> str:
        return self.config.tenant

    def _scope(self, ids: dict[str, str]) -> Scope:
        """The outcrop scope of mem0 ids: no ``user_id`` reads every user (as mem0's filters do)."""
        return Scope(
            tenant=self._tenant, user_id=ids.get("user_id"), agent_id=ids.get("agent_id"), session_id=ids.get("run_id")
        )

    def _item(self, memory_id: Any) -> Item | None:
        oid = from_mem0_id(validate_id(memory_id, "memory_id"))
        return self.native.store.records.get_items(Scope(tenant=self._tenant, user_id=None), [oid]).get(oid)

    def _found(self, memory_id: Any) -> Item:
        item = self._item(memory_id)
        if item is None:
            raise MemoryNotFoundError(f"Memory with id {memory_id} not found")
        return item

    # -- writes -----------------------------------------------------------------------------
    def add(
        self,
        messages: Any,
        *,
        user_id: Any = None,
        agent_id: Any = None,
        run_id: Any = None,
        metadata: dict[str, Any] | None = None,
        timestamp: Timestamp | None = None,
        expiration_date: Any = None,
        infer: bool = True,
        memory_type: str | None = None,
        prompt: str | None = None,
    ) -> dict[str, Any]:
        """Store each message (system messages aside) as one memory; see the docs table for
        ``infer``, ``timestamp``, ``memory_type`` and ``prompt``."""
        ids = mem0_filters.scope_ids(user_id, agent_id, run_id)
        if not ids:
            raise InvalidInputError("At least one of 'user_id', 'agent_id', or 'run_id' must be provided.")
        if memory_type is not None and memory_type != PROCEDURAL:
            raise InvalidInputError(f"Invalid 'memory_type'. Please pass {PROCEDURAL} to create procedural memories.")
        if memory_type == PROCEDURAL:
            raise ConfigError("procedural memory is a summary written by mem0's LLM; outcrop.compat.mem0 has none")
        if infer:
            self._warn_once(
                "infer",
                "infer=True: outcrop stores the messages as memories (as mem0 does with infer=False) and derives "
                "its facts, episodes and profile beside them; mem0's LLM extraction (ADD/UPDATE/DELETE) is not run",
            )
        if prompt is not None:
            self._warn_once("prompt", "prompt is an instruction for mem0's LLM extraction; outcrop does not use it")
        meta = dict(validate_metadata(metadata)) if metadata is not None else {}
        dropped = sorted(k for k in (*mem0_filters.SCOPE_KEYS, "actor_id") if meta.pop(k, None) is not None)
        if dropped:
            self._warn_once("identity", f"metadata {dropped} ignored: a memory's scope is set by the id arguments")
        if "expiration_date" in meta:  # as the argument is checked: "soon" made every later read fail
            if expiration_date is not None:
                raise InvalidInputError("expiration_date given twice (argument and metadata); give one")
            expiration_date = meta.pop("expiration_date")
        expires = expiration_date_of(expiration_date)
        if expires is not None:
            meta["expiration_date"] = expires
        wanted = _messages(messages)
        if not wanted:
            return {"results": []}
        # the time of the add is part of an input's identity, so the same message added again later
        # is a new memory, as in mem0 (outcrop's add alone keeps one memory per input)
        turn_ids = self.native.add(
            wanted,
            user_id=ids.get("user_id"),
            agent_id=ids.get("agent_id"),
            run_id=ids.get("run_id"),
            timestamp=timestamp if timestamp is not None else now(),
            metadata=meta or None,
        )
        held = self.native.store.records.get_items(Scope(tenant=self._tenant, user_id=None), turn_ids)
        results = []
        for item in (held[i] for i in turn_ids):
            results.append(
                {
                    "id": to_mem0_id(item.id),
                    "memory": item.text,
                    "event": "ADD",
                    "actor_id": item.speaker,
                    "role": item.role,
                }
            )
        return {"results": results}

    def update(
        self,
        memory_id: str,
        text: str | None = None,
        metadata: dict[str, Any] | None = None,
        expiration_date: Any = _UNSET,
        data: str | None = None,
    ) -> dict[str, str]:
        """Replace a memory's text (``text``, or ``data``, its 1.0.x name); the old text stays in
        :meth:`history`. outcrop keeps the metadata a memory was added with: ``metadata`` and
        ``expiration_date`` are refused."""
        if text is not None and data is not None and text != data:
            raise InvalidInputError("text and data are the same argument (2.0.x and 1.0.x names); give one")
        text = data if text is None else text
        if text is None and metadata is None and expiration_date is _UNSET:
            raise InvalidInputError("At least one of text, metadata, or expiration_date must be provided.")
        if metadata is not None or expiration_date is not _UNSET:
            raise InvalidInputError(
                "outcrop keeps the metadata and expiration_date a memory was added with (its log is the truth); "
                "update(metadata=..., expiration_date=...) is not supported: delete the memory and add it again"
            )
        item = self._found(memory_id)
        validate_text(text, max_chars=self.config.max_text_chars)
        self.native.update(item.id, str(text))
        return {"message": "Memory updated successfully!"}

    def delete(self, memory_id: str) -> dict[str, str]:
        """Delete one memory (its history stays); an unknown id raises ``ValueError``
        (:class:`MemoryNotFoundError`), as mem0 does."""
        self.native.delete(self._found(memory_id).id)
        return {"message": "Memory deleted successfully!"}

    def delete_all(self, user_id: Any = None, agent_id: Any = None, run_id: Any = None) -> dict[str, str]:
        """Delete every memory of a scope, each as :meth:`delete` does (histories stay). To erase
        for good, use ``native.forget``."""
        ids = mem0_filters.scope_ids(user_id, agent_id, run_id)
        if not ids:
            raise InvalidInputError(
                "At least one filter is required to delete all memories. "
                "If you want to delete all memories, use the `reset()` method."
            )
        for item in list(self._turns(self._scope(ids))):
            self.native.delete(item.id)
        return {"message": "Memories deleted successfully!"}

    def reset(self) -> None:
        """Erase every memory of this tenant, with its history (outcrop's ``forget`` of each user)."""
        tenant = Scope(tenant=self._tenant, user_id=None)
        users = {r.scope.user_id for r in iter_log(self.native.store, tenant) if r.scope.user_id is not None}
        for user in sorted(users):
            self.native.forget(user_id=user)

    # -- reads ------------------------------------------------------------------------------
    def get(self, memory_id: str) -> dict[str, Any] | None:
        """A memory by id, or ``None``."""
        item = self._item(memory_id)
        return None if item is None else memory_item(item)

    def _turns(self, scope: Scope) -> Iterator[Item]:
        offset = 0
        while True:
            page = self.native.store.records.list_items(scope, levels=(Level.TURN,), limit=_PAGE, offset=offset)
            yield from page
            if len(page) < _PAGE:
                return
            offset += len(page)

    def get_all(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        top_k: int | None = None,
        show_expired: bool = False,
        user_id: Any = None,
        agent_id: Any = None,
        run_id: Any = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The memories of a scope, oldest first: ids in ``filters`` (2.0.x) or at top level (1.0.x)."""
        parsed = mem0_filters.parse(filters, user_id=user_id, agent_id=agent_id, run_id=run_id)
        if not parsed.ids:
            raise InvalidInputError("filters must contain at least one of: user_id, agent_id, run_id.")
        wanted = _how_many(top_k, limit, 20)
        results: list[dict[str, Any]] = []
        for item in self._turns(self._scope(parsed.ids)) if wanted else ():
            if self._keeps(item, parsed, show_expired):
                results.append(memory_item(item, with_score=False))
                if len(results) >= wanted:
                    break
        return {"results": results}

    def _keeps(self, item: Item, parsed: mem0_filters.Mem0Filters, show_expired: bool) -> bool:
        if not show_expired and _expired(item):
            return False
        if parsed.actor_id is not None and item.speaker != parsed.actor_id:
            return False
        if any(item.metadata.get(k) != v for k, v in parsed.equal.items()):
            return False
        fields = {
            **(user_metadata(item.metadata) or {}),
            "memory": item.text,
            "hash": hashlib.md5(item.text.encode()).hexdigest(),
            "role": item.role,
            "actor_id": item.speaker,
            "expiration_date": item.metadata.get("expiration_date"),
            "created_at": iso(item.timestamp or item.recorded_at),  # as memory_item shows them
            "updated_at": iso(item.updated_at or item.recorded_at),
        }
        return parsed.accepts(fields)

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """A memory's versions, oldest first (``[]`` for an unknown id, as mem0)."""
        oid = from_mem0_id(validate_id(memory_id, "memory_id"))
        tenant = Scope(tenant=self._tenant, user_id=None)
        try:
            versions = self.native.store.records.history(tenant, oid)
        except NotFoundError:
            return []
        # the role and speaker the memory was added with (its add record; the turn may be deleted)
        first = self.native.store.records.log_records(tenant, ids=[versions[0].log_id], limit=1)
        payload = first[0].payload if first else {}
        return history_rows(versions, payload.get("speaker"), payload.get("role"))

    def search(
        self,
        query: str,
        *,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        threshold: float | None = 0.1,
        rerank: bool = False,
        explain: bool = False,
        reference_date: Any = None,
        show_expired: bool = False,
        user_id: Any = None,
        agent_id: Any = None,
        run_id: Any = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """outcrop's hybrid search over the memories of a scope, in its fused order; each result's
        ``score`` is the cosine of the query and the memory (mem0's semantic score), ``threshold``
        its floor, and ``score_details`` (with ``explain``) carries outcrop's trace."""
        if reference_date is not None:
            raise InvalidInputError("reference_date is a mem0 platform feature, not supported by mem0's OSS nor here")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1
        ):
            raise InvalidInputError(f"Invalid threshold: {threshold}. Must be between 0 and 1 (inclusive).")
        wanted = _how_many(top_k, limit, 20)
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("Invalid query: cannot be empty or whitespace-only.")
        query = validate_text(query.strip(), max_chars=self.config.max_text_chars, what="query")
        parsed = mem0_filters.parse(filters, user_id=user_id, agent_id=agent_id, run_id=run_id)
        if not parsed.ids:
            raise InvalidInputError("filters must contain at least one of: user_id, agent_id, run_id.")
        if rerank and (self.config.retrieval.rerank == "none" or self.native.llm is None):
            self._warn_once(
                "rerank",
                "rerank=True: no reranker is configured (outcrop's retrieval.rerank='llm' with an LLM); "
                "results keep outcrop's fused order",
            )
        if wanted == 0:
            return {"results": []}
        scope = self._scope(parsed.ids)
        narrow = SearchFilters(
            metadata=parsed.equal,
            speakers=() if parsed.actor_id is None else (parsed.actor_id,),
            levels=(Level.TURN,),
        )
        fetch = min(_MAX_FETCH, max(wanted * 4, 60))
        hits = self.native.engine.search(
            scope, query, limit=fetch, recipe=named_recipe("turns"), filters=narrow, channels=None
        )
        items = self.native.store.records.get_items(Scope(tenant=self._tenant, user_id=None), [h.id for h in hits])
        kept = [(h, items[h.id]) for h in hits if h.id in items and self._keeps(items[h.id], parsed, show_expired)]
        floor = 0.0 if threshold is None else float(threshold)
        q = self.native.engine.retriever.dense.query_vector(query)  # the search's own, not embedded again
        results: list[dict[str, Any]] = []
        step = max(wanted, 8)  # scored a run at a time, in order: only as many as the results need
        for start in range(0, len(kept), step):
            run = kept[start : start + step]
            similarity = self._similarity(q, [item for _, item in run])
            for hit, item in run:
                semantic = similarity.get(item.id, 0.0)
                if semantic < floor:
                    continue
                entry = memory_item(item, score=semantic)
                if explain:
                    entry["score_details"] = _details(hit, semantic, floor)
                results.append(entry)
                if len(results) >= wanted:
                    return {"results": results}
        return {"results": results}

    def _similarity(self, q: np.ndarray, items: list[Item]) -> dict[str, float]:
        """The cosine of the query vector ``q`` and each memory's stored vector (unit length), the
        measure mem0 scores and thresholds by. outcrop embeds a memory with an actor as
        ``actor: text``, so its score differs from mem0's there (embedding the bare text again
        made a search some 20 times slower)."""
        embedder = self.native.embedder
        space = VectorSpace(embedder.id, embedder.dim)
        tenant = Scope(tenant=self._tenant, user_id=None)
        vectors = self.native.store.vectors.vectors_for(tenant, space, [i.id for i in items])
        return {i: float(np.dot(np.asarray(v, dtype=np.float32).reshape(-1), q)) for i, v in vectors.items()}

    def import_mem0(
        self, source: str | Path, *, collection: str = "mem0", history_db: str | Path | None = None
    ) -> Mem0ImportReport:
        """Import a mem0 store (its local Qdrant folder and history database, or a JSON file of
        ``get_all``'s result) with its ids, scopes, metadata, history and times; the memories then
        answer to their mem0 ids here (:mod:`outcrop.lifecycle.mem0_import`)."""
        read = read_mem0(source, collection=collection, history_db=history_db)
        return read.report(self.native.import_(read.as_export(self._tenant)))

    def chat(self, query: str) -> Any:
        raise NotImplementedError("Chat function not implemented yet.")  # as mem0's


def _details(hit: Hit, semantic: float, threshold: float) -> dict[str, Any]:
    """mem0's ``score_details`` keys, plus outcrop's fused score and its whole explain trace."""
    channels = hit.explain.get("channels", {})
    lexical = channels.get("bm25")
    bm25 = lexical.get("score", 0.0) if lexical is not None else 0.0
    return {
        "semantic_score": semantic,
        "bm25_score": float(bm25),
        "final_score": semantic,
        "threshold": threshold,
        "fused_score": hit.score,
        "explain": dict(hit.explain),
    }
