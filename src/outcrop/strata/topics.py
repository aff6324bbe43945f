"""L3 topics without an LLM: facts clustered across sessions by embedding and shared entities.

Leader clustering in time order: each fact joins the topic whose centroid it is closest to (a
shared entity counts as a bonus) when the cosine clears a threshold, or founds a new topic. The
order is the facts' own time order, so facts that arrive later never change how earlier ones were
grouped: new facts extend topics, and only topics whose members changed are rewritten.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from outcrop.core.documents import spoken_date
from outcrop.core.payloads import FactPayload
from outcrop.core.text import CHAT_WORDS, STOPWORDS, cased_words, content_terms, without_possessive
from outcrop.core.types import Item
from outcrop.strata.base import TopicDraft
from outcrop.strata.entities import without_chat_words

__all__ = ["EntityAwareTopics"]

_ENTITY_BONUS = 0.1


def _informative(fact: Item, participants: set[str]) -> bool:
    """Facts worth clustering: a slot, a date, an entity beyond the participants, or substance."""
    payload = FactPayload.of(fact)
    if payload.slot is not None or payload.dates or set(payload.entities) - participants:
        return True
    return len(set(content_terms(fact.text)) - {p.lower() for p in participants}) >= 5


@dataclass
class _Cluster:
    founder: str
    total: np.ndarray
    members: list[int] = field(default_factory=list)
    entities: Counter[str] = field(default_factory=Counter)

    def centroid(self) -> np.ndarray:
        norm = float(np.linalg.norm(self.total))
        return self.total / norm if norm else self.total


class EntityAwareTopics:
    id = "topics.leader@1"

    def __init__(self, similarity: float = 0.55, min_facts: int = 3, shown: int = 5) -> None:
        self.similarity = similarity
        self.min_facts = min_facts
        self.shown = shown

    def cluster(self, facts: Sequence[Item], vectors: np.ndarray) -> list[TopicDraft]:
        """``facts`` in time order with their unit ``vectors``."""
        keep = [i for i, f in enumerate(facts) if _informative(f, {g.speaker for g in facts if g.speaker})]
        if len(keep) < self.min_facts:
            return []
        # Centre the embeddings: what all of a person's facts share (their name, the chat register)
        # otherwise outweighs what a topic is about, and clusters merge into a few giant ones.
        vectors = vectors - vectors[keep].mean(axis=0)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        clusters: list[_Cluster] = []
        centroids = np.zeros((0, vectors.shape[1] if vectors.size else 0), dtype=np.float32)
        participants = {f.speaker for f in facts if f.speaker}
        for index in keep:
            fact = facts[index]
            vector = vectors[index]
            # An ordered list, not a set: Counter.most_common breaks ties by insertion order, and a
            # set's order depends on PYTHONHASHSEED, so labels would differ between processes.
            entities = list(dict.fromkeys(e for e in FactPayload.of(fact).entities if e not in participants))
            best, best_score = -1, -1.0
            if clusters:
                scores = centroids @ vector
                for c, cluster in enumerate(clusters):
                    bonus = _ENTITY_BONUS if any(e in cluster.entities for e in entities) else 0.0
                    if scores[c] + bonus > best_score:
                        best, best_score = c, float(scores[c] + bonus)
            if best >= 0 and best_score >= self.similarity:
                cluster = clusters[best]
                cluster.members.append(index)
                cluster.total = cluster.total + vector
                cluster.entities.update(entities)
                centroids[best] = cluster.centroid()
            else:
                clusters.append(_Cluster(fact.id, vector.copy(), [index], Counter(entities)))
                centroids = np.vstack([centroids, vector[None, :]])
        drafts = []
        words: _LabelWords | None = None  # counted once, for the first topic that needs a label
        for cluster in clusters:
            members = [facts[i] for i in cluster.members]
            sessions = {f.scope.session_id for f in members}
            if len(members) < self.min_facts or len(sessions) < 2:
                continue
            words = words or _LabelWords.of(facts, participants)
            entities = [e for e, _ in cluster.entities.most_common(3)]
            label = _label(cluster.members, words, entities)
            drafts.append(self._draft(cluster, members, vectors[cluster.members], label, entities))
        return drafts

    def _draft(
        self, cluster: _Cluster, members: list[Item], vectors: np.ndarray, label: str, entities: list[str]
    ) -> TopicDraft:
        central = np.argsort(-(vectors @ cluster.centroid()), kind="stable")[: self.shown]
        shown = sorted((members[i] for i in central), key=lambda f: (f.timestamp is None, f.timestamp))
        times = [f.timestamp for f in members if f.timestamp]
        start, end = (min(times), max(times)) if times else (None, None)
        lines = "; ".join(f"[{spoken_date(f.timestamp)}] {f.text}" if f.timestamp else f.text for f in shown)
        return TopicDraft(
            key=cluster.founder,
            label=label,
            text=f"Topic: {label}. {lines}",  # span and size live in metadata: the text changes less
            facts=[f.id for f in members],
            sources=list(dict.fromkeys(s for f in shown for s in f.sources)),
            start=start,
            end=end,
            entities=entities,
        )


@dataclass(frozen=True)
class _LabelWords:
    """What labels are made of: each fact's label words (by index) and how many facts hold each."""

    names: frozenset[str]
    terms: list[set[str]]
    df: Counter[str]
    facts: list[Item]

    @classmethod
    def of(cls, facts: Sequence[Item], participants: set[str]) -> _LabelWords:
        names = frozenset(p.lower() for p in participants)
        lowered = {w for f in facts for w in cased_words(f.text) if w.islower()}
        terms = [_label_terms(f.text, names, lowered) for f in facts]
        return cls(names, terms, Counter(t for held in terms for t in held), list(facts))


def _label(members: Sequence[int], words: _LabelWords, entities: Sequence[str]) -> str:
    """A topic's name: its most frequent entities (without chat words: "Woohoo", "Woah Joanna"), then
    the words its facts share most, weighted by rarity among all the facts; neither a participant's
    name nor its short form ("Mel"), a possessive ("melanie's"), a chat word, a number or a word of two
    letters ("de" of "de-stress")."""
    shown = [
        name
        for name in dict.fromkeys(without_chat_words(e) for e in entities)
        if name is not None and not _short_name(name.lower(), words.names)
    ]
    counts = Counter(t for i in members for t in words.terms[i])
    n = len(words.terms)
    weighted = sorted(counts, key=lambda t: (-counts[t] * math.log(1 + n / words.df[t]), t))
    taken = {name.lower() for name in shown}
    label = ", ".join([*shown, *(t for t in weighted if t not in taken)][:4])
    if label:
        return label
    # facts of chat only ("Woohoo, Aww John, bummer"): their most frequent words, as they are
    chat = Counter(t for i in members for t in set(content_terms(words.facts[i].text)) if t not in words.names)
    return ", ".join(t for t, _ in chat.most_common(4))


def _label_terms(text: str, names: frozenset[str], lowered: set[str]) -> set[str]:
    """``text``'s words that may name a topic; ``lowered``: the words the facts write in lower case."""
    terms = set()
    for word in cased_words(text):
        term = without_possessive(word.lower())
        if len(term) <= 2 or term.isdigit() or term in STOPWORDS or term in CHAT_WORDS or term in names:
            continue
        if word[:1].isupper() and term not in lowered and _short_name(term, names):
            continue  # "Mel" for Melanie; "Car" opening a sentence is "car" elsewhere
        terms.add(term)
    return terms


def _short_name(word: str, names: frozenset[str]) -> bool:
    """``word`` (lower case) is a participant's name or its first three letters ("mel" for Melanie;
    not "joan" beside Joanna, who may be someone else)."""
    return word in names or (len(word) == 3 and any(name.startswith(word) for name in names))
