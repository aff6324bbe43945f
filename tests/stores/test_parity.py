"""Ranking parity between the stores on real data: the first sessions of LoCoMo's first
conversation, loaded into a SQLite file and into PostgreSQL, searched with the conversation's own
questions. The top-10 must agree on both, channel by channel and fused.

The SQLite store is filled by ``add``; the PostgreSQL one by importing its export, so both hold the
same item ids (ids carry their creation time; two separate ingests would mint different ones),
written in the same order (checked first: the two exports with projections are identical). Ties may reorder: results are compared as sets within groups of equal score,
and scores with a tolerance.

What could make them differ, and why it does not here:

* BM25. FTS5's ``bm25()`` and PostgreSQL's ``ts_rank`` are different functions; the PostgreSQL
  store therefore computes FTS5's BM25 itself over tsvectors, on tokens made the way FTS5's
  ``porter unicode61 remove_diacritics 2`` tokenizer makes them (see
  :mod:`outcrop.stores.postgres_lexical`). The remaining differences (collection statistics
  per tenant instead of per file, Porter on two-letter words) do not arise with one tenant and
  these questions; the raw BM25 scores are asserted equal to a relative 1e-6.
* Vectors. SQLite searches exactly; PostgreSQL uses an HNSW index scanned with
  only above ``PostgresStore.exact_limit`` items per scope; below it (here) it scores every vector
  of the scope exactly, as SQLite does. With the index the deepest ranks of the dense channel
  (which fusion reads down to ~100) came out differently from build to build of the graph and
  moved fused scores by up to 5e-4 relative. Dense scores are asserted equal to 1e-4 (float32).
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from outcrop import Hit, Memory, MemoryConfig
from outcrop.core.formats import read_batches
from outcrop.providers import Embedder
from tests.helpers import locomo_file

SESSIONS = 3  # conv-26 sessions 1-3: 58 turns
QUESTIONS = 25
TOP = 10


def _memory(url: str, embedder: Embedder) -> Memory:
    return Memory(config=MemoryConfig(store=url), embedder=embedder)


@pytest.fixture(scope="module")
def locomo(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: str, embedder: Embedder
) -> Iterator[tuple[dict[str, Memory], str, list[str]]]:
    """Both stores holding the first sessions of the first conversation, its user, and questions."""
    locomo = locomo_file()
    import psycopg

    batches = read_batches(locomo, "locomo")
    first = [b for b in batches if b.user_id == batches[0].user_id][:SESSIONS]
    questions = [str(qa["question"]) for qa in json.loads(locomo.read_text())[0]["qa"]][:QUESTIONS]
    folder = tmp_path_factory.mktemp("parity")
    name = f"parity_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    pg_url = postgres_server.replace("/postgres?", f"/{name}?", 1)
    with _memory(f"sqlite:///{folder / 'lite.db'}", embedder) as lite, _memory(pg_url, embedder) as pg:
        for batch in first:
            lite.add(batch.messages, user_id=batch.user_id, session_id=batch.session_id, timestamp=batch.timestamp)
        lite.export(folder / "log.jsonl")
        pg.import_(folder / "log.jsonl")
        yield {"sqlite": lite, "postgres": pg}, str(first[0].user_id), questions


def _dump(m: Memory) -> str:
    buffer = io.StringIO()
    m.export(buffer, projections=True)
    return buffer.getvalue()


def test_both_stores_hold_the_same_items(locomo: tuple[dict[str, Memory], str, list[str]]) -> None:
    stores, user_id, _ = locomo
    lite, pg = stores["sqlite"], stores["postgres"]
    assert lite.stats(user_id=user_id)["counts"] == pg.stats(user_id=user_id)["counts"]
    assert lite.stats(user_id=user_id)["counts"]["turn"] > 50
    assert _dump(pg) == _dump(lite)


def _groups(hits: list[Hit], score: Any, digits: int) -> list[frozenset[str]]:
    """The ranking as a list of id sets, one per run of equal scores (ties may reorder)."""
    groups: list[tuple[float, set[str]]] = []
    for hit in hits:
        value = round(float(score(hit)), digits)
        if groups and groups[-1][0] == value:
            groups[-1][1].add(hit.id)
        else:
            groups.append((value, {hit.id}))
    return [frozenset(ids) for _, ids in groups]


def _channel_score(channel: str) -> Any:
    return lambda hit: hit.explain["channels"][channel]["score"]


@pytest.mark.parametrize(
    ("channels", "score", "rel", "digits"),
    [
        ({"bm25": 1.0}, _channel_score("bm25"), 1e-6, 6),
        ({"dense": 1.0}, _channel_score("dense"), 1e-4, 4),
        (None, lambda hit: hit.score, 1e-6, 9),  # the default hybrid search, fused
    ],
    ids=["bm25", "dense", "fused"],
)
def test_top10_agrees_on_both_stores(
    locomo: tuple[dict[str, Memory], str, list[str]],
    channels: dict[str, float] | None,
    score: Any,
    rel: float,
    digits: int,
) -> None:
    stores, user_id, questions = locomo
    lite, pg = stores["sqlite"], stores["postgres"]
    same, overlap = 0, []
    for question in questions:
        a = lite.search(question, user_id=user_id, limit=TOP, channels=channels)
        b = pg.search(question, user_id=user_id, limit=TOP, channels=channels)
        overlap.append(len({h.id for h in a} & {h.id for h in b}) / max(len(a), len(b), 1))
        if _groups(a, score, digits) == _groups(b, score, digits):
            same += 1
        assert [score(h) for h in b] == pytest.approx([score(h) for h in a], rel=rel), question
    print(
        f"\n{channels or 'fused'}: identical top-{TOP} {same}/{len(questions)}, mean overlap {sum(overlap) / len(overlap):.3f}"
    )
    assert same == len(questions)
