"""``forget``: erase log records and everything that depended only on them, recompute what
depended on them in part, prove nothing is left, and scrub the store's files.

Steps, in order:

1. resolve the targets (:mod:`outcrop.lifecycle.targets`): log records, turns, items that
   depended only on them (transitively), items that depended on them in part;
2. erase the log records and those items physically (``Store.erase``), with their sources,
   versions, lexical and vector entries;
3. recompute the strata that drew on them (the Consolidator's change cascade: each touched
   session's episode, the owner's topics and profile) and the lexical documents of surviving
   neighbour turns, which carried the forgotten text as context;
4. verify (:mod:`outcrop.lifecycle.verify`), then ``Store.scrub`` so no freed page, index
   segment or journal frame keeps the old bytes.
"""

from __future__ import annotations

from outcrop.core.types import Item, Level, Scope
from outcrop.lifecycle.lexical import refresh_session_documents
from outcrop.lifecycle.receipts import ForgetReceipt
from outcrop.lifecycle.targets import Targets
from outcrop.lifecycle.verify import distinctive, verify_forgotten
from outcrop.stores.base import Store
from outcrop.strata.consolidate import Consolidator

__all__ = ["forget"]

_COARSE = [Level.EPISODE, Level.TOPIC, Level.PROFILE]


def _owner(scope: Scope) -> Scope:
    return Scope(tenant=scope.tenant, user_id=scope.user_id, agent_id=scope.agent_id)


def _coarse(store: Store, owners: set[Scope]) -> dict[str, Item]:
    found: dict[str, Item] = {}
    for owner in sorted(owners, key=repr):
        found.update({i.id: i for i in store.records.iter_items(owner, levels=_COARSE)})
    return found


def forget(
    store: Store, consolidator: Consolidator, targets: Targets, *, window: int, scrub: bool = True
) -> ForgetReceipt:
    """Carry out a resolved forget; see the module docstring."""
    owners = {_owner(s) for s in targets.sessions}
    before = {} if targets.whole else _coarse(store, owners)
    erased = [*targets.items, *(t for t in targets.turn_ids if t not in targets.items)]
    store.maintenance.erase(targets.tenant, targets.log_ids, erased)

    written: dict[str, int] = {}
    if not targets.whole:
        for session in sorted(targets.sessions, key=repr):
            report = consolidator.after_change(session, targets.turn_ids, removed=True)
            for level, n in report.written.items():
                written[level] = written.get(level, 0) + n
            refresh_session_documents(store, session, window)
    after = {} if targets.whole else _coarse(store, owners)

    removed: dict[str, list[str]] = {"log": list(targets.log_ids)}
    for item_id in erased:
        level = targets.items[item_id].level.value if item_id in targets.items else Level.TURN.value
        removed.setdefault(level, []).append(item_id)
    recomputed: dict[str, list[str]] = {}
    for item_id, old in before.items():
        new = after.get(item_id)
        if new is None and item_id not in targets.items:
            removed.setdefault(old.level.value, []).append(item_id)
        elif new is not None and (new.text, new.sources, new.metadata) != (old.text, old.sources, old.metadata):
            recomputed.setdefault(old.level.value, []).append(item_id)

    terms, phrases = distinctive(store, targets.tenant, targets.texts)
    verification = verify_forgotten(
        store,
        targets.tenant,
        terms=terms,
        phrases=phrases,
        log_ids=targets.log_ids,
        item_ids=erased,
        watched=after.values(),
    )
    return ForgetReceipt(
        scope=targets.tenant,
        removed={k: sorted(v) for k, v in removed.items() if v},
        recomputed=recomputed,
        written=written,
        verification=verification,
        scrub=store.maintenance.scrub() if scrub else {},
    )
