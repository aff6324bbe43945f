"""The storage seams: what every backend provides, and the contract it keeps.

A store holds the append-only log and the projections derived from it (items at every level,
their sources, version history, a lexical index and vector indexes), behind four narrow seams
that its users ask for by name:

* :class:`Records`: the log, items, versions, sources, links, positions and access counts;
* :class:`LexicalIndex`: BM25 over each item's lexical document;
* :class:`VectorIndex`: cosine search over one active vector space;
* :class:`Maintenance`: physical erasure and scrubbing, for forget.

A :class:`Store` is the four seams over one database (``store.records``, ``store.lexical``,
``store.vectors``, ``store.maintenance``); a backend is one package that composes them
(``stores/sqlite/``, ``stores/postgres/``), checked by one contract suite
(``tests/stores/test_contract.py``).

Every read and write takes a :class:`~outcrop.core.types.Scope`; the store itself restricts every
statement to it: ``tenant`` always, ``user_id`` whenever it is set, ``agent_id``/``session_id``
when set. Scores returned by searches follow one direction: higher is better.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from outcrop.core.documents import LexicalDocument
from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope, Vectors

__all__ = [
    "ForgetPlan",
    "HeldEdit",
    "LexicalDocument",
    "LexicalIndex",
    "Link",
    "Maintenance",
    "Records",
    "ScoredId",
    "SearchFilters",
    "Store",
    "StrataDue",
    "VectorIndex",
    "VectorSpace",
    "WriteBatch",
]

ScoredId = tuple[str, float]


@dataclass(frozen=True)
class SearchFilters:
    """Narrowing conditions applied by the store inside every channel."""

    since: datetime | None = None
    until: datetime | None = None
    speakers: tuple[str, ...] = ()
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    levels: tuple[Level, ...] = ()
    as_of: datetime | None = None  # system time: only items memory had recorded by then

    @property
    def empty(self) -> bool:
        return not (
            self.since or self.until or self.speakers or self.session_id or self.metadata or self.levels or self.as_of
        )


@dataclass(frozen=True)
class VectorSpace:
    """One vector index: the embedder that fills it and its dimension."""

    embedder: str
    dim: int

    @property
    def name(self) -> str:
        return f"{self.embedder}/{self.dim}"


@dataclass(frozen=True)
class Link:
    """An undirected association between two items of one scope, made at ingest (``kind``:
    ``similar`` for close meaning, ``entity`` for a shared named entity); ``weight`` in (0, 1]."""

    src: str
    dst: str
    kind: str
    weight: float


@dataclass(frozen=True)
class StrataDue:
    """Turns written, updated or deleted whose strata (facts, episodes, topics, profile) are still to
    be computed or corrected. Recorded by the write itself and dropped once the consolidation after
    it is done, so that a stopped process leaves the work to the next open, not undone."""

    id: str
    scope: Scope  # the write scope of the turns (tenant, user, agent, session)
    turn_ids: tuple[str, ...]  # turns added, whose strata are to be computed
    edited: tuple[str, ...] = ()  # turns held whose text changed: their facts are drawn again
    removed: tuple[str, ...] = ()  # turns deleted: the facts drawn from them go
    anew: bool = False  # the owner's strata computed anew first, as the write's own consolidation does

    @property
    def whole(self) -> bool:
        """The owner's strata are to be computed anew (a full consolidation): asked for, or a
        record naming no turn (an earlier version's record of an import's edits)."""
        return self.anew or not (self.turn_ids or self.edited or self.removed)

    def to_json(self) -> str:
        data: dict[str, object] = {"scope": self.scope.model_dump(), "turn_ids": list(self.turn_ids)}
        data.update({k: list(v) for k, v in (("edited", self.edited), ("removed", self.removed)) if v})
        if self.anew:
            data["anew"] = True
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, id: str, text: str) -> StrataDue:
        data = json.loads(text)
        return cls(
            id=id,
            scope=Scope.model_validate(data["scope"]),
            turn_ids=tuple(data["turn_ids"]),
            edited=tuple(data.get("edited", ())),
            removed=tuple(data.get("removed", ())),
            anew=data.get("anew") is True,
        )


@dataclass(frozen=True)
class HeldEdit:
    """An update (``text`` given, with its new ``lexical`` document and ``vector``) or a delete
    (``text`` None) of an item the store holds, logged by ``log`` and applied to the item, its
    history, lexical document and vector (a delete drops it from every index; its history stays).
    Written with a batch (:attr:`WriteBatch.edits`), so that an edit and what must follow it (the
    neighbours' lexical documents, a record that strata are due, an import's new turns) are one
    transaction."""

    scope: Scope
    item_id: str
    log: LogRecord
    text: str | None = None
    lexical: LexicalDocument | None = None
    vector: np.ndarray | None = None
    metadata: dict[str, Any] | None = None  # an update's new metadata (a fact's slot read from its new text)


@dataclass
class WriteBatch:
    """Everything one ``add`` writes, applied by :meth:`Records.write` in one transaction."""

    logs: list[LogRecord] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    versions: list[ItemVersion] = field(default_factory=list)
    lexical: dict[str, LexicalDocument] = field(default_factory=dict)  # item id -> lexical document
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # item id -> vector
    space: VectorSpace | None = None
    positions: dict[str, int] = field(default_factory=dict)  # item id -> order within session
    relexical: dict[str, LexicalDocument] = field(default_factory=dict)  # existing item id -> new document
    links: list[Link] = field(default_factory=list)  # between items of this batch or already stored
    replaces: list[str] = field(default_factory=list)  # stored items of this batch, removed first (one transaction)
    removes: dict[Scope, list[str]] = field(default_factory=dict)  # stored derived items dropped, scope -> ids
    tenant: str | None = None  # tenant of ``versions``/``relexical`` when ``items`` is empty
    strata_due: list[StrataDue] = field(default_factory=list)  # the batch's turns, until their strata are computed
    # updates and deletes of stored items, applied after the rest in their order (vectors in
    # ``space``); one whose item is not in its scope refuses the whole batch (NotFoundError)
    edits: list[HeldEdit] = field(default_factory=list)


class Records(Protocol):
    """The log and the items projected from it, with their versions, sources, links, session
    positions and access counts."""

    # -- writes ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        """Apply the batch atomically (its log records, items, lexical documents and vectors):
        all of it is durable when this returns, or none."""

    def next_position(self, scope: Scope) -> int:
        """The next free turn position in ``scope.session_id``."""

    def strata_due(self, tenant: str) -> list[StrataDue]:
        """The tenant's turns whose strata are still to be computed (:class:`StrataDue`), oldest first."""

    def clear_strata_due(self, tenant: str, ids: Sequence[str]) -> None:
        """Drop these records of the tenant: their strata are computed."""

    def set_metadata(self, scope: Scope, items: Mapping[str, dict[str, Any]]) -> None:
        """Replace the metadata of items (id → metadata) in ``scope``, at once; text, indexes and
        history stay (a release from quarantine). An id not in ``scope`` raises :class:`NotFoundError`."""

    def remove_items(self, scope: Scope, ids: Sequence[str]) -> int:
        """Drop derived items (projections, no log record): their rows, sources, lexical and vector
        entries. Returns how many were removed; ids outside ``scope`` are left alone."""

    def record_access(self, tenant: str, counts: Mapping[str, int], at: datetime) -> None:
        """Add ``counts`` (item id → times read) to the items' access counts, last read ``at``.
        Ids of items that no longer exist are ignored."""

    # -- reads ----------------------------------------------------------------------------
    def items_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        """Map content hashes already in the log to the item ids derived from them."""

    def turns_for_log_hashes(self, scope: Scope, hashes: Sequence[str]) -> dict[str, list[str]]:
        """Map content hashes of records in the log to the ids of every turn made from them, deleted
        turns included (the ``add`` entry of a turn's history names its record)."""

    def tenants(self) -> list[str]:
        """Every tenant with a record in the log, sorted: for an operator's bulk work across tenants
        (``--all-tenants``), never for a tenant's own requests. PostgreSQL needs an owner that sees
        past row-level security (superuser or ``BYPASSRLS``), as re-indexing does."""

    def taken_elsewhere(self, tenant: str, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` (log record or item ids, live or deleted) the store holds for another
        tenant than ``tenant``: where ids are unique store-wide (SQLite) a write of one of them into
        ``tenant`` would be refused. Always empty where every key includes the tenant (PostgreSQL).
        Only for mapping such ids away: never tell a caller which ids another tenant holds."""

    def get_items(self, scope: Scope, ids: Sequence[str]) -> dict[str, Item]: ...

    def list_items(
        self,
        scope: Scope,
        *,
        levels: Sequence[Level] = (),
        limit: int = 100,
        offset: int = 0,
        filters: SearchFilters | None = None,
        newest_first: bool = False,
    ) -> list[Item]:
        """One page of the scope's items in time order (oldest first unless ``newest_first``)."""

    def iter_items(
        self, scope: Scope, *, levels: Sequence[Level] = (), filters: SearchFilters | None = None
    ) -> Iterator[Item]:
        """Every item of the scope in time order, read in pages as the caller consumes them (a
        whole memory never sits in one list). Writes while iterating may or may not be seen."""

    def slot_facts(self, scope: Scope, keys: Collection[tuple[str, str]]) -> list[Item]:
        """The facts of ``scope`` that fill one of the slots ``keys`` (subject, attribute, both
        case-folded: metadata ``slot``'s), in :meth:`iter_items`' order. A fact whose slot's subject
        or attribute is not a JSON string is returned whatever ``keys`` (the caller parses the slot
        and checks it). The truth view reads the slots its hits fill with this, not every fact."""

    def derived_from(self, scope: Scope, source_ids: Sequence[str]) -> list[str]:
        """Ids of items in ``scope`` whose sources include any of ``source_ids``."""

    def links(self, scope: Scope, ids: Sequence[str]) -> list[Link]:
        """Links with either end among ``ids`` and both ends in ``scope``, ordered by (src, dst, kind).
        Removing an item removes its links."""

    def session_turns(self, scope: Scope, session_id: str, start: int, end: int) -> list[tuple[int, Item]]:
        """Turns of one session with ``start <= position <= end``, in order, with positions."""

    def positions(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]: ...

    def speakers(self, scope: Scope) -> list[str]:
        """Distinct speakers of items in scope."""

    def users(self, tenant: str, limit: int) -> list[str]:
        """Up to ``limit`` user ids with items in ``tenant`` (never another tenant's), sorted."""

    def history(self, scope: Scope, item_id: str) -> list[ItemVersion]: ...

    def count(self, scope: Scope) -> dict[str, int]:
        """Counts per level plus ``log`` (the log count reads the tenant's log: for reports, not hot paths)."""

    def count_level(self, scope: Scope, level: Level) -> int:
        """How many items of ``level`` the scope holds (an index range: its cost is the scope's)."""

    def recent(self, scope: Scope, k: int, filters: SearchFilters | None = None) -> list[ScoredId]:
        """The ``k`` newest dated items, scored 1/rank."""

    def log_records(
        self,
        scope: Scope,
        *,
        ids: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 1000,
        after: str | None = None,
    ) -> list[LogRecord]:
        """Log records in ``scope`` in append order (only those in ``ids`` when given; only those
        appended after the record ``after`` names when given: a page of a long log read from
        where the last one ended, without stepping over the pages before it)."""

    def deleted_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that a ``delete`` log record in ``scope`` names: tombstones, so that a
        derived item a user deleted is not derived again by the next consolidation."""

    def edits_of(self, scope: Scope, ids: Sequence[str]) -> dict[str, LogRecord]:
        """The latest ``update`` log record in ``scope`` naming each of ``ids`` (those named by
        none are left out): a derived item a user edited is drawn again with the edit."""

    def access_counts(self, scope: Scope, ids: Sequence[str]) -> dict[str, int]:
        """Times each of ``ids`` (items in ``scope``) was read; items never read are left out."""


class LexicalIndex(Protocol):
    """BM25 over the lexical documents :meth:`Records.write` stored, with statistics (document
    frequencies, average lengths) computed over the searched tenant's documents."""

    def search(
        self,
        scope: Scope,
        terms: dict[str, float],
        k: int,
        filters: SearchFilters | None = None,
        context_weight: float = 0.0,
    ) -> list[ScoredId]:
        """BM25 over lexical documents: ``own`` score plus ``context_weight`` × ``context`` score;
        ``terms`` maps each term to its query weight. A term with several words matches as a phrase."""

    def documents(self, scope: Scope, ids: Sequence[str]) -> dict[str, LexicalDocument]: ...


class VectorIndex(Protocol):
    """Cosine search over the vectors of one active :class:`VectorSpace` (one embedder)."""

    def search(
        self, scope: Scope, space: VectorSpace, vector: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[ScoredId]:
        """Exact (or approximate above a size) cosine search; scores are cosine similarities."""

    def search_many(
        self,
        scope: Scope,
        space: VectorSpace,
        vectors: Sequence[np.ndarray],
        k: int,
        filters: SearchFilters | None = None,
    ) -> list[list[ScoredId]]:
        """:meth:`search` of each of ``vectors``, the same rankings to the bit, in as few passes over
        the scope as the store can (a search's dense and focus queries: retrieve/focus.py)."""

    def vectors_for(self, scope: Scope, space: VectorSpace, ids: Sequence[str]) -> dict[str, Vectors]: ...

    def active_space(self) -> VectorSpace | None:
        """The vector space searches use, or None for an empty store."""

    def put(self, scope: Scope, space: VectorSpace, vectors: Mapping[str, np.ndarray]) -> int:
        """Write (or replace) vectors of existing items in ``space``, registering ``space`` as an
        inactive index when new. Returns how many were written."""

    def activate(self, space: VectorSpace) -> list[str]:
        """Atomically make ``space`` the index writes and searches use and drop every other space,
        provided every item with a vector has one in ``space``; otherwise change nothing and
        return the ids still lacking one."""


@dataclass(frozen=True)
class ForgetPlan:
    """What is left to do after an erase: recompute the strata of ``sessions`` and ``owners``, and prove the
    forgotten content gone. Recorded by the erase's own transaction and dropped when done, so a
    forget cut short (a killed process) is completed by the next open or the next forget."""

    id: str
    tenant: Scope
    sessions: tuple[Scope, ...]  # (owner, session) scopes that lost turns; none when a whole owner went
    turn_ids: tuple[str, ...]
    log_ids: tuple[str, ...]
    item_ids: tuple[str, ...]  # erased items (turns and what depended only on them)
    texts: tuple[str, ...]  # the forgotten content, to search for; gone with the plan
    window: int  # the neighbour window of the lexical documents to refresh
    owners: tuple[Scope, ...] = ()  # other owners whose views cited what went (a user's, for an agent's forget)

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "tenant": self.tenant.model_dump(),
                "sessions": [s.model_dump() for s in self.sessions],
                "turn_ids": list(self.turn_ids),
                "log_ids": list(self.log_ids),
                "item_ids": list(self.item_ids),
                "texts": list(self.texts),
                "window": self.window,
                "owners": [s.model_dump() for s in self.owners],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ForgetPlan:
        data = json.loads(text)
        return cls(
            id=data["id"],
            tenant=Scope.model_validate(data["tenant"]),
            sessions=tuple(Scope.model_validate(s) for s in data["sessions"]),
            turn_ids=tuple(data["turn_ids"]),
            log_ids=tuple(data["log_ids"]),
            item_ids=tuple(data["item_ids"]),
            texts=tuple(data["texts"]),
            window=int(data["window"]),
            owners=tuple(Scope.model_validate(s) for s in data.get("owners", ())),
        )


class Maintenance(Protocol):
    """What forget needs below the records: erasure for good, with its plan kept until done."""

    def erase(
        self, scope: Scope, log_ids: Sequence[str], item_ids: Sequence[str], plan: ForgetPlan | None = None
    ) -> int:
        """Physically delete the log records ``log_ids`` and the items ``item_ids`` with every row of
        theirs: sources, versions (also of items deleted earlier, whose rows are gone), lexical and
        vector entries, and speakers no item of their user has any more. Edges of other items that
        cite them stay: the caller recomputes those items. In the same transaction, ``plan`` is
        recorded and every erased id is remembered as forgotten (ids only, never content).
        Returns the number of log records and items deleted; ids outside ``scope`` are left alone."""

    def pending_plans(self, tenant: str) -> list[ForgetPlan]:
        """The tenant's plans recorded by an erase and not yet finished, oldest first."""

    def finish_plan(self, plan: ForgetPlan) -> None:
        """Drop a plan whose work is done (and the forgotten content it held)."""

    def forgotten_ids(self, scope: Scope, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` an erase in ``scope``'s tenant removed for good."""

    def scrub_due(self, tenant: str) -> bool:
        """Whether an erase of ``tenant`` (recorded in the erase's own transaction) may still have
        left its bytes in the store's files: a scrub is owed."""

    def scrub(self, tenant: str) -> dict[str, Any]:
        """Make what ``tenant``'s erases deleted unrecoverable from the store's files, at a cost
        bounded by what was erased or by the tenant's share of the store, never the whole store's
        rewrite. Returns what was done, backend-specific, with ``bytes_gone`` (bool): whether
        nothing of it is left (else the scrub stays due, and the next one finishes)."""

    def compact(self) -> dict[str, Any]:
        """Rewrite the whole store to give free space back (an operator's maintenance, on a
        schedule; it may block writers while it runs). Returns what was done."""


class Store(Protocol):
    """One database behind the four seams."""

    url: str

    @property
    def records(self) -> Records: ...

    @property
    def lexical(self) -> LexicalIndex: ...

    @property
    def vectors(self) -> VectorIndex: ...

    @property
    def maintenance(self) -> Maintenance: ...

    def snapshot(self, tenant: str) -> AbstractContextManager[None]:
        """Within the block, this thread's reads of ``tenant`` see one state of the store (a read
        transaction: what others write meanwhile is not seen, and nobody waits for it); no writes.
        A search or a context runs in one, so its channels read one state over one connection."""

    def close(self) -> None: ...
