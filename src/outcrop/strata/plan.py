"""What one consolidation stage changes, and the one writer that applies it atomically.

Each stage of consolidation (facts from new turns, facts re-derived after a change, an episode,
the topics, the profile) computes a :class:`StrataPlan` from what is stored: items that are new,
stored items written again under the same id (sources, text or payload moved), stored items no
longer wanted, and links. :class:`PlanWriter` applies a plan in one store transaction, so a
crash leaves a stage's items as they were before it or as it wanted them, never half of each;
a stage that did not run is caught up by the next consolidation (producers are idempotent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from outcrop.core.documents import dense_text, lexical_document
from outcrop.core.time.clock import now
from outcrop.core.types import Item, Level, Scope
from outcrop.providers.base import Embedder
from outcrop.stores.base import Link, Store, VectorSpace, WriteBatch

__all__ = ["LevelCounts", "PlanWriter", "StrataPlan", "indexed", "replace_level"]

# derived items reached only through their own channel, never by matching their text: a trait
# view lists dozens of a person's statements, and as a BM25 or dense candidate it would crowd the
# candidates and feedback terms of questions about any one of them (strata/traits.py)
_UNINDEXED_KINDS = frozenset({"trait"})


def indexed(item: Item) -> bool:
    """Whether ``item`` goes into the lexical and vector indexes (every item but the unindexed kinds)."""
    return item.level != Level.TOPIC or item.metadata.get("kind") not in _UNINDEXED_KINDS


@dataclass
class LevelCounts:
    """Items written (new or replaced) and removed per level by the plans applied."""

    written: dict[Level, int] = field(default_factory=dict)
    removed: dict[Level, int] = field(default_factory=dict)

    def add(self, level: Level, *, written: int = 0, removed: int = 0) -> None:
        if written:
            self.written[level] = self.written.get(level, 0) + written
        if removed:
            self.removed[level] = self.removed.get(level, 0) + removed


@dataclass
class StrataPlan:
    """One stage's changes.

    ``changed`` items replace the stored item of the same id in the same transaction; they keep
    their links, and their ``recorded_at`` when listed in ``keep_recorded`` (memory held them
    since then: ``as_of`` reads rely on it). ``vectors`` holds the vectors already known (kept
    from the stored item or embedded by the stage); the writer embeds the others."""

    new: list[Item] = field(default_factory=list)
    changed: list[Item] = field(default_factory=list)
    removed: dict[Scope, list[str]] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    keep_recorded: set[str] = field(default_factory=set)
    removed_levels: dict[str, Level] = field(default_factory=dict)  # removed id -> its level (for counts)

    def remove(self, scope: Scope, level: Level, ids: Sequence[str]) -> None:
        if ids:
            self.removed.setdefault(scope, []).extend(ids)
            self.removed_levels.update(dict.fromkeys(ids, level))

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.removed or self.links)


def replace_level(
    store: Store, space: VectorSpace, scope: Scope, level: Level, wanted: Sequence[Item], current: Mapping[str, Item]
) -> StrataPlan:
    """The plan that makes the stored items ``current`` (of ``level`` in ``scope``) equal
    ``wanted``: unchanged ones stay, changed ones are replaced, vanished ones removed. A changed
    item whose text is the same keeps its vector (only its sources or payload moved)."""
    for item in wanted:
        item.sources = sorted(set(item.sources))
    by_id = {i.id: i for i in wanted}
    vanished = [item_id for item_id in current if item_id not in by_id]
    changed = [
        item
        for item in wanted
        if item.id in current
        and (current[item.id].text, current[item.id].sources, current[item.id].metadata)
        != (item.text, item.sources, item.metadata)
    ]
    same_text = [i.id for i in changed if current[i.id].text == i.text]
    plan = StrataPlan(
        new=[i for i in wanted if i.id not in current],
        changed=changed,
        vectors=store.vectors.vectors_for(scope, space, same_text) if same_text else {},
    )
    plan.remove(scope, level, vanished)
    return plan


class PlanWriter:
    """Applies plans: drops what a user deleted (tombstones), embeds what has no vector yet,
    stamps system time, and writes everything in one transaction."""

    def __init__(self, store: Store, embedder: Embedder, space: VectorSpace) -> None:
        self.store = store
        self.embedder = embedder
        self.space = space

    def apply(self, plan: StrataPlan) -> LevelCounts:
        """Write ``plan`` in one transaction; what it wrote and removed, per level."""
        counts = LevelCounts()
        new = self.without_tombstones(plan.new)
        changed = self.without_tombstones(plan.changed)
        items = [*new, *changed]
        if not items and not plan.removed:
            return counts
        changed_ids = [c.id for c in changed]
        links = [*self._stored_links(changed), *plan.links]
        recorded = now()
        for item in items:
            if item.id not in plan.keep_recorded or item.recorded_at is None:
                item.recorded_at = recorded
            item.updated_at = recorded
            item.sources = sorted(set(item.sources))  # the store's canonical order
        known = dict(plan.vectors)
        known.update(self.embed([i for i in items if i.id not in known and indexed(i)]))
        batch = WriteBatch(space=self.space, links=links, replaces=changed_ids, removes=plan.removed)
        for item in items:
            batch.items.append(item)
            if indexed(item):
                batch.lexical[item.id] = lexical_document(item, [])
                batch.vectors[item.id] = known[item.id]
        self.store.records.write(batch)
        for item in items:
            counts.add(item.level, written=1)
        for level in plan.removed_levels.values():
            counts.add(level, removed=1)
        return counts

    def without_tombstones(self, items: Sequence[Item]) -> list[Item]:
        """Drop the derived items a user deleted (a ``delete`` in the log names their id): deleting
        a fact, episode, topic or profile line keeps it deleted through later consolidations and
        rebuilds, until the delete record itself is forgotten."""
        by_owner: dict[Scope, list[str]] = {}
        for item in items:
            by_owner.setdefault(item.scope.owner, []).append(item.id)
        dead: set[str] = set()
        for owner, ids in by_owner.items():
            dead |= self.store.records.deleted_ids(owner, ids)
        return [i for i in items if i.id not in dead]

    def embed(self, items: Sequence[Item], known: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The vectors of ``items``: ``known`` (text → vector: a fact that restates its whole turn
        has the turn's text, already embedded) or embedded in one call."""
        known = known or {}
        texts = [dense_text(i) for i in items]
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            known = {**known, **dict(zip(missing, self.embedder.embed(missing), strict=True))}
        return {item.id: known[text] for item, text in zip(items, texts, strict=True)}

    def _stored_links(self, changed: Sequence[Item]) -> list[Link]:
        """The stored links of items about to be replaced (replacing an item drops its links)."""
        by_owner: dict[Scope, list[str]] = {}
        for item in changed:
            by_owner.setdefault(item.scope.owner, []).append(item.id)
        return [link for owner, ids in by_owner.items() for link in self.store.records.links(owner, ids)]
