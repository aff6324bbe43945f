"""L4 profile with an LLM reflection pass: each rule-built line is checked against its facts.

The zero-LLM builder (:class:`~outcrop.strata.profile.SlotProfile`) makes the lines; the model
reads each line with the facts it cites and says whether they support it. Supported lines carry
the verdict in ``metadata.reflection``; unsupported ones (a question or a wish read as a trait,
the wrong person) leave the profile and are kept, with the model's reason, in :attr:`rejected`
and in ``metadata.reflection_rejected`` of the subject's remaining lines, so nothing vanishes
unexplained. A failed call keeps the line unreflected (the error is in the ledger). Verdicts are
remembered per (line, facts) within the process, so unchanged lines are not asked again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from outcrop.core.types import Item
from outcrop.errors import LLMError
from outcrop.llm.base import LLM
from outcrop.llm.prompts import profile as prompt
from outcrop.llm.structured import generate
from outcrop.strata.base import ProfileBuilder, ProfileDraft

__all__ = ["LLMProfileReflector"]


class LLMProfileReflector:
    version = 1

    def __init__(self, llm: LLM, fallback: ProfileBuilder, *, max_tokens: int = 120, facts_shown: int = 8) -> None:
        self.llm = llm
        self.fallback = fallback
        self.max_tokens = max_tokens
        self.facts_shown = facts_shown
        self.id = f"profile.llm@{self.version}:{llm.model}:{prompt.PROMPT.id}"
        self._verdicts: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}
        self.rejected: list[dict[str, Any]] = []
        self.failures = 0

    def build(self, facts: Sequence[Item]) -> list[ProfileDraft]:
        by_id = {f.id: f for f in facts}
        kept: list[ProfileDraft] = []
        rejected: dict[str, list[dict[str, str]]] = {}
        for draft in self.fallback.build(facts):
            verdict = self._verdict(draft, by_id)
            if verdict is None:
                kept.append(replace(draft, metadata={**draft.metadata, "producer": self.fallback.id}))
            elif verdict["verdict"] == "unsupported":
                record = {"line": draft.text, "reason": verdict["reason"], "facts": ",".join(draft.facts)}
                rejected.setdefault(draft.subject, []).append(record)
                if record not in self.rejected:
                    self.rejected.append(record)
            else:
                kept.append(replace(draft, metadata={**draft.metadata, "reflection": verdict}))
        for index, draft in enumerate(kept):
            if draft.subject in rejected:
                kept[index] = replace(
                    draft, metadata={**draft.metadata, "reflection_rejected": rejected[draft.subject]}
                )
        return kept

    def _verdict(self, draft: ProfileDraft, by_id: dict[str, Item]) -> dict[str, str] | None:
        key = (draft.text, tuple(draft.facts))
        if key in self._verdicts:
            return self._verdicts[key]
        cited = [by_id[f].text for f in draft.facts if f in by_id][: self.facts_shown]
        try:
            reply = generate(
                self.llm,
                prompt.PROMPT,
                prompt.messages(draft.text, cited),
                max_tokens=self.max_tokens,
                item=f"{draft.subject}/{draft.attribute}",
            ).value
        except LLMError:
            self.failures += 1
            return None
        verdict = {"verdict": reply.verdict, "reason": " ".join(reply.reason.split()), "by": prompt.PROMPT.id}
        self._verdicts[key] = verdict
        return verdict
