"""Run the producers: turns → facts → episodes, topics and profile, incrementally and idempotently.

Every derived item gets a deterministic id from what it was made of (``derived_id``), so running
the same producers over the same turns twice writes nothing new, and a projection whose content
changed is replaced in place (same id, new text). Facts are only ever added for turns that have
none; episodes are recomputed for the sessions an add touched; topics and the profile are
recomputed for the scope and rewritten only where they changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from outcrop.config import MemoryConfig
from outcrop.core.documents import dense_text
from outcrop.core.ids import child_id
from outcrop.core.payloads import FactPayload, SlotPayload
from outcrop.core.provenance import carried_turns, derived_provenance
from outcrop.core.types import Item, Level, LogRecord, Scope
from outcrop.providers.base import Embedder, first_window_only
from outcrop.stores.base import Store, VectorSpace
from outcrop.strata.base import EpisodeSummarizer, FactDraft, FactExtractor, ProfileBuilder, SlotJudge, TopicClusterer
from outcrop.strata.captions import caption_statements
from outcrop.strata.derived import episode_id, episode_item, profile_item, topic_item
from outcrop.strata.entities import default_recognizer
from outcrop.strata.entity_pages import EntityPageBuilder
from outcrop.strata.episodes import CentralTurnsSummarizer
from outcrop.strata.facts import RuleFactExtractor, slot_of
from outcrop.strata.links import FactLinker
from outcrop.strata.pages import EntityPages
from outcrop.strata.plan import PlanWriter, StrataPlan, replace_level
from outcrop.strata.profile import SlotProfile
from outcrop.strata.relations import RelationViews
from outcrop.strata.topics import EntityAwareTopics
from outcrop.strata.traits import TraitViews
from outcrop.truth.slots import slot_key

__all__ = ["ConsolidationReport", "Consolidator"]

_ALL = 10**9
_IMAGE_MARK = "[shared an image:"  # a turn carrying an image: a caption statement's source (strata/captions.py)


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
        self.pages = EntityPages(s.page_min_facts, s.page_lines)
        self.relation_views = RelationViews()
        self.entity_pages = EntityPageBuilder(s.page_min_facts, s.page_lines)
        self.traits = TraitViews(s.trait_lines)
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
        self.writer = PlanWriter(store, first_window_only(embedder), self.space)
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

    def after_change(
        self, scope: Scope, turn_ids: Sequence[str], *, removed: bool, gone: Sequence[Item] | None = None
    ) -> ConsolidationReport:
        """A turn was updated or deleted: drop the facts made from it, re-derive them from the new
        text (update), and refresh the episode, topics and profile of its scope.

        ``gone``: the deleted turns as they were (a delete, whose scope keeps its speakers). The
        topics and profile are then refreshed only when what they are drawn from moved: the
        scope's facts, or the turns that shared an image (the caption statements); otherwise they
        would come out the same, at the cost of reading every fact and turn of the scope (a user
        of 100k turns: seconds a delete). Without it (an update, a forget) they always are."""
        report = ConsolidationReport()
        owner = scope.owner
        plan, redraw = self._unsourced_facts(owner, set(turn_ids))
        self._apply(plan, report)
        turns = [] if removed else list(self.store.records.get_items(owner, turn_ids).values())
        turns += [t for t in self.store.records.get_items(owner, sorted(redraw)).values() if t.level == Level.TURN]
        if turns and self.config.strata.facts:
            turns.sort(key=lambda t: (t.timestamp or datetime.min, t.id))
            self._apply(self._facts(turns), report)
        views = gone is None or not plan.empty or bool(turns) or any(_IMAGE_MARK in t.text for t in gone)
        self._refresh(owner, [scope.session_id], report, force=True, views=views)
        if views:
            self._refresh_readers(scope, report)
        return report

    def edited_fact_metadata(self, fact: Item, text: str) -> dict[str, Any]:
        """``fact``'s metadata for the ``text`` a caller gave it: the slot the text states now
        (read as the rule extractor reads one), or none, and the names it holds, so that the
        profile, the timeline, current truth and the entity channel follow the edit; the rest kept. An edit of "Maya lives in Boston" to
        "... Lisbon" left the slot saying Boston (the profile kept it)."""
        payload = FactPayload.of(fact)
        participants = self._participants(fact.scope)
        slot = slot_of(text, fact.speaker, participants)
        recognizer = getattr(self.facts, "entities", None) or getattr(self.facts, "recognizer", None)
        if recognizer is not None and hasattr(recognizer, "entities"):  # the names the text holds now
            named = [p for p in participants if p and p in text]
            payload.entities = list(dict.fromkeys([*named, *recognizer.entities(text)]))
        payload.slot = (
            None
            if slot is None
            else SlotPayload(subject=slot.subject, attribute=slot.attribute, value=slot.value, single=slot.single)
        )
        kept = {k: v for k, v in fact.metadata.items() if k != "slot"}
        return {**kept, **payload.to_metadata()}

    def after_fact_change(self, scope: Scope) -> ConsolidationReport:
        """A fact in ``scope`` was updated or deleted by the caller: its session's episode and the
        topics and profile drawn from the owner's facts follow (they quoted or cited it)."""
        report = ConsolidationReport()
        self._refresh(scope.owner, [scope.session_id], report, force=True)
        self._refresh_readers(scope, report)
        return report

    def _refresh_readers(self, scope: Scope, report: ConsolidationReport) -> None:
        for reader in self.readers_above(scope.owner):
            # and the reader's own episode of this session, which a store consolidated before
            # episodes kept to their owner may hold
            session = reader.model_copy(update={"session_id": scope.session_id})
            held = scope.session_id is not None and bool(self.store.records.get_items(session, [episode_id(session)]))
            self._refresh(reader, [scope.session_id] if held else [], report, force=True)

    def readers_above(self, owner: Scope) -> list[Scope]:
        """The other owners whose topics and profile read ``owner``'s facts: a user's agent-less
        owner reads every agent's (``agent_id`` None reads as any), when it holds such views. A
        change to an agent's turns refreshes them too, or an agent's deleted or forgotten words
        would live on in the user's topics and profile."""
        if owner.agent_id is None:
            return []
        user = Scope(tenant=owner.tenant, user_id=owner.user_id)
        views = self.store.records.iter_items(user, levels=[Level.TOPIC, Level.PROFILE])
        return [user] if any(item.scope.agent_id is None for item in views) else []

    def _run(self, scope: Scope, turns: list[Item], *, force: bool = False) -> ConsolidationReport:
        report = ConsolidationReport()
        if not turns:
            return report
        owner = scope.owner
        # a session's episode belongs to its turns' owner: a user's scope reads its agents' turns
        # too, and consolidating it made each agent session a second, agent-less episode
        sessions: dict[Scope, dict[str | None, None]] = {owner: {}}
        for turn in turns:
            sessions.setdefault(turn.scope.owner, {})[turn.scope.session_id] = None
        if self.config.strata.facts:
            self._apply(self._facts(turns), report)
        for other, its_sessions in sessions.items():
            if other != owner:
                self._refresh(other, list(its_sessions), report, force=force)
        self._refresh(owner, list(sessions[owner]), report, force=force)
        return report

    def _refresh(
        self,
        owner: Scope,
        sessions: Sequence[str | None],
        report: ConsolidationReport,
        *,
        force: bool = False,
        views: bool = True,
    ) -> None:
        """Recompute the episodes of ``sessions`` and (``views``) the topics and profile of ``owner``.

        Topics and the profile read every fact of the scope, so on ``add`` they are refreshed only
        once the facts have grown by ``strata.refresh_growth`` since the last refresh (amortised
        linear cost for long-lived memories); ``consolidate()`` and changes to turns always refresh."""
        s = self.config.strata
        if s.episodes:
            for session in sessions:
                if session is not None:
                    self._apply(self._episode(owner.model_copy(update={"session_id": session})), report)
        if views and (s.topics or s.pages or s.relations or s.entity_pages or s.traits or s.profile):
            count = self.store.records.count_level(owner, Level.FACT)
            last = self._refreshed.get(owner)
            if not force and last is not None and count - last < s.refresh_growth * last:
                return
            self._refreshed[owner] = count
            facts = self._scope_facts(owner)
            if s.topics or s.pages or s.relations or s.entity_pages or s.traits:
                self._apply(self._topics(owner, facts), report)
            if s.profile:
                self._apply(self._profile(owner, facts), report)

    def _apply(self, plan: StrataPlan, report: ConsolidationReport) -> None:
        counts = self.writer.apply(plan)
        for level, written in counts.written.items():
            report.count(level, written=written)
        for level, removed in counts.removed.items():
            report.count(level, removed=removed)

    # -- facts -----------------------------------------------------------------------------
    def _facts(self, turns: list[Item]) -> StrataPlan:
        """Facts drawn from ``turns``: near-duplicates of a stored or earlier fact merge into it,
        the rest are new, with links to related facts (strata/links.py)."""
        participants: dict[tuple[Any, ...], list[str]] = {}
        drafted: list[Item] = []
        prepare = getattr(self.facts, "prepare", None)  # a producer that batches its work (spaCy)
        if prepare is not None:
            prepare(turns)
        for turn in turns:
            key = (turn.scope.user_id, turn.scope.agent_id, turn.scope.session_id)
            if key not in participants:
                participants[key] = self._participants(turn.scope)
            for index, draft in enumerate(self.facts.extract(turn, participants[key])):
                payload = FactPayload(kind=draft.kind, entities=draft.entities, dates=draft.dates)
                if draft.slot is not None:
                    payload.slot = SlotPayload(
                        subject=draft.slot.subject,
                        attribute=draft.slot.attribute,
                        value=draft.slot.value,
                        single=draft.slot.single,
                    )
                    if self.slot_judge is not None:
                        self._judge(turn.scope, draft, payload.slot, drafted)
                drafted.append(
                    Item(
                        id=child_id(Level.FACT.prefix, turn.id, index, self.facts.id),
                        level=Level.FACT,
                        scope=turn.scope,
                        text=draft.text,
                        role=turn.role,
                        speaker=draft.speaker,
                        timestamp=draft.timestamp,
                        metadata={**payload.to_metadata(), **derived_provenance(turn)},  # its writer, flags
                        sources=[draft.source],
                        producer=getattr(draft, "producer", "") or self.facts.id,  # an LLM producer's fallback
                    )
                )
        drafted = self._with_edits(self._without_existing(self.writer.without_tombstones(drafted)), turns)
        if not drafted or self.linker is None:
            return StrataPlan(new=drafted)
        plan = StrataPlan(vectors=self.writer.embed(drafted, self._turn_vectors(turns)))
        by_owner: dict[Scope, list[Item]] = {}
        for item in drafted:
            by_owner.setdefault(item.scope.owner, []).append(item)
        for owner, items in by_owner.items():
            linked = self.linker.plan(owner, items, plan.vectors)
            merged = list(linked.merged.values())
            plan.new += linked.new
            plan.links += linked.links
            plan.changed += merged
            plan.keep_recorded |= {m.id for m in merged}
            if merged:
                plan.vectors.update(self.store.vectors.vectors_for(owner, self.space, [m.id for m in merged]))
        return plan

    def _with_edits(self, drafted: list[Item], turns: Sequence[Item]) -> list[Item]:
        """Facts drawn again (a rebuild, an import, after their turn's edit) with the text a caller
        gave them by ``update``: its record names the fact's id, which is drawn the same from the
        same turn, so the edit outlives the item (a rebuild used to bring the old text back). An
        edit older than its turn's latest own edit is left: the turn says something else now."""
        by_owner: dict[Scope, list[str]] = {}
        for item in drafted:
            by_owner.setdefault(item.scope.owner, []).append(item.id)
        edits: dict[str, LogRecord] = {}
        for owner, ids in by_owner.items():
            edits.update(self.store.records.edits_of(owner, ids))
        if not edits:
            return drafted
        edited_turns = {t.id: t.scope.owner for t in turns if t.version > 1}  # their own latest edits
        wanted: dict[Scope, list[str]] = {}
        for item in drafted:
            if item.id in edits:
                for source in item.sources:
                    if source in edited_turns:
                        wanted.setdefault(edited_turns[source], []).append(source)
        turn_edits: dict[str, LogRecord] = {}
        for owner, ids in wanted.items():
            turn_edits.update(self.store.records.edits_of(owner, ids))
        out = []
        for item in drafted:
            record = edits.get(item.id)
            # log ids sort by the time they were made: a turn edit after the fact's is the later word
            later = [s for s in item.sources if s in turn_edits and turn_edits[s].id > (record.id if record else "")]
            if record is None or later:
                out.append(item)
                continue
            text = str(record.payload["text"])
            metadata = self.edited_fact_metadata(item, text)
            out.append(
                item.model_copy(update={"text": text, "sources": [*item.sources, record.id], "metadata": metadata})
            )
        return out

    def _turn_vectors(self, turns: Sequence[Item]) -> dict[str, np.ndarray]:
        """The stored vectors of ``turns`` by their text (:func:`dense_text`)."""
        known: dict[str, np.ndarray] = {}
        by_owner: dict[Scope, list[Item]] = {}
        for turn in turns:
            by_owner.setdefault(turn.scope.owner, []).append(turn)
        for owner, items in by_owner.items():
            stored = self.store.vectors.vectors_for(owner, self.space, [t.id for t in items])
            known.update((dense_text(t), stored[t.id]) for t in items if t.id in stored)
        return known

    def _unsourced_facts(self, owner: Scope, gone: set[str]) -> tuple[StrataPlan, set[str]]:
        """The facts of turns ``gone`` (updated or deleted): a fact drawn from one of them is
        removed; a merged fact that only restated one of them loses it. Returns the plan and the
        turns to draw facts from again (those that restated a removed fact)."""
        records = self.store.records
        facts = [i for i in records.get_items(owner, records.derived_from(owner, sorted(gone))).values()]
        plan = StrataPlan()
        redraw: set[str] = set()
        dropped: list[str] = []
        for fact in facts:
            if fact.level != Level.FACT:
                continue
            payload = FactPayload.of(fact)
            again = {t for r in payload.restated for t in r.sources}
            if (carried_turns(fact) - again) & gone:
                dropped.append(fact.id)
                redraw |= again - gone
                continue
            fact.sources = [x for x in fact.sources if x not in gone]
            payload.restated = [r for r in payload.restated if not set(r.sources) & gone]
            fact.metadata = payload.to_metadata()
            plan.changed.append(fact)
        plan.remove(owner, Level.FACT, dropped)
        plan.keep_recorded = {c.id for c in plan.changed}
        if plan.changed:
            plan.vectors = self.store.vectors.vectors_for(owner, self.space, [c.id for c in plan.changed])
        return plan, redraw

    def _judge(self, scope: Scope, draft: FactDraft, slot: SlotPayload, pending: Sequence[Item]) -> None:
        """Let the slot judge settle ambiguous changes against the slot's earlier facts (stored
        ones of the owner scope and those drafted earlier in this batch)."""
        assert self.slot_judge is not None
        owner = scope.owner

        def same_slot(item: Item) -> bool:
            return slot_key(item) == slot.key

        stored = [f for f in self.store.records.iter_items(owner, levels=[Level.FACT]) if same_slot(f)]
        earlier = sorted(
            [*stored, *(p for p in pending if same_slot(p))], key=lambda f: (f.timestamp or datetime.min, f.id)
        )
        verdicts = self.slot_judge.judge(draft, earlier)
        if verdicts:
            slot.judged = verdicts
            slot.judged_by = self.slot_judge.id

    def _participants(self, scope: Scope) -> list[str]:
        if scope.session_id is None:
            return self.store.records.speakers(scope)
        turns = self.store.records.session_turns(scope, scope.session_id, 0, _ALL)
        return list(dict.fromkeys(t.speaker for _, t in turns if t.speaker))

    # -- episodes --------------------------------------------------------------------------
    def _episode(self, session: Scope) -> StrataPlan:
        assert session.session_id is not None
        current = self.store.records.get_items(session, [episode_id(session)])
        turns = [t for _, t in self.store.records.session_turns(session, session.session_id, 0, _ALL)]
        if not turns:
            return replace_level(self.store, self.space, session, Level.EPISODE, [], current)
        matrix = self._matrix(session, turns)
        facts = list(self.store.records.iter_items(session, levels=[Level.FACT]))
        draft = self.episodes.summarize(turns, matrix, facts)
        if draft is None:
            return StrataPlan()
        wanted = [episode_item(session, draft, self.episodes.id)]
        return replace_level(self.store, self.space, session, Level.EPISODE, wanted, current)

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

    def _topics(self, owner: Scope, facts: tuple[list[Item], np.ndarray]) -> StrataPlan:
        """Topics (clusters) and entity pages: both L3, replaced together."""
        s = self.config.strata
        wanted = [topic_item(owner, draft, self.topics.id) for draft in self.topics.cluster(*facts)] if s.topics else []
        people = self.store.records.speakers(owner) if s.pages or s.relations or s.entity_pages or s.traits else []
        if s.pages:
            wanted += [topic_item(owner, draft, self.pages.id) for draft in self.pages.build(facts[0], people)]
        if s.relations or s.entity_pages:
            shown = caption_statements(self._turns(owner), people) if s.captions and s.relations else []
            found = self.relation_views.extractor.extract(facts[0], people, shown)
            if s.relations:
                wanted += [topic_item(owner, d, self.relation_views.id) for d in self.relation_views.views(found)]
            if s.entity_pages:
                wanted += [
                    topic_item(owner, d, self.entity_pages.id) for d in self.entity_pages.build(facts[0], people, found)
                ]
        if s.traits:
            # no timestamp: a view spans a person's sessions and is no candidate of the recency channel
            # (its ties with other items would fall to each store's insertion order)
            wanted += [
                topic_item(owner, d, self.traits.id).model_copy(update={"timestamp": None})
                for d in self.traits.build(facts[0], people)
            ]
        return replace_level(self.store, self.space, owner, Level.TOPIC, wanted, self._owned(owner, Level.TOPIC))

    def _turns(self, owner: Scope) -> list[Item]:
        """The scope's turns that share an image (the caption statements' sources)."""
        return [t for t in self.store.records.iter_items(owner, levels=[Level.TURN]) if _IMAGE_MARK in t.text]

    def _profile(self, owner: Scope, facts: tuple[list[Item], np.ndarray]) -> StrataPlan:
        wanted = [profile_item(owner, draft, self.profile.id) for draft in self.profile.build(facts[0])]
        return replace_level(self.store, self.space, owner, Level.PROFILE, wanted, self._owned(owner, Level.PROFILE))

    def _owned(self, owner: Scope, level: Level) -> dict[str, Item]:
        """The stored items of ``level`` that belong to ``owner`` itself (not to one session)."""
        items = self.store.records.iter_items(owner, levels=[level])
        return {i.id: i for i in items if i.scope.session_id is None}

    def _without_existing(self, items: list[Item]) -> list[Item]:
        existing: set[str] = set()
        by_scope: dict[Scope, list[str]] = {}
        for item in items:
            by_scope.setdefault(item.scope, []).append(item.id)
        for scope, ids in by_scope.items():
            existing.update(self.store.records.get_items(scope, ids))
        return [i for i in items if i.id not in existing]
