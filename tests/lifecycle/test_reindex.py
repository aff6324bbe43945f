"""Changing the embedder: MiniLM (384-d) to the installed WordLlama (256-d), on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.lifecycle.reindex import build_space
from outcrop.providers import Embedder, load_embedder

MESSAGES = [
    {"role": "user", "name": "Ana", "content": "I adopted a greyhound called Pixel from the shelter."},
    {"role": "user", "name": "Ben", "content": "I am learning to play the cello on weekends."},
    {"role": "user", "name": "Ana", "content": "We went sailing near Lisbon in July."},
]


def open_at(path: Path, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig(store=f"sqlite:///{path}"), embedder=embedder)


def test_reindex_switches_models_atomically(tmp_path: Path, embedder: Embedder) -> None:
    wordllama = load_embedder("wordllama")
    path = tmp_path / "m.db"
    with open_at(path, embedder) as m:
        m.add(MESSAGES, user_id="u", session_id="s", timestamp="2024-07-01T10:00:00")
        old = m.store.vectors.active_space()
        assert old is not None and old.dim == embedder.dim

        # An interrupt while the new space is being built: the old space stays in use.
        def interrupt(done: int) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            build_space(m.store, wordllama, ["default"], progress=interrupt)
        assert m.store.vectors.active_space() == old
        assert "greyhound" in m.search("dog from the shelter", user_id="u", channels={"dense": 1.0}, limit=1)[0].text

    # A crash after the new vectors are written but before activation: reopening uses the old space.
    with open_at(path, embedder) as m:
        build_space(m.store, wordllama, ["default"])
        assert m.store.vectors.active_space() == old
        assert "cello" in m.search("cello", user_id="u", channels={"dense": 1.0}, limit=1)[0].text

        report = m.reindex("wordllama")
        assert (report.old, report.new) == (old.name, f"{wordllama.id}/{wordllama.dim}")
        space = m.store.vectors.active_space()
        assert space is not None and space.dim == wordllama.dim != old.dim
        assert m.embedder is wordllama
        hits = m.search("dog from the shelter", user_id="u", channels={"dense": 1.0}, limit=3)
        assert hits and "greyhound" in hits[0].text
        # only the new model's vectors remain, and new writes go to the new space
        m.add([{"role": "user", "content": "Sailing again next summer."}], user_id="u", session_id="s")
        vectors = m.store.vectors.vectors_for(
            Scope(tenant=m.config.tenant, user_id="u"), space, [h.id for h in m.list(user_id="u", limit=100)]
        )
        assert vectors and all(v.shape == (wordllama.dim,) for v in vectors.values())
        assert m.store.vectors.vectors_for(Scope(tenant=m.config.tenant, user_id="u"), old, [hits[0].id]) == {}


def test_reindex_leaves_unindexed_views_without_vectors(tmp_path: Path, embedder: Embedder) -> None:
    """Trait views are reached only by their channel: a new model's space holds no vector of theirs."""
    config = MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}", strata={"refresh_growth": 0.0})
    with Memory(config=config, embedder=embedder) as m:
        for n, text in enumerate(["I started volunteering at the animal shelter.", "I love volunteering on weekends."]):
            m.add([{"name": "Maria", "content": text}], user_id="u", session_id=f"s{n}", timestamp=f"2023-03-0{n + 1}")
        views = [t.id for t in m.list(user_id="u", level="topic", limit=100) if t.metadata.get("kind") == "trait"]
        assert views
        report = m.reindex("wordllama")
        space = m.store.vectors.active_space()
        assert space is not None and report.new == space.name
        scope = Scope(tenant=m.config.tenant, user_id="u")
        assert m.store.vectors.vectors_for(scope, space, views) == {}
        turns = [t.id for t in m.list(user_id="u", level="turn", limit=100)]
        assert set(m.store.vectors.vectors_for(scope, space, turns)) == set(turns)
