"""``forget``: erase log records and everything that depended only on them, recompute what
depended on them in part, prove nothing is left, and scrub the store's files.

Steps, in order:

1. resolve the targets (:mod:`outcrop.lifecycle.targets`): log records, turns, items that
   depended only on them (transitively), items that depended on them in part;
2. erase the log records and those items physically (``maintenance.erase``), with their sources,
   versions, lexical and vector entries; the same transaction records a :class:`ForgetPlan` of
   what is left to do and remembers the erased ids as forgotten;
3. recompute the strata that drew on them (the Consolidator's change cascade: each touched
   session's episode, the owner's topics and profile, and those of any other owner whose items
   cited them: a user's, which read every agent's facts) and the lexical documents of surviving
   neighbour turns, which carried the forgotten text as context;
4. verify (:mod:`outcrop.lifecycle.verify`) by searching every level for the forgotten content,
   drop the plan, then ``maintenance.scrub`` so no freed page, index segment or journal frame
   keeps the old bytes. The erase marked the scrub due in its transaction: a scrub skipped
   (``scrub=False``) or cut short is done by the next open or forget of the tenant.

A forget cut short after step 2 (a killed process) leaves its plan: :func:`resume` completes it,
on the next open of the tenant's memory or before the next forget, so forgotten text never
lingers in a recomputed item. Forgetting ids already forgotten changes nothing and says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from outcrop.core.ids import new_id
from outcrop.core.types import Item, Level, Scope
from outcrop.lifecycle.lexical import refresh_session_documents
from outcrop.lifecycle.receipts import ForgetReceipt, Verification
from outcrop.lifecycle.targets import Targets
from outcrop.lifecycle.verify import distinctive, verify_forgotten
from outcrop.stores.base import ForgetPlan, Store
from outcrop.strata.consolidate import Consolidator

__all__ = ["already_forgotten", "forget", "resume", "with_resumed"]

_COARSE = [Level.EPISODE, Level.TOPIC, Level.PROFILE]
_LEVEL_OF_PREFIX = {level.prefix: level.value for level in Level}


def _coarse(store: Store, sessions: Iterable[Scope], owners: Iterable[Scope] = ()) -> dict[str, Item]:
    found: dict[str, Item] = {}
    for owner in sorted({s.owner for s in sessions} | set(owners), key=repr):
        found.update({i.id: i for i in store.records.iter_items(owner, levels=_COARSE)})
    return found


def forget(
    store: Store, consolidator: Consolidator, targets: Targets, *, window: int, scrub: bool = True
) -> ForgetReceipt:
    """Carry out a resolved forget; see the module docstring."""
    sessions = () if targets.whole else tuple(sorted(targets.sessions, key=repr))
    # the owners of the items that cited what goes, the sessions' aside: a user's topics and
    # profile read every agent's facts, so forgetting an agent (or its session) recomputes them
    own = {s.owner for s in sessions}
    owners = tuple(sorted({i.scope.owner for i in targets.partial.values()} - own, key=repr))
    erased = [*targets.items, *(t for t in targets.turn_ids if t not in targets.items)]
    plan = ForgetPlan(
        id=new_id("g"),
        tenant=targets.tenant,
        sessions=sessions,
        turn_ids=tuple(targets.turn_ids),
        log_ids=tuple(targets.log_ids),
        item_ids=tuple(erased),
        texts=tuple(targets.texts),
        window=window,
        owners=owners,
    )
    before = _coarse(store, sessions, owners)
    store.maintenance.erase(targets.tenant, targets.log_ids, erased, plan=plan)
    receipt = _complete(store, consolidator, plan, before)
    if scrub and (plan.log_ids or plan.item_ids):  # nothing erased: nothing to scrub for it
        receipt.scrub = store.maintenance.scrub(targets.tenant.tenant)
    return receipt


def resume(store: Store, consolidator: Consolidator, tenant: str) -> list[ForgetReceipt]:
    """Complete the tenant's forgets that a stopped process left after their erase."""
    return [_complete(store, consolidator, plan, {}) for plan in store.maintenance.pending_plans(tenant)]


def already_forgotten(tenant: Scope, ids: list[str], resumed: list[ForgetReceipt]) -> ForgetReceipt:
    """The receipt of a forget whose ids were all forgotten before: nothing removed, nothing to find."""
    return ForgetReceipt(
        scope=tenant,
        verification=Verification(passed=all(r.ok for r in resumed)),
        already_forgotten=sorted(ids),
        resumed=[r.plan for r in resumed],
    )


def with_resumed(receipt: ForgetReceipt, resumed: list[ForgetReceipt]) -> ForgetReceipt:
    """``receipt`` naming the plans it completed first; a plan still finding its content leaves
    the receipt failed, with that plan's leaks: a forget never reports passed while an earlier
    one it resumed still fails."""
    receipt.resumed = [r.plan for r in resumed]
    failed = [r for r in resumed if not r.ok]
    if failed:
        check = receipt.verification
        receipt.verification = check.model_copy(
            update={
                "passed": False,
                "leaks": [*check.leaks, *(leak for r in failed for leak in r.verification.leaks)],
                "remaining": [*check.remaining, *(i for r in failed for i in r.verification.remaining)],
            }
        )
    return receipt


def _complete(store: Store, consolidator: Consolidator, plan: ForgetPlan, before: dict[str, Item]) -> ForgetReceipt:
    """Steps 3 and 4 of a plan whose erase is done; the plan is dropped once verified."""
    written: dict[str, int] = {}
    for session in plan.sessions:
        report = consolidator.after_change(session, list(plan.turn_ids), removed=True)
        for level, n in report.written.items():
            written[level] = written.get(level, 0) + n
        refresh_session_documents(store, session, plan.window)
    for owner in plan.owners:
        report = consolidator.after_change(owner, list(plan.turn_ids), removed=True)
        for level, n in report.written.items():
            written[level] = written.get(level, 0) + n
    after = _coarse(store, plan.sessions, plan.owners)

    removed: dict[str, list[str]] = {"log": list(plan.log_ids)}
    for item_id in plan.item_ids:
        removed.setdefault(_LEVEL_OF_PREFIX.get(item_id.partition("_")[0], Level.TURN.value), []).append(item_id)
    erased = set(plan.item_ids)
    recomputed: dict[str, list[str]] = {}
    for item_id, old in before.items():
        new = after.get(item_id)
        if new is None and item_id not in erased:
            removed.setdefault(old.level.value, []).append(item_id)
        elif new is not None and (new.text, new.sources, new.metadata) != (old.text, old.sources, old.metadata):
            recomputed.setdefault(old.level.value, []).append(item_id)

    terms, phrases = distinctive(store, plan.tenant, plan.texts)
    verification = verify_forgotten(
        store,
        plan.tenant,
        terms=terms,
        phrases=phrases,
        log_ids=plan.log_ids,
        item_ids=plan.item_ids,
        watched=after.values(),
    )
    if verification.passed:
        store.maintenance.finish_plan(plan)
    return ForgetReceipt(
        scope=plan.tenant,
        plan=plan.id,
        removed={k: sorted(v) for k, v in removed.items() if v},
        recomputed=recomputed,
        written=written,
        verification=verification,
    )
