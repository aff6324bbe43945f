"""A query is read from the model's first window, however long: search costs the same for a
32,000-character query as for a 500-character one (real model and SQLite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from outcrop import Memory, MemoryConfig
from outcrop.providers.base import first_window_only

QUESTION = "Who is bringing the tomato seedlings to the garden budget meeting? "
LONG_QUERY = QUESTION + "Also, what did we say about the compost heap by the shed and the library? " * 40


def test_a_long_query_is_embedded_from_its_first_window(tmp_path: Path) -> None:
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}")) as m:
        m.add([{"role": "user", "name": "Ines", "content": "I will bring the tomato seedlings."}], user_id="u1")
        dense = m.engine.retriever.dense
        whole = m.embedder.embed([LONG_QUERY])[0]
        first = first_window_only(m.embedder).embed([LONG_QUERY])[0]
        assert not np.allclose(whole, first, atol=1e-3)  # the query is longer than one window
        assert np.allclose(dense.query_vector(LONG_QUERY), first, atol=1e-6)
        plain = m.search(LONG_QUERY, user_id="u1", limit=1, recipe="plain-hybrid")
        assert plain and plain[0].text == "I will bring the tomato seedlings."
