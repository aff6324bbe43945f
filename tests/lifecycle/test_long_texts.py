"""A turn longer than the model reads at once is embedded whole; the strata's derived items from
their first window; a rebuild and a re-index make the vectors ingest made (real model, SQLite, and
three LoCoMo sessions, whose topics grow past the first window)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.documents import dense_text
from outcrop.core.formats import read_batches
from outcrop.core.types import Item, Level, Scope
from outcrop.errors import ConfigError
from outcrop.providers import Embedder
from outcrop.providers.base import first_window_only
from outcrop.stores.base import VectorSpace
from tests.helpers import locomo_file

# A pasted report of ~300 word pieces (three of the model's 128-piece windows); its last lines,
# the ones a question asks about, lie past the first window.
REPORT = (
    "Weekly report from the community garden. "
    + "We watered the tomato beds, weeded the paths and turned the compost heap by the shed. " * 12
    + "The treasurer, Ines Okafor, will move the annual budget meeting to the library on 14 March."
)
SCOPE = Scope(tenant="default", user_id="u1")

pytestmark = pytest.mark.quality


def open_and_fill(path: Path, embedder: Embedder) -> Memory:
    """Three LoCoMo sessions and a report pasted into a fourth, strata done."""
    m = Memory(config=MemoryConfig(store=f"sqlite:///{path}"), embedder=embedder)
    everything = read_batches(locomo_file(), "locomo")
    for batch in [b for b in everything if b.user_id == everything[0].user_id][:3]:
        m.add(batch.messages, user_id="u1", session_id=batch.session_id, timestamp=batch.timestamp)
    m.add([{"role": "user", "name": "Caroline", "content": REPORT}], user_id="u1", session_id="report")
    m.wait_for_strata()
    return m


def stored_vectors(m: Memory) -> tuple[list[Item], dict[str, np.ndarray]]:
    items = [i for level in Level for i in m.list(user_id="u1", level=level, limit=5000)]
    space = VectorSpace(m.embedder.id, m.embedder.dim)
    return items, m.store.vectors.vectors_for(SCOPE, space, [i.id for i in items])


def test_a_long_turn_is_read_whole_and_the_strata_read_their_items_first_window(
    tmp_path: Path, embedder: Embedder
) -> None:
    with open_and_fill(tmp_path / "m.db", embedder) as m:
        items, vectors = stored_vectors(m)
        first_window = first_window_only(embedder)
        report = next(i for i in items if i.level == Level.TURN and i.text == REPORT)
        whole = embedder.embed([dense_text(report)])[0]
        cut = first_window.embed([dense_text(report)])[0]
        assert np.allclose(vectors[report.id], whole, atol=1e-5)
        assert not np.allclose(whole, cut, atol=1e-3)
        question = embedder.embed(["Where will the budget meeting be held?"])[0]
        assert question @ whole > question @ cut
        turn_texts = {dense_text(i) for i in items if i.level == Level.TURN}
        derived = [i for i in items if i.level != Level.TURN and i.id in vectors and dense_text(i) not in turn_texts]
        texts = [dense_text(i) for i in derived]
        expected, read_whole = first_window.embed(texts), embedder.embed(texts)
        long = [i for n, i in enumerate(derived) if not np.allclose(expected[n], read_whole[n], atol=1e-3)]
        assert long, "no derived item grew past the first window"
        for n, item in enumerate(derived):
            assert np.allclose(vectors[item.id], expected[n], atol=1e-5), (item.level, item.text)


def test_a_rebuild_and_a_reindex_make_the_vectors_ingest_made(tmp_path: Path, embedder: Embedder) -> None:
    with open_and_fill(tmp_path / "m.db", embedder) as m:
        _, ingested = stored_vectors(m)
        m.rebuild(user_id="u1")
        m.wait_for_strata()
        _, rebuilt = stored_vectors(m)
        assert rebuilt.keys() == ingested.keys()
        for item_id, vector in ingested.items():
            assert np.allclose(rebuilt[item_id], vector, atol=1e-5), item_id
        m.reindex(embedder)
        _, reindexed = stored_vectors(m)
        for item_id, vector in ingested.items():
            assert np.allclose(reindexed[item_id], vector, atol=1e-5), item_id


def test_long_turns_can_be_read_from_their_first_window_by_configuration(tmp_path: Path) -> None:
    """``embedder_long_texts="cut"``: ingest of long documents costs less; the turn's vector is
    then its first window's. An unknown setting is a configuration error."""
    config = MemoryConfig.build({"store": f"sqlite:///{tmp_path / 'm.db'}", "embedder_long_texts": "cut"})
    with Memory(config=config) as m:
        m.add([{"role": "user", "name": "Caroline", "content": REPORT}], user_id="u1", session_id="report")
        items, vectors = stored_vectors(m)
        report = next(i for i in items if i.level == Level.TURN)
        first_window = first_window_only(m.embedder).embed([dense_text(report)])[0]
        assert np.allclose(vectors[report.id], first_window, atol=1e-5)
    with pytest.raises(ConfigError, match="embedder_long_texts"):
        MemoryConfig.build({"embedder_long_texts": "middle"})


def test_an_update_embeds_a_turn_whole_and_a_derived_item_from_its_first_window(tmp_path: Path) -> None:
    """``Memory.update`` of a turn and of a fact to the same long text: each gets the vector a
    rebuild would give it."""
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}")) as m:
        said = "I adopted a puppy named Pixel from the shelter last week."
        m.add([{"role": "user", "name": "Caroline", "content": said}], user_id="u1", session_id="s1")
        m.wait_for_strata()
        turn = m.list(user_id="u1", level=Level.TURN, limit=1)[0]
        fact = m.list(user_id="u1", level=Level.FACT, limit=1)[0]
        m.update(turn.id, REPORT, user_id="u1")
        m.update(fact.id, REPORT, user_id="u1")
        _, vectors = stored_vectors(m)
        turn_text, fact_text = (dense_text(m.get(i, user_id="u1")) for i in (turn.id, fact.id))
        assert np.allclose(vectors[turn.id], m.embedder.embed([turn_text])[0], atol=1e-5)
        assert np.allclose(vectors[fact.id], first_window_only(m.embedder).embed([fact_text])[0], atol=1e-5)
