"""L3 topic labels with an LLM: the zero-LLM clusters, named and summarised by the model.

Clustering stays with the fallback (:class:`~outcrop.strata.topics.EntityAwareTopics`): it is
incremental and deterministic, and the model adds what it does best, a readable name and a
one-sentence summary. Topics are recomputed whenever facts grow, so a label is reused until its
topic has grown by ``relabel_growth`` (within one process); a failed call keeps the rule label,
with the error in the ledger and the fallback named as the topic's producer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from outcrop.core.documents import spoken_date
from outcrop.core.types import Item
from outcrop.errors import LLMError
from outcrop.llm.base import LLM
from outcrop.llm.prompts import topics as prompt
from outcrop.llm.structured import generate
from outcrop.strata.base import TopicClusterer, TopicDraft

__all__ = ["LLMTopicLabeler"]


class LLMTopicLabeler:
    version = 1

    def __init__(
        self, llm: LLM, fallback: TopicClusterer, *, max_tokens: int = 160, facts_shown: int = 12,
        relabel_growth: float = 0.5,
    ) -> None:  # fmt: skip
        self.llm = llm
        self.fallback = fallback
        self.max_tokens = max_tokens
        self.facts_shown = facts_shown
        self.relabel_growth = relabel_growth
        self.id = f"topics.llm@{self.version}:{llm.model}:{prompt.PROMPT.id}"
        self._labels: dict[str, tuple[int, str, str]] = {}  # topic key → (facts when labelled, label, summary)
        self.failures = 0

    def cluster(self, facts: Sequence[Item], vectors: np.ndarray) -> list[TopicDraft]:
        by_id = {f.id: f for f in facts}
        return [self._label(draft, by_id) for draft in self.fallback.cluster(facts, vectors)]

    def _label(self, draft: TopicDraft, by_id: dict[str, Item]) -> TopicDraft:
        known = self._labels.get(draft.key)
        if known is None or len(draft.facts) >= known[0] * (1 + self.relabel_growth):
            members = [by_id[f] for f in draft.facts if f in by_id][-self.facts_shown :]
            lines = [f"[{spoken_date(f.timestamp)}] {f.text}" if f.timestamp else f.text for f in members]
            try:
                reply = generate(
                    self.llm, prompt.PROMPT, prompt.messages(lines), max_tokens=self.max_tokens, item=draft.key
                ).value
            except LLMError:
                self.failures += 1
                return replace(draft, metadata={**draft.metadata, "producer": self.fallback.id})
            known = (len(draft.facts), " ".join(reply.label.split()), " ".join(reply.summary.split()))
            self._labels[draft.key] = known
        _, label, summary = known
        shown = draft.text.removeprefix(f"Topic: {draft.label}. ")
        return replace(
            draft,
            label=label,
            text=f"Topic: {label}. {summary} {shown}",
            metadata={**draft.metadata, "rule_label": draft.label},
        )
