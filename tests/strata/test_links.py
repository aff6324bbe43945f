"""New facts meet old ones (strata/links.py): a restated fact merges into the first one and keeps
every source; related facts link; links and merges survive forget, rebuild and tenants, on both
stores."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from outcrop import Level, Memory, MemoryConfig
from outcrop.core.types import Item, Scope
from outcrop.providers import Embedder
from outcrop.stores.postgres.schema import SCHEMA
from outcrop.strata.links import absorbed_ids, same_words
from tests.helpers import say

STRATA = {"topics": False, "profile": False, "episodes": False}


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'm.db'}"


def _memory(url: str, embedder: Embedder, tenant: str = "default", **strata: object) -> Memory:
    config = MemoryConfig.build({"store": url, "tenant": tenant, "strata": {**STRATA, **strata}})
    return Memory(config=config, embedder=embedder)


def _owner(m: Memory) -> Scope:
    return Scope(tenant=m.config.tenant, user_id="u1")


def _facts(m: Memory, user: str = "u1") -> list[Item]:
    return m.list(user_id=user, level=Level.FACT, limit=100)


def _about(m: Memory, word: str, user: str = "u1") -> list[Item]:
    return [f for f in _facts(m, user) if word in f.text]


def test_same_words_ignores_case_punctuation_and_spacing() -> None:
    assert same_words("Ann is a vegetarian.", "ann is a  vegetarian!")
    assert not same_words("Ann is a vegetarian.", "Ann was a vegetarian.")


def test_a_restated_fact_merges_and_keeps_every_source(store_url: str, embedder: Embedder) -> None:
    with _memory(store_url, embedder) as m:
        first = say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s1", 1)
        second = say(m, "I am a vegetarian and I grow tomatoes on my balcony!", "s2", 9)
        other = say(m, "I adopted a puppy called Rex.", "s3", 12)
        merged = _about(m, "vegetarian")
        assert len(merged) == 1
        fact = merged[0]
        assert set(fact.sources) == {first, second}
        assert fact.timestamp is not None and fact.timestamp.day == 1  # the first statement's time
        assert [r["sources"] for r in fact.metadata["restated"]] == [[second]]
        assert len(_about(m, "Rex")) == 1 and _about(m, "Rex")[0].sources == [other]
        # consolidating again changes nothing
        m.consolidate(user_id="u1")
        again = _about(m, "vegetarian")
        assert [(f.id, f.sources) for f in again] == [(fact.id, fact.sources)]


def test_facts_with_different_dates_or_slots_do_not_merge(store_url: str, embedder: Embedder) -> None:
    with _memory(store_url, embedder) as m:
        say(m, "I went to the pottery class yesterday.", "s1", 3)
        say(m, "I went to the pottery class yesterday.", "s2", 20)  # another day: another event
        assert len(_about(m, "pottery")) == 2
        say(m, "I live in Boston.", "s3", 21)
        say(m, "I live in Paris.", "s4", 22)
        say(m, "I live in Boston.", "s5", 25)  # moved back: current truth must see a new fact
        assert len(_about(m, "live")) == 3


def test_deleting_a_restating_turn_keeps_the_fact_and_deleting_its_origin_redraws_it(
    store_url: str, embedder: Embedder
) -> None:
    with _memory(store_url, embedder) as m:
        first = say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s1", 1)
        second = say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s2", 9)
        third = say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s3", 15)
        fact = _about(m, "vegetarian")[0]
        assert set(fact.sources) == {first, second, third}

        m.delete(second, user_id="u1")  # a restatement goes: the fact stays, without it
        kept = _about(m, "vegetarian")
        assert [(f.id, set(f.sources)) for f in kept] == [(fact.id, {first, third})]
        assert [r["sources"] for r in kept[0].metadata["restated"]] == [[third]]

        m.forget(ids=[first], user_id="u1")  # the origin goes: the fact is drawn again from the third turn
        redrawn = _about(m, "vegetarian")
        assert len(redrawn) == 1 and redrawn[0].sources == [third]
        assert redrawn[0].id != fact.id and "restated" not in redrawn[0].metadata
        assert redrawn[0].timestamp is not None and redrawn[0].timestamp.day == 15


def test_related_facts_link_across_sessions_and_links_go_with_their_facts(store_url: str, embedder: Embedder) -> None:
    with _memory(store_url, embedder) as m:
        say(m, "I started learning the violin with a teacher called Greta.", "s1", 1)
        say(m, "My violin teacher Greta says I am improving fast.", "s2", 8)
        say(m, "I bought new running shoes for the marathon.", "s3", 9)
        violin = _about(m, "violin")
        assert len(violin) == 2
        links = m.store.records.links(_owner(m), [f.id for f in violin])
        pair = {violin[0].id, violin[1].id}
        assert any({link.src, link.dst} == pair for link in links)
        link = next(link for link in links if {link.src, link.dst} == pair)
        assert link.kind in ("similar", "entity") and 0 < link.weight <= 1
        rain = _about(m, "shoes")[0]
        assert not any(rain.id in (lk.src, lk.dst) for lk in m.store.records.links(_owner(m), [rain.id]))

        newer = next(f for f in violin if f.timestamp is not None and f.timestamp.day == 8)
        m.delete(newer.id, user_id="u1")
        assert m.store.records.links(_owner(m), [f.id for f in violin]) == []


def test_rebuild_reproduces_merges_and_links(store_url: str, embedder: Embedder) -> None:
    with _memory(store_url, embedder) as m:
        for day, text in enumerate(
            [
                "I started learning the violin with a teacher called Greta.",
                "I am a vegetarian and I grow tomatoes on my balcony.",
                "My violin teacher Greta says I am improving fast.",
                "I am a vegetarian and I grow tomatoes on my balcony.",
                "Greta gave me a new violin piece to practise.",
            ],
            start=1,
        ):
            say(m, text, f"s{day}", day)

        def state() -> tuple[list[tuple[str, list[str]]], list[tuple[str, str, str, float]]]:
            facts = _facts(m)
            links = m.store.records.links(_owner(m), [f.id for f in facts])
            return sorted((f.id, f.sources) for f in facts), [(k.src, k.dst, k.kind, k.weight) for k in links]

        before = state()
        assert before[1], "the violin facts link"
        m.rebuild(user_id="u1")
        assert state() == before


def test_links_stay_inside_their_tenant(postgres_url: str, tmp_path: Path, embedder: Embedder) -> None:
    for url in (f"sqlite:///{tmp_path / 'm.db'}", postgres_url):
        with _memory(url, embedder, tenant="acme") as a:
            say(a, "I started learning the violin with a teacher called Greta.", "s1", 1)
            say(a, "My violin teacher Greta says I am improving fast.", "s2", 8)
            ids = [f.id for f in _facts(a)]
            assert a.store.records.links(_owner(a), ids)
        with _memory(url, embedder, tenant="other") as b:
            assert b.store.records.links(_owner(b), ids) == []


def test_a_deleted_or_edited_merged_fact_stays_so_through_consolidation(store_url: str, embedder: Embedder) -> None:
    with _memory(store_url, embedder) as m:
        say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s1", 1)
        say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s2", 9)
        fact = _about(m, "vegetarian")[0]
        m.update(fact.id, "Ann does not eat meat at all.", user_id="u1")
        m.consolidate(user_id="u1")
        assert _about(m, "vegetarian") == [], "the restating turn's fact does not come back beside the edit"
        m.delete(fact.id, user_id="u1")
        m.consolidate(user_id="u1")
        assert _about(m, "meat") == [] and _about(m, "vegetarian") == []
        m.rebuild(user_id="u1")
        assert _about(m, "vegetarian") == [], "the delete tombstones what the fact absorbed"


_ABSORBED = (  # the read of records.deleted_ids that finds the deletes of merged facts
    "SELECT j.value FROM log, json_each(log.payload, '$.absorbed') AS j WHERE log.kind = 'delete'"
    " AND json_type(log.payload, '$.absorbed') IS NOT NULL AND log.tenant = 'default' AND log.user_id = 'u1'"
    " AND j.value IN ('x')",
    "SELECT DISTINCT a.id FROM log, jsonb_array_elements_text(log.payload->'absorbed') AS a(id)"
    " WHERE log.kind = 'delete' AND log.payload ? 'absorbed' AND log.tenant = 'default' AND log.user_id = 'u1'"
    " AND a.id = ANY(ARRAY['x'])",
)


def _absorbed_indexed(url: str, drop: bool = False) -> bool:
    """Whether the store reads the deletes of merged facts through their index (``drop``: first
    back to the layout before it, SQLite 0020 / PostgreSQL 0017; each partition of PostgreSQL's
    ``log`` names its part of the index ``log_pN_tenant_user_id_idx``)."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as db:
            if drop:
                db.execute("DROP INDEX log_absorbed")
                db.execute("DELETE FROM schema_migrations WHERE name = '0020_log_absorbed'")
                db.commit()
            return "USING INDEX log_absorbed " in str(db.execute(f"EXPLAIN QUERY PLAN {_ABSORBED[0]}").fetchall())
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {SCHEMA}")
        if drop:
            conn.execute("DROP INDEX log_absorbed")
            conn.execute("DELETE FROM schema_migrations WHERE name = '0017_log_absorbed'")
        conn.execute("SET enable_seqscan = off")  # a tiny table: the planner would scan it whole
        plan = "\n".join(str(r[0]) for r in conn.execute(f"EXPLAIN {_ABSORBED[1]}".encode()))
        return re.search(r"Index Scan using log_p\d+_tenant_user_id_idx on", plan) is not None


def test_the_deletes_of_merged_facts_are_read_through_their_index(store_url: str, embedder: Embedder) -> None:
    """Every consolidation of a user reads the deletes that tombstone what merged facts absorbed:
    through a partial index of those deletes, not the user's whole log. A store from before the
    index opens with it and keeps its tombstones."""
    with _memory(store_url, embedder) as m:
        say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s1", 1)
        say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s2", 9)
        fact = _about(m, "vegetarian")[0]
        absorbed = absorbed_ids(fact)
        assert absorbed
        m.delete(fact.id, user_id="u1")
        assert m.store.records.deleted_ids(_owner(m), absorbed) == set(absorbed)
    assert _absorbed_indexed(store_url)
    assert not _absorbed_indexed(store_url, drop=True)
    with _memory(store_url, embedder) as m:
        assert _absorbed_indexed(store_url)
        assert m.store.records.deleted_ids(_owner(m), absorbed) == set(absorbed)
        m.rebuild(user_id="u1")
        assert _about(m, "vegetarian") == []


def test_a_merge_keeps_the_time_memory_first_held_the_fact(store_url: str, embedder: Embedder) -> None:
    with _memory(store_url, embedder) as m:
        say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s1", 1)
        held = _about(m, "vegetarian")[0]
        say(m, "I am a vegetarian and I grow tomatoes on my balcony.", "s2", 9)
        merged = _about(m, "vegetarian")[0]
        assert merged.id == held.id and len(merged.sources) == 2
        assert merged.recorded_at == held.recorded_at
        assert merged.updated_at is not None and held.updated_at is not None
        assert merged.updated_at >= held.updated_at


def test_facts_of_different_agents_neither_merge_nor_link(tmp_path: Path, embedder: Embedder) -> None:
    with _memory(f"sqlite:///{tmp_path / 'm.db'}", embedder) as m:
        text = "I am a vegetarian and I grow tomatoes on my balcony."
        for agent, session in (("bot", "s1"), (None, "s2")):
            m.add(
                [{"role": "user", "name": "Ann", "content": text}],
                user_id="u1",
                agent_id=agent,
                session_id=session,
                timestamp="2023-05-01T10:00:00",
            )
        facts = _about(m, "vegetarian")
        assert len(facts) == 2 and all(len(f.sources) == 1 for f in facts)
        assert m.store.records.links(_owner(m), [f.id for f in facts]) == []
