"""Contradiction judgement with an LLM, for the slot changes a rule cannot settle.

The read-time rule (:func:`outcrop.truth.slots.resolve`) lets a newer value of a single-valued
slot retire the older one, and keeps every value of a multi-valued slot. Two cases are ambiguous
and go to the model, at ingest, once per pair:

- a single-valued slot whose old and new values share words ("Boston" / "Boston, MA",
  "teacher" / "art teacher"): a restatement or a real change?
- a multi-valued slot whose new fact speaks of change ("no longer", "stopped", "quit", "used to",
  "instead"): does it retire an earlier value?

The verdicts are stored on the new fact (``metadata.slot.judged``: earlier fact id → verdict, and
``judged_by``) and honoured at read time, so the decision is explainable and reversible like any
other (retracting the new fact restores the old value). A failed call leaves the rule in force.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from outcrop.core.payloads import FactPayload
from outcrop.core.text import content_terms
from outcrop.core.types import Item
from outcrop.errors import LLMError
from outcrop.llm.base import LLM
from outcrop.llm.prompts import slots as prompt
from outcrop.llm.structured import generate
from outcrop.strata.base import FactDraft

__all__ = ["LLMSlotJudge", "ambiguous"]

_CHANGE = re.compile(
    r"\b(no longer|not anymore|any ?more|stopped|quit|gave up|used to|instead|switched|moved away|left|broke up)\b",
    re.IGNORECASE,
)


def ambiguous(draft: FactDraft, earlier: Item) -> bool:
    """Whether the rule alone cannot tell how ``draft``'s slot value relates to ``earlier``'s."""
    if draft.slot is None:
        return False
    slot = FactPayload.of(earlier).slot
    old = slot.value if slot is not None else ""
    new = draft.slot.value
    if old.casefold() == new.casefold():
        return False  # a repeat: the rule already treats it as a confirmation
    if draft.slot.single:
        return bool(set(content_terms(old)) & set(content_terms(new)))
    return bool(_CHANGE.search(draft.text))


class LLMSlotJudge:
    version = 1

    def __init__(self, llm: LLM, *, max_tokens: int = 100, max_pairs: int = 3) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.max_pairs = max_pairs  # the most recent earlier values judged per new fact
        self.id = f"slots.llm@{self.version}:{llm.model}:{prompt.PROMPT.id}"
        self.failures = 0

    def judge(self, draft: FactDraft, earlier: Sequence[Item]) -> dict[str, str]:
        if draft.slot is None:
            return {}
        verdicts: dict[str, str] = {}
        for old in [e for e in earlier if ambiguous(draft, e)][-self.max_pairs :]:
            try:
                reply = generate(
                    self.llm,
                    prompt.PROMPT,
                    prompt.messages(draft.slot.attribute.replace("_", " "), old.text, draft.text),
                    max_tokens=self.max_tokens,
                    item=old.id,
                ).value
            except LLMError:
                self.failures += 1
                continue
            verdicts[old.id] = reply.verdict
        return verdicts
