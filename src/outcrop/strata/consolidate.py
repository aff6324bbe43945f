"""Run the producers: turns → facts → episodes, topics and profile, incrementally and idempotently.

Every derived item gets a deterministic id from what it was made of (``derived_id``), so running
the same producers over the same turns twice writes nothing new, and a projection whose content
changed is replaced in place (same id, new text). Facts are only ever added for turns that have
none; episodes are recomputed for the sessions an add touched; topics and the profile are
recomputed for the scope and rewritten only where they changed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from outcrop.config import MemoryConfig
from outcrop.core.documents import dense_text, lexical_document
from outcrop.core.ids import child_id
from outcrop.core.provenance import carried_turns
from outcrop.core.time.clock import now
from outcrop.core.types import Item, Level, Scope
from outcrop.providers.base import Embedder
from outcrop.stores.base import Link, Store, VectorSpace, WriteBatch
from outcrop.strata.base import EpisodeSummarizer, FactDraft, FactExtractor, ProfileBuilder, SlotJudge, TopicClusterer
from outcrop.strata.derived import episode_id, episode_item, profile_item, topic_item
from outcrop.strata.entities import default_recognizer
from outcrop.strata.episodes import CentralTurnsSummarizer
from outcrop.strata.facts import RuleFactExtractor
from outcrop.strata.links import FactLinker
from outcrop.strata.profile import SlotProfile
from outcrop.strata.topics import EntityAwareTopics

__all__ = ["ConsolidationReport", "Consolidator"]

_ALL = 10**9


class ConsolidationReport(BaseModel):
    """What one consolidation wrote: new or replaced items per level, and removed ones."""

    written: dict[str, int] = Field(default_factory=dict)
    removed: dict[str, int] = Field(default_factory=dict)

    def count(self, level: Level, written: int = 0, removed: int = 0) -> None:
        if written:
            self.written[level.value] = self.written.get(level.value, 0) + written
        if removed:
            self.removed[level.value] = self.removed.get(level.value, 0) + removed


class Consolidator:
    """Builds the strata for one store with the configured producers."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        config: MemoryConfig,
        *,
        facts: FactExtractor | None = None,
        episodes: EpisodeSummarizer | None = None,
        topics: TopicClusterer | None = None,
        profile: ProfileBuilder | None = None,
        slot_judge: SlotJudge | None = None,
    ) -> None:
        s = config.strata
        self.store = store
        self.embedder = embedder
        self.config = config
        self.space = VectorSpace(embedder.id, embedder.dim)
        self.facts: FactExtractor = facts or RuleFactExtractor(default_recognizer(s.ner))
        self.episodes: EpisodeSummarizer = episodes or CentralTurnsSummarizer(s.episode_turns)
        self.topics: TopicClusterer = topics or EntityAwareTopics(
            s.topic_similarity, s.topic_min_facts, s.topic_facts_shown
        )
        self.profile: ProfileBuilder = profile or SlotProfile(s.profile_values)
        self.slot_judge = slot_judge  # None: the read-time rule alone settles slot changes
        self.linker = (
            FactLinker(
                store,
                self.space,
                similar=s.link_similarity,
                entity_similar=s.link_entity_similarity,
                duplicate=s.merge_similarity,
                neighbours=s.link_neighbours,
            )
            if s.links
            else None
        )
        self._refreshed: dict[Scope, int] = {}  # fact count of each scope at its last refresh

    # -- entry points ----------------------------------------------------------------------
    def after_add(self, scope: Scope, turn_ids: Sequence[str]) -> ConsolidationReport:
        """Consolidate after new turns arrived in ``scope`` (a write scope: user set)."""
        turns = [t for t in self.store.records.get_items(scope, turn_ids).values() if t.level == Level.TURN]
        return self._run(scope, turns)

    def consolidate(self, scope: Scope) -> ConsolidationReport:
        """Bring every stratum of ``scope`` up to date with its turns (idempotent)."""
        turns = list(self.store.records.iter_items(scope, levels=[Level.TURN]))
        return self._run(scope, turns, force=True)

    def after_change(self, scope: Scope, turn_ids: Sequence[str], *, removed: bool) -> ConsolidationReport:
        """A turn was updated or deleted: drop the facts made from it, re-derive them from the new
        text (update), and refresh the episode, topics and profile of its scope."""
        report = ConsolidationReport()
        owner = _owner(scope)
        facts = [
            i
            for i in self.store.records.get_items(owner, self.store.records.derived_from(owner, turn_ids)).values()
            if i.level == Level.FACT
        ]
        # A merged fact (restated by other turns) loses only the changed turns while the turn it
        # was drawn from stays; when that one changes, the fact goes and the turns that restated
        # it are drawn again.
        gone = set(turn_ids)
        dropped: list[str] = []
        shared: list[Item] = []
        redraw: set[str] = set()
        for fact in facts:
            restated = fact.metadata.get("restated", [])
            again = {t for r in restated for t in r.get("sources", [])}
            if (carried_turns(fact) - again) & gone:
                dropped.append(fact.id)
                redraw |= again - gone
                continue
            fact.sources = [x for x in fact.sources if x not in gone]
            kept = [r for r in restated if not set(r.get("sources", [])) & gone]
            fact.metadata = {k: v for k, v in fact.metadata.items() if k != "restated"}
            if kept:
                fact.metadata["restated"] = kept
            shared.append(fact)
        report.count(Level.FACT, removed=self.store.records.remove_items(owner, dropped))
        self._rewrite(owner, shared, report)
        turns = [] if removed else list(self.store.records.get_items(owner, turn_ids).values())
        turns += [t for t in self.store.records.get_items(owner, sorted(redraw)).values() if t.level == Level.TURN]
        if turns and self.config.strata.facts:
            turns.sort(key=lambda t: (t.timestamp or datetime.min, t.id))
            self._facts(turns, report)
        self._refresh(owner, [scope.session_id], report, force=True)
        return report

    def _run(self, scope: Scope, turns: list[Item], *, force: bool = False) -> ConsolidationReport:
        report = ConsolidationReport()
        s = self.config.strata
        if not turns:
            return report
        owner = _owner(scope)
        sessions = list(dict.fromkeys(t.scope.session_id for t in turns))
        if s.facts:
            self._facts(turns, report)
        self._refresh(owner, sessions, report, force=force)
        return report

    def _refresh(
        self, owner: Scope, sessions: Sequence[str | None], report: ConsolidationReport, *, force: bool = False
    ) -> None:
        """Recompute the episodes of ``sessions`` and the topics and profile of ``owner``.

        Topics and the profile read every fact of the scope, so on ``add`` they are refreshed only
        once the facts have grown by ``strata.refresh_growth`` since the last refresh (amortised
        linear cost for long-lived memories); ``consolidate()`` and changes to turns always refresh."""
        s = self.config.strata
        if s.episodes:
            for session in sessions:
                if session is not None:
                    self._episode(owner.model_copy(update={"session_id": session}), report)
        if s.topics or s.profile:
            count = self.store.records.count(owner).get(Level.FACT.value, 0)
            last = self._refreshed.get(owner)
            if not force and last is not None and count - last < s.refresh_growth * last:
                return
            self._refreshed[owner] = count
            facts = self._scope_facts(owner)
            if s.topics:
                self._topics(owner, facts, report)
            if s.profile:
                self._profile(owner, facts, report)

    # -- facts -----------------------------------------------------------------------------
    def _facts(self, turns: list[Item], report: ConsolidationReport) -> None:
        participants: dict[tuple[Any, ...], list[str]] = {}
        drafted: list[Item] = []
        for turn in turns:
            key = (turn.scope.user_id, turn.scope.agent_id, turn.scope.session_id)
            if key not in participants:
                participants[key] = self._participants(turn.scope)
            for index, draft in enumerate(self.facts.extract(turn, participants[key])):
                metadata: dict[str, Any] = {"kind": draft.kind, "entities": draft.entities}
                if draft.dates:
                    metadata["dates"] = draft.dates
                if draft.slot is not None:
                    metadata["slot"] = {
                        "subject": draft.slot.subject,
                        "attribute": draft.slot.attribute,
                        "value": draft.slot.value,
                        "single": draft.slot.single,
                    }
                    if self.slot_judge is not None:
                        self._judge(turn.scope, draft, metadata["slot"], drafted)
                drafted.append(
                    Item(
                        id=child_id(Level.FACT.prefix, turn.id, index, self.facts.id),
                        level=Level.FACT,
                        scope=turn.scope,
                        text=draft.text,
                        role=turn.role,
                        speaker=draft.speaker,
                        timestamp=draft.timestamp,
                        metadata=metadata,
                        sources=[draft.source],
                        producer=getattr(draft, "producer", "") or self.facts.id,  # an LLM producer's fallback
                    )
                )
        self._link_and_write(drafted, report)

    def _link_and_write(self, drafted: list[Item], report: ConsolidationReport) -> None:
        """Write new facts: near-duplicates of a stored or earlier fact merge into it, the rest are
        written with links to related facts (strata/links.py)."""
        drafted = self._without_existing(self._without_tombstones(drafted))
        if not drafted:
            return
        if self.linker is None:
            self._write_new(drafted, report, skip_existing=False)
            return
        vectors = self._embed(drafted)
        by_owner: dict[Scope, list[Item]] = {}
        for item in drafted:
            by_owner.setdefault(_owner(item.scope), []).append(item)
        for owner, items in by_owner.items():
            plan = self.linker.plan(owner, items, vectors)
            self._rewrite(owner, list(plan.merged.values()), report, new=plan.new, vectors=vectors, links=plan.links)

    def _rewrite(
        self,
        owner: Scope,
        changed: list[Item],
        report: ConsolidationReport,
        *,
        new: Sequence[Item] = (),
        vectors: Mapping[str, np.ndarray] | None = None,
        links: Sequence[Link] = (),
    ) -> None:
        """Replace stored facts whose sources changed (same id, text and vector; their links and
        access counts stay), together with ``new`` facts and ``links``; ``new`` must already be
        cleared of tombstoned and existing ids (``_link_and_write`` does it before linking)."""
        kept = self.store.vectors.vectors_for(owner, self.space, [c.id for c in changed]) if changed else {}
        old_links = self.store.records.links(owner, [c.id for c in changed]) if changed else []
        self._write_new(
            [*new, *changed],
            report,
            skip_existing=False,
            vectors={**(vectors or {}), **kept},
            links=[*old_links, *links],
            keep_recorded={c.id for c in changed},
            replaces=[c.id for c in changed],
            checked=True,
        )

    def _judge(self, scope: Scope, draft: FactDraft, slot: dict[str, Any], pending: Sequence[Item]) -> None:
        """Let the slot judge settle ambiguous changes against the slot's earlier facts (stored
        ones of the owner scope and those drafted earlier in this batch)."""
        assert self.slot_judge is not None and draft.slot is not None
        owner = _owner(scope)
        key = (draft.slot.subject.casefold(), draft.slot.attribute.casefold())

        def same_slot(item: Item) -> bool:
            other = item.metadata.get("slot")
            return (
                isinstance(other, dict)
                and (
                    str(other.get("subject", "")).casefold(),
                    str(other.get("attribute", "")).casefold(),
                )
                == key
            )

        stored = [f for f in self.store.records.iter_items(owner, levels=[Level.FACT]) if same_slot(f)]
        earlier = sorted(
            [*stored, *(p for p in pending if same_slot(p))], key=lambda f: (f.timestamp or datetime.min, f.id)
        )
        verdicts = self.slot_judge.judge(draft, earlier)
        if verdicts:
            slot["judged"] = verdicts
            slot["judged_by"] = self.slot_judge.id

    def _participants(self, scope: Scope) -> list[str]:
        if scope.session_id is None:
            return self.store.records.speakers(scope)
        turns = self.store.records.session_turns(scope, scope.session_id, 0, _ALL)
        return list(dict.fromkeys(t.speaker for _, t in turns if t.speaker))

    # -- episodes --------------------------------------------------------------------------
    def _episode(self, scope: Scope, report: ConsolidationReport) -> None:
        assert scope.session_id is not None
        turns = [t for _, t in self.store.records.session_turns(scope, scope.session_id, 0, _ALL)]
        if not turns:
            report.count(Level.EPISODE, removed=self.store.records.remove_items(scope, [episode_id(scope)]))
            return
        matrix = self._matrix(scope, turns)
        facts = list(self.store.records.iter_items(scope, levels=[Level.FACT]))
        draft = self.episodes.summarize(turns, matrix, facts)
        if draft is None:
            return
        item = episode_item(scope, draft, self.episodes.id)
        self._replace(scope, Level.EPISODE, [item], report, only_ids={item.id})

    # -- topics and profile ------------------------------------------------------------------
    def _scope_facts(self, owner: Scope) -> tuple[list[Item], np.ndarray]:
        facts = list(self.store.records.iter_items(owner, levels=[Level.FACT]))
        facts.sort(key=lambda f: (f.timestamp or datetime.min, f.id))
        return facts, self._matrix(owner, facts)

    def _matrix(self, scope: Scope, items: Sequence[Item]) -> np.ndarray:
        """The stored vectors of ``items``, one row each in order (zeros where one is missing)."""
        vectors = self.store.vectors.vectors_for(scope, self.space, [i.id for i in items])
        dim = self.embedder.dim
        if not items:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([vectors.get(i.id, np.zeros(dim, dtype=np.float32)) for i in items])

    def _topics(self, owner: Scope, facts: tuple[list[Item], np.ndarray], report: ConsolidationReport) -> None:
        items = [topic_item(owner, draft, self.topics.id) for draft in self.topics.cluster(*facts)]
        self._replace(owner, Level.TOPIC, items, report)

    def _profile(self, owner: Scope, facts: tuple[list[Item], np.ndarray], report: ConsolidationReport) -> None:
        items = [profile_item(owner, draft, self.profile.id) for draft in self.profile.build(facts[0])]
        self._replace(owner, Level.PROFILE, items, report)

    # -- writing -----------------------------------------------------------------------------
    def _replace(
        self,
        scope: Scope,
        level: Level,
        items: list[Item],
        report: ConsolidationReport,
        only_ids: Iterable[str] | None = None,
    ) -> None:
        """Make the stored items of ``level`` in ``scope`` equal ``items``: unchanged ones stay,
        changed ones are replaced, vanished ones removed (among ``only_ids`` when given)."""
        if only_ids is not None:
            current = self.store.records.get_items(scope, list(only_ids))
        else:
            current = {i.id: i for i in self.store.records.iter_items(scope, levels=[level])}
            current = {k: v for k, v in current.items() if v.scope.session_id is None}
        for item in items:
            item.sources = sorted(set(item.sources))
        wanted = {i.id: i for i in items}
        stale = [
            item_id
            for item_id, old in current.items()
            if item_id not in wanted
            or (old.text, old.sources, old.metadata)
            != (wanted[item_id].text, wanted[item_id].sources, wanted[item_id].metadata)
        ]
        # A changed item whose text is the same keeps its vector (only sources or metadata moved).
        same_text = [i for i in stale if i in wanted and current[i].text == wanted[i].text]
        kept_vectors = self.store.vectors.vectors_for(scope, self.space, same_text) if same_text else {}
        removed = self.store.records.remove_items(scope, stale)
        fresh = [i for i in items if i.id not in current or i.id in stale]
        report.count(level, removed=removed - sum(1 for i in fresh if i.id in current))
        self._write_new(fresh, report, skip_existing=False, vectors=kept_vectors)

    def _without_tombstones(self, items: list[Item]) -> list[Item]:
        """Drop the derived items a user deleted (a ``delete`` in the log names their id): deleting
        a fact, episode, topic or profile line keeps it deleted through later consolidations and
        rebuilds, until the delete record itself is forgotten."""
        by_owner: dict[Scope, list[str]] = {}
        for item in items:
            owner = _owner(item.scope)
            by_owner.setdefault(owner, []).append(item.id)
        dead: set[str] = set()
        for owner, ids in by_owner.items():
            dead |= self.store.records.deleted_ids(owner, ids)
        return [i for i in items if i.id not in dead] if dead else items

    def _without_existing(self, items: list[Item]) -> list[Item]:
        existing: set[str] = set()
        by_scope: dict[Scope, list[str]] = {}
        for item in items:
            by_scope.setdefault(item.scope, []).append(item.id)
        for scope, ids in by_scope.items():
            existing.update(self.store.records.get_items(scope, ids))
        return [i for i in items if i.id not in existing]

    def _embed(self, items: Sequence[Item]) -> dict[str, np.ndarray]:
        if not items:
            return {}
        embedded = self.embedder.embed([dense_text(i) for i in items])
        return {item.id: embedded[index] for index, item in enumerate(items)}

    def _write_new(
        self,
        items: list[Item],
        report: ConsolidationReport,
        skip_existing: bool = True,
        vectors: Mapping[str, np.ndarray] | None = None,
        links: Sequence[Link] = (),
        keep_recorded: Collection[str] = (),
        replaces: Sequence[str] = (),
        checked: bool = False,
    ) -> None:
        """``keep_recorded``: ids of rewritten items that keep their ``recorded_at`` (system time:
        memory held them since then, which ``as_of`` reads rely on); ``replaces``: stored items
        the batch writes again, removed in the same transaction (a crash leaves old or new);
        ``checked``: the caller already dropped tombstoned items."""
        if not items:
            return
        if not checked:
            items = self._without_tombstones(items)
        if skip_existing:
            items = self._without_existing(items)
        if not items:
            return
        recorded = now()
        for item in items:
            if item.id not in keep_recorded or item.recorded_at is None:
                item.recorded_at = recorded
            item.updated_at = recorded
            item.sources = sorted(set(item.sources))  # the store's canonical order
        known = dict(vectors or {})
        known.update(self._embed([i for i in items if i.id not in known]))
        batch = WriteBatch(space=self.space, links=list(links), replaces=list(replaces))
        for item in items:
            batch.items.append(item)
            batch.lexical[item.id] = lexical_document(item, [])
            batch.vectors[item.id] = known[item.id]
        self.store.records.write(batch)
        for level in {i.level for i in items}:
            report.count(level, written=sum(1 for i in items if i.level == level))


def _owner(scope: Scope) -> Scope:
    return Scope(tenant=scope.tenant, user_id=scope.user_id, agent_id=scope.agent_id)
