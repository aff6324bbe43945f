"""Episodes: a session's central turns under a head naming its date, participants and key entities."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from outcrop.core.payloads import FactPayload
from outcrop.core.types import Item, Level, Scope
from outcrop.strata.episodes import CentralTurnsSummarizer


def test_episode_labels_skip_chat_words_and_short_forms_of_participants() -> None:
    scope = Scope(user_id="u1", session_id="s1")
    when = datetime(2023, 5, 8)
    turns = [
        Item(id=f"t_{i}", level=Level.TURN, scope=scope, text=text, speaker=who, timestamp=when)
        for i, (who, text) in enumerate(
            [("Melanie", "I made a clay bowl at the pottery class in Denver."), ("Caroline", "See ya, Mel!")]
        )
    ]
    facts = [
        Item(
            id=f"f_{i}",
            level=Level.FACT,
            scope=scope,
            text="x",
            metadata=FactPayload(entities=names).to_metadata(),
        )
        for i, names in enumerate(
            # as spaCy's small model read LoCoMo's chat: "Woohoo, ...", "Woah Joanna, I won ...", "Glad Max ..."
            [["Melanie", "Denver", "Clay", "Woohoo"], ["Mel", "ya", "Denver", "Woah Melanie", "Glad Clay", "Fingers"]]
        )
    ]
    draft = CentralTurnsSummarizer(2).summarize(turns, np.eye(2, 4, dtype=np.float32), facts)
    assert draft is not None
    assert draft.entities == ["Denver", "Clay"]
    assert "about Denver, Clay." in draft.text
