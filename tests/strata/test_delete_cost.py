"""A delete of one turn costs what the turn touched, not its user's size (issue 17 of outcrop: a
turn of a 100k-turn user took 3-12 s to delete, the topics and profile recomputed from every turn).

Counted, not timed: the items the delete reads back from the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from tests.helpers import STORY_STRATA, ingest_sessions, ingest_story

_READS = ("get_items", "iter_items", "list_items", "session_turns")


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'm.db'}"


def _counting(memory: Memory, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The store's item reads, wrapped to count the items they return (the reads themselves run)."""
    read = [0]
    records = memory.store.records
    for name in _READS:
        real = getattr(records, name)

        def counted(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            found = _real(*args, **kwargs)
            if isinstance(found, dict | list):
                read[0] += len(found)
                return found

            def each() -> Iterator[Any]:
                for item in found:
                    read[0] += 1
                    yield item

            return each()

        monkeypatch.setattr(records, name, counted)
    return read


def _talk(session: str) -> tuple[str, str, list[tuple[str, str]]]:
    return (session, "2023-09-01T10:00:00", [("Ann", "Sounds good."), ("Bob", "See you then."), ("Ann", "Bye.")])


def test_deleting_a_turn_reads_its_session_not_its_user(
    url: str, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Memory(config=MemoryConfig(store=url, strata=STORY_STRATA), embedder=embedder) as m:
        victims = {}
        for user, sessions in (("small", 0), ("large", 40)):
            ingest_story(m, user)  # facts, episodes, topics and a profile to keep
            filler = [
                (f"f{n}", f"2023-07-{1 + n % 28:02d}T09:00:00", [("Ann", f"Noted, item {n}.{k}.") for k in range(10)])
                for n in range(sessions)
            ]
            ingest_sessions(m, filler, user)
            victims[user] = ingest_sessions(m, [_talk("talk")], user)["talk"][1]
        topics = {u: [(t.id, t.text) for t in m.list(user_id=u, level="topic", limit=100)] for u in victims}
        read = _counting(m, monkeypatch)
        spent = {}
        for user, victim in victims.items():
            read[0] = 0
            m.delete(victim, user_id=user)
            spent[user] = read[0]
        monkeypatch.undo()
        # 400 more turns in the large user, the same reads: the deleted turn and its session
        assert spent["large"] == spent["small"] < 20, spent
        # the turn drew no fact and shared no image: the topics stand as they were
        assert {u: [(t.id, t.text) for t in m.list(user_id=u, level="topic", limit=100)] for u in victims} == topics
        assert all(victims[u] not in {h.id for h in m.search("see you then", user_id=u)} for u in victims)
