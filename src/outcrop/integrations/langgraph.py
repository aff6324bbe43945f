"""A LangGraph ``BaseStore`` kept in outcrop (``pip install ".[langgraph]"``).

Each LangGraph item is one outcrop turn: its namespace is the outcrop user (labels joined by
``.``, which LangGraph forbids inside a label: ``("memories", "u1")`` is user ``memories.u1``),
its key the session (a key that is not a valid session name, "" or a long URL, a digest of it),
its value kept whole in the turn's metadata and its text (the ``index`` fields, or every string
of the value) embedded and indexed. So a graph's memories are ordinary outcrop memories:
``outcrop search --user-id memories.u1`` finds them, ``forget`` erases them. The store reads and
writes only the turns it put there: other turns of the same user and session are left alone.

- ``put`` replaces the item: the new turn is written first, then the turns holding the key's
  earlier values are deleted (their history kept; ``created_at`` carries over), so a put the
  memory refuses (a value over the 64 KiB metadata limit) leaves the old value, and of two
  concurrent puts, by two processes or stores, the later write wins and one value stays.
  ``put(..., None)`` and ``delete`` delete it.
- ``search`` with ``query`` runs outcrop's hybrid retrieval (BM25 + dense + recency, the
  ``turns`` recipe) in every namespace under the prefix, merges by score, then applies
  ``filter`` (LangGraph's operators ``$eq $ne $gt $gte $lt $lte`` on the value) and
  ``offset``/``limit``; without ``query`` it lists the namespaces' items, newest update first.
  An item put with ``index=False`` is never returned by a query.
- ``list_namespaces`` takes prefix/suffix conditions (``*`` wildcards), ``max_depth``, paging.
- ``batch`` runs on the synchronous :class:`~outcrop.Memory` (a put holds its key, so graph
  nodes in threads cannot interleave); ``abatch`` on an :class:`~outcrop.AsyncMemory`, whose
  writes keep call order per namespace and never block the event loop. Both check each
  operation's namespace labels as LangGraph's own methods do (``validate_op_namespace``): ops
  handed to them directly skip those methods, and a label "memories.alice" would otherwise
  address the namespace ("memories", "alice").

TTLs are not supported (``supports_ttl`` is False): outcrop forgets on request, not by age.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from outcrop.integrations._require import require
from outcrop.integrations._tools import listed

require("langgraph", "langgraph")

from langgraph.store.base import (  # noqa: E402
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)

from outcrop.api.async_memory import AsyncMemory  # noqa: E402
from outcrop.api.memory import Memory  # noqa: E402
from outcrop.core.locks import KeyedLocks  # noqa: E402
from outcrop.core.types import Hit, Level  # noqa: E402
from outcrop.core.types import Item as OutcropItem  # noqa: E402
from outcrop.core.values import validate_name  # noqa: E402
from outcrop.errors import InvalidInputError, NotFoundError  # noqa: E402

__all__ = ["OutcropStore"]

_META = "langgraph"  # the metadata key holding an item's namespace, key, value and created_at
_SEP = "."
_MAX_SCAN = 10_000  # items listed per page while reading a namespace
_FIRST_PAGE = 8  # items read first when telling whether a user is a LangGraph namespace
_MAX_USERS = 10**9  # the tenant's users are all listed (an index walk)
_MAX_HITS = 1000  # the deepest a query reads a namespace's hits (outcrop's search limit)


def namespace_user(namespace: tuple[str, ...]) -> str:
    """The outcrop user of a LangGraph namespace."""
    if not namespace:
        raise InvalidInputError("a LangGraph namespace needs at least one label")
    return _SEP.join(namespace)


def key_session(key: str) -> str:
    """The outcrop session of a LangGraph key: the key itself when it is a valid session name, else
    a digest of it (the key is kept whole in the item's metadata, which is what a read matches)."""
    try:
        return validate_name(key, "key")
    except InvalidInputError:
        return "langgraph-key-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class OutcropStore(BaseStore):
    """A LangGraph store over an outcrop memory (see the module docstring).

    ``OutcropStore(memory)`` takes a :class:`~outcrop.Memory` or :class:`~outcrop.AsyncMemory`
    (left open on :meth:`close`) or a store URL such as ``"sqlite:///graph.db"`` (opened here and
    closed by :meth:`close`). ``index_fields`` names the value fields embedded when a put gives no
    ``index`` (default: every string in the value).
    """

    supports_ttl: bool = False

    def __init__(self, memory: Memory | AsyncMemory | str, *, index_fields: list[str] | None = None) -> None:
        if isinstance(memory, str):
            memory, self._owns = Memory(memory), True
        else:
            self._owns = False
        self._wrapped = not isinstance(memory, AsyncMemory)  # an AsyncMemory made here, closed here
        if isinstance(memory, AsyncMemory):
            self._amemory, self._memory = memory, memory.memory
        else:
            self._memory, self._amemory = memory, AsyncMemory.wrap(memory)
        self._index_fields = index_fields
        self._locks = KeyedLocks()

    @property
    def memory(self) -> Memory:
        return self._memory

    def close(self) -> None:
        """Close the memory if this store opened it from a URL (a memory given to it stays open)."""
        if self._wrapped:
            self._amemory.close()  # its executor only: the Memory underneath is closed below, or left
        if self._owns:
            self._memory.close()

    def __enter__(self) -> OutcropStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- BaseStore ------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = _checked(ops)
        return [self._run(self._memory, op) for op in ops]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        results: list[Result] = []
        for op in _checked(ops):
            writes = namespace_user(op.namespace) if isinstance(op, PutOp) else None
            results.append(await self._amemory.run(functools.partial(self._run, op=op), writes_user=writes))
        return results

    # -- one operation, on the synchronous handle ------------------------------------------
    def _run(self, memory: Memory, op: Op) -> Result:
        if isinstance(op, GetOp):
            held = _held(memory, op.namespace, op.key)
            return _item(held[-1]) if held else None
        if isinstance(op, PutOp):
            self._put(memory, op)
            return None
        if isinstance(op, SearchOp):
            return self._search(memory, op)
        if isinstance(op, ListNamespacesOp):
            return _list_namespaces(self._namespaces(memory), op)
        raise InvalidInputError(f"unknown LangGraph store operation {type(op).__name__}")

    def _put(self, memory: Memory, op: PutOp) -> None:
        user = namespace_user(op.namespace)
        with self._locks.get(("put", user, op.key)):  # this store's puts of a key, one at a time
            held = _held(memory, op.namespace, op.key)
            written = None if op.value is None else self._write(memory, op, held[-1] if held else None)
            if written is not None:  # the key's turns before the one written: a later put's stays
                current = _held(memory, op.namespace, op.key)
                ids = [t.id for t in current]
                held = current[: ids.index(written)] if written in ids else held
            for turn in held:
                try:
                    memory.delete(turn.id, user_id=user)
                except NotFoundError:
                    pass  # deleted meanwhile by another put

    def _write(self, memory: Memory, op: PutOp, old: OutcropItem | None) -> str:
        """The put's value as a new turn; its id."""
        assert op.value is not None
        value = dict(op.value)
        at = _now()
        created = old.metadata[_META]["created_at"] if old is not None else at
        indexed = op.index is not False
        meta = {
            "namespace": list(op.namespace),
            "key": op.key,
            "value": value,
            "created_at": created,
            "updated_at": at,
            "indexed": indexed,
            "n": uuid.uuid4().hex,  # a put of the value the key holds is a new turn all the same
        }
        fields = op.index if isinstance(op.index, list) else self._index_fields
        [turn_id] = memory.add(
            [{"role": "user", "content": _text(value, fields), "metadata": {_META: meta}}],
            user_id=namespace_user(op.namespace),
            session_id=key_session(op.key),
        )
        return turn_id

    def _search(self, memory: Memory, op: SearchOp) -> list[SearchItem]:
        namespaces = self._namespaces(memory, tuple(op.namespace_prefix))
        wanted = op.offset + op.limit
        found: list[SearchItem] = []
        if op.query:
            for namespace in namespaces:
                found.extend(_ranked(memory, namespace, op, wanted))
            found.sort(key=lambda item: -(item.score or 0.0))
        else:
            for namespace in namespaces:
                newest: dict[str, SearchItem] = {}
                for turn in _turns(memory, namespace_user(namespace)):
                    if not _holds_any(turn, namespace):
                        continue
                    meta = turn.metadata[_META]
                    if op.filter and not _matches(meta["value"], op.filter):
                        continue
                    newest[meta["key"]] = _search_item(meta, turn.recorded_at, None)  # turns oldest first
                found.extend(newest.values())
            found.sort(key=lambda item: item.updated_at, reverse=True)
        return found[op.offset : wanted]

    def _namespaces(self, memory: Memory, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        """Every namespace under ``prefix`` holding an item, sorted: the tenant's users (an index
        walk, not a scan of their turns), each kept if it holds a LangGraph item (usually its first)."""
        found: list[tuple[str, ...]] = []
        for user in memory.store.records.users(memory.config.tenant, _MAX_USERS):
            if tuple(user.split(_SEP))[: len(prefix)] != prefix:  # labels hold no "." (LangGraph's rule)
                continue
            namespace = _namespace_of(memory, user)
            if namespace is not None:
                found.append(namespace)
        return sorted(found)


def _checked(ops: Iterable[Op]) -> list[Op]:
    """The ops, each namespace's labels checked first (LangGraph's ``validate_op_namespace``, as
    its own methods do before batching): a label holding "." would address another namespace."""
    listed = list(ops)
    for op in listed:
        try:
            validate_op_namespace(op)
        except ValueError as exc:  # LangGraph's InvalidNamespaceError
            raise InvalidInputError(str(exc)) from None
    return listed


def _held(memory: Memory, namespace: tuple[str, ...], key: str) -> list[OutcropItem]:
    """The turns holding ``key``'s value in ``namespace``, oldest first (one, but for a put a
    stopped process left half-done); turns of the same user and session the store did not put are
    not among them."""
    turns = listed(memory, user_id=namespace_user(namespace), session_id=key_session(key))
    return [t for t in turns if _holds(t, namespace, key)]


def _holds(turn: OutcropItem, namespace: tuple[str, ...], key: str) -> bool:
    return _holds_any(turn, namespace) and turn.metadata[_META].get("key") == key


def _holds_any(turn: OutcropItem | Hit, namespace: tuple[str, ...]) -> bool:
    """Whether ``turn`` is an item this store put in ``namespace``."""
    meta = turn.metadata.get(_META)
    return isinstance(meta, dict) and meta.get("namespace") == list(namespace) and isinstance(meta.get("key"), str)


def _ranked(memory: Memory, namespace: tuple[str, ...], op: SearchOp, wanted: int) -> list[SearchItem]:
    """The namespace's items matching ``op``'s query and filter, best first: outcrop's hits read
    deeper (4× at a time, up to the search limit) until ``wanted`` of them pass the filter, so a
    filter that few items meet does not lose them below the first page of hits."""
    assert op.query is not None
    depth = max(50, 4 * wanted)
    while True:
        hits = memory.search(op.query, user_id=namespace_user(namespace), limit=min(depth, _MAX_HITS), recipe="turns")
        best: dict[str, SearchItem] = {}  # key -> its newest value's hit (one, but after a put cut short)
        for hit in hits:
            if not _holds_any(hit, namespace):
                continue
            meta = hit.metadata[_META]
            if not meta.get("indexed", True):
                continue
            if op.filter and not _matches(meta["value"], op.filter):
                continue
            item = _search_item(meta, hit.timestamp, hit.score)
            if item.key not in best or best[item.key].updated_at < item.updated_at:
                best[item.key] = item
        if len(best) >= wanted or len(hits) < min(depth, _MAX_HITS) or depth >= _MAX_HITS:
            return list(best.values())
        depth *= 4


def _namespace_of(memory: Memory, user: str) -> tuple[str, ...] | None:
    """The LangGraph namespace of ``user``'s items, None if it holds none (outcrop memories only)."""
    for turn in _turns(memory, user, page=_FIRST_PAGE):
        meta = turn.metadata.get(_META)
        if isinstance(meta, dict) and isinstance(meta.get("namespace"), list):
            return tuple(meta["namespace"])
    return None


def _turns(memory: Memory, user: str, page: int = _MAX_SCAN) -> Iterator[OutcropItem]:
    offset = 0
    while True:
        listed = memory.list(user_id=user, level=Level.TURN, limit=page, offset=offset)
        yield from listed
        if len(listed) < page:
            return
        offset += len(listed)
        page = _MAX_SCAN


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _text(value: Mapping[str, Any], fields: list[str] | None) -> str:
    """What a value is searched by: the ``fields`` given (dotted paths, ``$`` for the whole value),
    else every string in it; the value as JSON when that is empty."""
    parts: list[str] = []
    if fields:
        for field in fields:
            parts.extend(_strings(_at(value, field)))
    else:
        parts.extend(_strings(value))
    text = "\n".join(p for p in parts if p.strip())
    return text or json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _at(value: Any, path: str) -> Any:
    if path == "$":
        return value
    for part in path.split("."):
        part = part.removesuffix("[*]")
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def _when(value: Any, fallback: datetime | None) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return fallback or datetime.now(UTC)


def _item(turn: OutcropItem) -> Item:
    meta = turn.metadata[_META]
    return Item(
        value=meta["value"],
        key=meta["key"],
        namespace=tuple(meta["namespace"]),
        created_at=_when(meta.get("created_at"), turn.recorded_at),
        updated_at=_when(meta.get("updated_at"), turn.recorded_at),
    )


def _search_item(meta: dict[str, Any], updated: datetime | None, score: float | None) -> SearchItem:
    return SearchItem(
        namespace=tuple(meta["namespace"]),
        key=meta["key"],
        value=meta["value"],
        created_at=_when(meta.get("created_at"), updated),
        updated_at=_when(meta.get("updated_at"), updated),
        score=score,
    )


# -- LangGraph's filter and namespace-matching semantics (as its in-memory store has them) ---------
def _matches(value: Mapping[str, Any], filter: Mapping[str, Any]) -> bool:
    return all(_compare(value.get(k), v) for k, v in filter.items())


def _compare(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        if any(str(k).startswith("$") for k in wanted):
            return all(_operator(actual, op, operand) for op, operand in wanted.items())
        return isinstance(actual, Mapping) and all(_compare(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(wanted)
            and all(_compare(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return bool(actual == wanted)


def _operator(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(actual == operand)
    if op == "$ne":
        return bool(actual != operand)
    if op not in ("$gt", "$gte", "$lt", "$lte"):
        raise InvalidInputError(f"unsupported filter operator {op!r}; operators: $eq $ne $gt $gte $lt $lte")
    try:
        a, b = float(actual), float(operand)
    except (TypeError, ValueError):
        return False
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


def _matches_condition(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    pairs = (
        zip(namespace, path, strict=False)
        if condition.match_type == "prefix"
        else zip(reversed(namespace), reversed(path), strict=False)
    )
    return all(p == "*" or n == p for n, p in pairs)


def _list_namespaces(namespaces: list[tuple[str, ...]], op: ListNamespacesOp) -> list[tuple[str, ...]]:
    kept = [ns for ns in namespaces if all(_matches_condition(c, ns) for c in op.match_conditions or ())]
    if op.max_depth is not None:
        kept = sorted({ns[: op.max_depth] for ns in kept})
    return kept[op.offset : op.offset + op.limit]
