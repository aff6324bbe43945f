"""Which log records and items a ``forget`` removes, and which items it must recompute.

The log records are selected first (every record in a scope, or every record of the given turns);
the items follow by provenance: an item whose sources are all forgotten (transitively) depended
only on them and goes; an item citing a forgotten id among others depended on it in part and is
recomputed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from outcrop.core.types import Item, ItemVersion, Level, LogRecord, Scope
from outcrop.core.values import validate_id
from outcrop.errors import InvalidInputError, NotFoundError
from outcrop.lifecycle.logs import iter_log, log_texts
from outcrop.stores.base import Store

__all__ = ["Targets", "check_ids", "resolve_ids", "resolve_scope"]


@dataclass
class Targets:
    tenant: Scope  # the tenant (and user, when given) every lookup is restricted to
    log_ids: list[str] = field(default_factory=list)
    turn_ids: list[str] = field(default_factory=list)  # live and earlier-deleted turns
    items: dict[str, Item] = field(default_factory=dict)  # live items that depended only on the log ids
    partial: dict[str, Item] = field(default_factory=dict)  # live items that depended on them in part
    sessions: set[Scope] = field(default_factory=set)  # (owner, session) scopes that lose turns
    texts: list[str] = field(default_factory=list)  # the forgotten content, for verification
    whole: bool = False  # a whole owner scope goes: nothing is left to recompute

    @property
    def forgotten(self) -> set[str]:
        return {*self.log_ids, *self.turn_ids, *self.items}


def resolve_scope(store: Store, scope: Scope) -> Targets:
    """Every log record in ``scope`` (a user, a user's agent, or a session)."""
    targets = Targets(tenant=Scope(tenant=scope.tenant, user_id=scope.user_id), whole=scope.session_id is None)
    turn_ids: dict[str, None] = {}
    for record in iter_log(store, scope):
        targets.log_ids.append(record.id)
        targets.texts.extend(log_texts(record))
        target = record.payload.get("item_id")
        if record.kind in ("update", "delete") and isinstance(target, str):
            turn_ids[target] = None
        targets.sessions.add(record.scope)
    levels = [] if targets.whole else [Level.TURN]
    for item in store.records.iter_items(scope, levels=levels):
        targets.items[item.id] = item
        if item.level == Level.TURN:
            turn_ids[item.id] = None
    targets.turn_ids = list(turn_ids)
    _close(store, targets)
    return targets


def check_ids(ids: Sequence[str]) -> None:
    if not isinstance(ids, list | tuple) or not ids:
        raise InvalidInputError("ids must be a non-empty list of item ids")
    for item_id in ids:
        validate_id(item_id, "each of ids")


def resolve_ids(store: Store, tenant: Scope, ids: Sequence[str]) -> Targets:
    """The given turns (live or deleted) and the turns the given facts were made from; coarser
    items are refused: they are forgotten by forgetting what they were made from."""
    check_ids(ids)
    targets = Targets(tenant=tenant)
    live = store.records.get_items(tenant, list(ids))
    turn_ids: dict[str, None] = {}
    for item_id in ids:
        item = live.get(item_id)
        if item is None:
            store.records.history(tenant, item_id)  # a deleted turn still has its history; else NotFoundError
            turn_ids[item_id] = None
        elif item.level == Level.TURN:
            turn_ids[item_id] = None
        elif item.level == Level.FACT:
            sources = store.records.get_items(tenant, item.sources)
            turn_ids.update(dict.fromkeys(s for s in item.sources if s in sources and sources[s].level == Level.TURN))
        else:
            raise InvalidInputError(
                f"{item_id} is a {item.level.value}: forget the turns or the session it was made from"
            )
    log_ids: dict[str, None] = {}
    for turn_id in turn_ids:
        versions = store.records.history(tenant, turn_id)
        if not versions:
            raise NotFoundError(f"no memory item {turn_id!r} in this scope")
        log_ids.update(dict.fromkeys(v.log_id for v in versions))
    records = store.records.log_records(tenant, ids=list(log_ids), limit=len(log_ids))
    for turn_id, versions in _earlier_generations(store, tenant, records, turn_ids).items():
        turn_ids[turn_id] = None
        added = [v.log_id for v in versions if v.log_id not in log_ids]
        log_ids.update(dict.fromkeys(added))
        records += store.records.log_records(tenant, ids=added, limit=len(added))
    targets.turn_ids = list(turn_ids)
    targets.log_ids = list(log_ids)
    for record in records:
        targets.texts.extend(log_texts(record))
        targets.sessions.add(record.scope)
    targets.items = store.records.get_items(tenant, targets.turn_ids)
    _close(store, targets)
    return targets


def _earlier_generations(
    store: Store, tenant: Scope, records: Sequence[LogRecord], known: Collection[str]
) -> dict[str, list[ItemVersion]]:
    """The deleted turns that messages among ``records`` added again (``payload["again_of"]``:
    the same content, so forgetting the re-added turn forgets them too), with their histories;
    ids this tenant holds no history of are left out."""
    found: dict[str, list[ItemVersion]] = {}
    for record in records:
        again_of = record.payload.get("again_of") if record.kind in ("message", "text") else None
        for turn_id in again_of if isinstance(again_of, list) else []:
            if not isinstance(turn_id, str) or turn_id in known or turn_id in found:
                continue
            try:
                found[turn_id] = store.records.history(tenant, turn_id)
            except NotFoundError:
                continue
    return {turn_id: versions for turn_id, versions in found.items() if versions}


def _own_edits(store: Store, tenant: Scope, items: dict[str, Item], forgotten: set[str]) -> dict[str, list[LogRecord]]:
    """The update records among each item's sources that edit that item itself (a fact edited with
    ``update`` cites the record that changed it): by item id."""
    wanted = {s for item in items.values() for s in item.sources if s not in forgotten and s.startswith("l_")}
    if not wanted:
        return {}
    records = store.records.log_records(tenant, ids=sorted(wanted), limit=len(wanted))
    found: dict[str, list[LogRecord]] = {}
    for record in records:
        target = record.payload.get("item_id")
        own = record.kind in ("update", "delete") and isinstance(target, str) and target in items
        if own and record.id in items[str(target)].sources:
            found.setdefault(str(target), []).append(record)
    return found


def _close(store: Store, targets: Targets) -> None:
    """Follow provenance: items whose sources are all forgotten go too, transitively; items citing
    a forgotten id among surviving ones are recomputed."""
    forgotten = targets.forgotten
    frontier = list(forgotten)
    while frontier:
        dependents = store.records.get_items(targets.tenant, store.records.derived_from(targets.tenant, frontier))
        frontier = []
        for item in dependents.values():
            if item.id not in forgotten:
                targets.partial[item.id] = item
        edits = _own_edits(store, targets.tenant, targets.partial, forgotten)
        for item_id, item in list(targets.partial.items()):
            if set(item.sources) <= forgotten | {record.id for record in edits.get(item_id, ())}:
                del targets.partial[item_id]
                targets.items[item_id] = item
                forgotten.add(item_id)
                frontier.append(item_id)
                for record in edits.get(item_id, ()):  # its edits go with it: they restate its text
                    targets.log_ids.append(record.id)
                    targets.texts.extend(log_texts(record))
                    forgotten.add(record.id)
