"""L2 episodes without an LLM: an extractive summary of a session from its most central turns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from outcrop.core.documents import spoken_date
from outcrop.core.payloads import FactPayload
from outcrop.core.text import content_terms, split_sentences
from outcrop.core.types import Item
from outcrop.strata.base import EpisodeDraft
from outcrop.strata.entities import without_chat_words

__all__ = ["CentralTurnsSummarizer"]

_MAX_QUOTE_WORDS = 40


def _quote(text: str) -> str:
    words: list[str] = []
    for sentence in split_sentences(text):
        words.extend(sentence.split())
        if len(words) >= 12:
            break
    clipped = words[:_MAX_QUOTE_WORDS]
    return " ".join(clipped) + ("…" if len(words) > _MAX_QUOTE_WORDS else "")


class CentralTurnsSummarizer:
    """Quote the ``k`` turns closest to the session's mean embedding (a centroid summary), in
    order, headed by the date, the participants and the session's key entities. The sources are
    exactly the quoted turns: the episode is judged on the evidence it carries."""

    id = "episodes.central@1"

    def __init__(self, turns: int = 4) -> None:
        self.k = turns

    def summarize(self, turns: Sequence[Item], vectors: np.ndarray, facts: Sequence[Item]) -> EpisodeDraft | None:
        if not turns:
            return None
        richness = [len(set(content_terms(t.text))) for t in turns]
        floor = max(3, int(np.median(richness)))
        substantive = [i for i, r in enumerate(richness) if r >= floor] or list(range(len(turns)))
        matrix = vectors[substantive]
        centre = matrix.mean(axis=0)
        norm = float(np.linalg.norm(centre))
        scores = matrix @ (centre / norm) if norm else np.zeros(len(substantive))
        k = min(self.k, len(substantive))
        chosen = sorted(substantive[j] for j in np.argsort(-scores, kind="stable")[:k])
        participants = list(dict.fromkeys(t.speaker for t in turns if t.speaker))
        entity_counts: Counter[str] = Counter(
            name
            for f in facts
            for name in map(without_chat_words, FactPayload.of(f).entities)
            if name is not None and _key_entity(name, participants)
        )
        entities = [e for e, _ in entity_counts.most_common(6)]
        times = [t.timestamp for t in turns if t.timestamp]
        start, end = (min(times), max(times)) if times else (None, None)
        head = f"Conversation on {spoken_date(start)}" if start else "Conversation"
        if participants:
            head += (
                " between " + " and ".join(participants)
                if len(participants) <= 2
                else f" among {', '.join(participants)}"
            )
        if entities:
            head += f" about {', '.join(entities)}"
        quotes = " ".join(f"{turns[i].speaker or turns[i].role}: {_quote(turns[i].text)}" for i in chosen)
        return EpisodeDraft(
            text=f"{head}. {quotes}",
            sources=[turns[i].id for i in chosen],
            start=start,
            end=end,
            participants=participants,
            entities=entities,
            metadata={"turns": len(turns), "session_turns": [t.id for t in turns]},
        )


def _key_entity(name: str, participants: Sequence[str | None]) -> bool:
    """Whether an entity (without the chat words it opened with: "Woah Joanna" is "Joanna") may
    label an episode: a capitalised name of three letters or more that is neither a participant nor
    a short form of one ("Mel" for Melanie)."""
    if len(name) < 3 or not (name[0].isupper() or name[0].isdigit()):
        return False
    return not any(p and (p == name or p.startswith(name) or name.startswith(f"{p} ")) for p in participants)
