"""L2 episodes with an LLM: an abstractive summary of a session, falling back to the extractive one.

The zero-LLM summary is always computed first (it gives the span, participants and entities);
the model then writes the summary text. Sources are the turns whose content the summary carries
(lexical attribution, like the extractive summary's quoted turns); every turn the model read is
listed in ``metadata.session_turns``. A failed or unusable call leaves the extractive episode,
with the error in the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from outcrop.core.documents import spoken_date
from outcrop.core.text import content_terms, estimate_tokens
from outcrop.core.types import Item
from outcrop.errors import LLMError
from outcrop.llm.base import LLM
from outcrop.llm.prompts import episodes as prompt
from outcrop.llm.structured import generate
from outcrop.strata.base import EpisodeDraft, EpisodeSummarizer

__all__ = ["LLMEpisodeSummarizer"]


class LLMEpisodeSummarizer:
    version = 1

    def __init__(
        self,
        llm: LLM,
        fallback: EpisodeSummarizer,
        *,
        transcript_tokens: int = 1500,
        max_tokens: int = 250,
        max_sources: int = 8,
    ) -> None:
        self.llm = llm
        self.fallback = fallback
        self.transcript_tokens = transcript_tokens
        self.max_tokens = max_tokens
        self.max_sources = max_sources
        self.id = f"episodes.llm@{self.version}:{llm.model}:{prompt.PROMPT.id}"
        self.failures = 0

    def summarize(self, turns: Sequence[Item], vectors: np.ndarray, facts: Sequence[Item]) -> EpisodeDraft | None:
        base = self.fallback.summarize(turns, vectors, facts)
        if base is None:
            return None
        transcript, read = self._transcript(turns)
        header = "Conversation"
        if base.start:
            header += f" on {spoken_date(base.start)}"
        if base.participants:
            header += " between " + " and ".join(base.participants)
        try:
            reply = generate(
                self.llm,
                prompt.PROMPT,
                prompt.messages(header + ":", transcript),
                max_tokens=self.max_tokens,
                item=turns[0].scope.session_id,
            ).value
        except LLMError:
            self.failures += 1
            base.metadata["producer"] = self.fallback.id
            return base
        summary = " ".join(reply.summary.split())
        return EpisodeDraft(
            text=f"{header}. {summary}",
            sources=self._attribute(summary, read) or base.sources,
            start=base.start,
            end=base.end,
            participants=base.participants,
            entities=base.entities,
            metadata={**base.metadata, "session_turns": [t.id for t in turns], "read_turns": len(read)},
        )

    def _transcript(self, turns: Sequence[Item]) -> tuple[list[str], list[Item]]:
        lines: list[str] = []
        read: list[Item] = []
        used = 0
        for turn in turns:
            line = f"{turn.speaker or turn.role or 'someone'}: {' '.join(turn.text.split())[:600]}"
            cost = estimate_tokens(line)
            if used + cost > self.transcript_tokens:
                break
            lines.append(line)
            read.append(turn)
            used += cost
        return lines, read

    def _attribute(self, summary: str, turns: Sequence[Item]) -> list[str]:
        """The turns sharing the most content terms with the summary (at least two each)."""
        said = set(content_terms(summary))
        scored = []
        for turn in turns:
            shared = len(said & set(content_terms(turn.text)))
            if shared >= 2:
                scored.append((shared, turn.id))
        scored.sort(key=lambda pair: -pair[0])
        return [turn_id for _, turn_id in scored[: self.max_sources]]
