"""A large scope's dense search through its HNSW index, on a real SQLite file: close to the exact
ranking with the exact scores, filters honoured (exact when selective), following writes and
removals by another store instance, kept in a file beside the database that holds no vector (read
byte by byte, before and after a forget), and rebuilt from the vectors table when that file goes."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from outcrop import Memory, MemoryConfig
from outcrop.core.ids import new_id
from outcrop.core.time import now
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import Embedder
from outcrop.stores.base import SearchFilters, VectorSpace, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.stores.sqlite import SQLiteStore
from outcrop.stores.sqlite.ann import ScopeAnn

SCOPE = Scope(tenant="acme", user_id="u1")
TOPICS = [
    "I adopted a parrot named Zorblax from the shelter.",
    "We went camping in the mountains last weekend.",
    "My sister moved to Lisbon for a design job.",
    "The pottery class meets every Thursday evening.",
    "I finally finished the marathon in under four hours.",
    "Our dog chewed through the garden hose again.",
    "I am learning to play the cello with a teacher from Vienna.",
    "The bakery on the corner sells cardamom buns on Sundays.",
    "Grandma's recipe for plum dumplings needs fresh quark.",
    "The train to Porto was delayed by two hours.",
]
QUERIES = [
    "Which pet bird did I adopt?",
    "Where did my sister move?",
    "What instrument am I learning?",
    "How long did the marathon take?",
    "What does the bakery sell?",
    "When does the pottery class meet?",
]
N = 3000
MIN = 1000  # the threshold these tests use: the 3,000-vector scope is large


def _vectors(embedder: Embedder, n: int, seed: int) -> np.ndarray:
    """``n`` realistic vectors: mixtures of two real sentence embeddings and a little noise."""
    base = embedder.embed([f"{t} Note {i}." for i, t in enumerate(TOPICS * 4)])
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
    x = w * base[a] + (1 - w) * base[b] + rng.normal(0, 0.03, (n, base.shape[1])).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _write(store: SQLiteStore, space: VectorSpace, vectors: np.ndarray, agents: list[str] | None = None) -> list[str]:
    items = [
        Item(
            id=new_id("t"),
            level=Level.TURN,
            scope=Scope(tenant="acme", user_id="u1", agent_id=agents[n] if agents else None, session_id=f"s{n % 50}"),
            text=f"text {n}",
            metadata={"tag": "rare" if n % 10 == 3 else "common"},
            producer="test",
            recorded_at=now(),
        )
        for n in range(len(vectors))
    ]
    store.records.write(
        WriteBatch(items=items, vectors={i.id: v for i, v in zip(items, vectors, strict=True)}, space=space)
    )
    return [i.id for i in items]


def _open(url: str, min_vectors: int = MIN, background: bool = False) -> SQLiteStore:
    store = open_store(url, ann_min_vectors=min_vectors, ann_background=background)
    assert isinstance(store, SQLiteStore)
    return store


@pytest.fixture
def large(tmp_path: Path, embedder: Embedder) -> Iterator[tuple[str, VectorSpace, np.ndarray, list[str]]]:
    """A file whose user u1 holds 3,000 vectors (agents a and b alternating, 50 sessions)."""
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    space = VectorSpace(embedder.id, embedder.dim)
    vectors = _vectors(embedder, N, 0)
    store = _open(url)
    ids = _write(store, space, vectors, ["a" if n % 2 else "b" for n in range(N)])
    store.close()
    yield url, space, vectors, ids


def _ann_dir(url: str) -> Path:
    path = Path(url.removeprefix("sqlite:///"))
    return path.with_name(path.name + ".ann")


def test_a_large_scope_is_searched_through_its_index_close_to_the_exact_ranking(
    large: tuple[str, VectorSpace, np.ndarray, list[str]], embedder: Embedder
) -> None:
    url, space, _, _ = large
    approximate, exact = _open(url), _open(url, min_vectors=0)
    hits = 0
    for query in embedder.embed(QUERIES):
        got = approximate.vectors.search(SCOPE, space, query, 10)
        want = exact.vectors.search(SCOPE, space, query, 10)
        assert len(got) == 10
        scores = dict(exact.vectors.search(SCOPE, space, query, N))
        assert all(scores[i] == s for i, s in got)  # the exact scores, ranked by them
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        hits += len({i for i, _ in got} & {i for i, _ in want})
    assert hits / (10 * len(QUERIES)) >= 0.9
    assert approximate.vectors._cache.get((space.name, _part())).ann is not None  # type: ignore[attr-defined,union-attr]
    assert exact.vectors._cache.get((space.name, _part())).ann is None  # type: ignore[attr-defined,union-attr]
    approximate.close()
    exact.close()


def _part() -> str:
    from outcrop.stores.sqlite.schema import vector_part

    return vector_part("acme", "u1")


def test_below_the_threshold_the_ranking_is_the_exact_one(
    large: tuple[str, VectorSpace, np.ndarray, list[str]], embedder: Embedder
) -> None:
    url, space, _, _ = large
    small, exact = _open(url, min_vectors=N + 1), _open(url, min_vectors=0)
    for query in embedder.embed(QUERIES):
        assert small.vectors.search(SCOPE, space, query, 10) == exact.vectors.search(SCOPE, space, query, 10)
    assert not _ann_dir(url).exists()
    small.close()
    exact.close()


def test_filters_within_the_scope_hold_and_a_selective_one_is_exact(
    large: tuple[str, VectorSpace, np.ndarray, list[str]], embedder: Embedder
) -> None:
    url, space, _, ids = large
    approximate, exact = _open(url), _open(url, min_vectors=0)
    agent_a = {ids[n] for n in range(N) if n % 2}
    session_7 = {ids[n] for n in range(N) if n % 50 == 7}
    for query in embedder.embed(QUERIES):
        half = approximate.vectors.search(Scope(tenant="acme", user_id="u1", agent_id="a"), space, query, 10)
        assert len(half) == 10 and {i for i, _ in half} <= agent_a  # over-fetched, then filtered
        one_session = Scope(tenant="acme", user_id="u1", session_id="s7")
        got = approximate.vectors.search(one_session, space, query, 10)
        assert got == exact.vectors.search(one_session, space, query, 10)  # 60 rows: exact
        assert {i for i, _ in got} <= session_7
        rare = SearchFilters(metadata={"tag": "rare"})  # 300 rows: exact
        assert approximate.vectors.search(SCOPE, space, query, 10, rare) == exact.vectors.search(
            SCOPE, space, query, 10, rare
        )
        common = SearchFilters(metadata={"tag": "common"})  # 2,700 rows: through the index
        got = approximate.vectors.search(SCOPE, space, query, 10, common)
        assert len(got) == 10 and not {i for i, _ in got} & {ids[n] for n in range(3, N, 10)}
        chosen = SearchFilters(metadata={"tag": "rare"}, session_id="s3")
        assert approximate.vectors.search(SCOPE, space, query, 10, chosen) == exact.vectors.search(
            SCOPE, space, query, 10, chosen
        )
    approximate.close()
    exact.close()


def test_the_index_follows_writes_and_removals_of_another_instance(
    large: tuple[str, VectorSpace, np.ndarray, list[str]], embedder: Embedder
) -> None:
    url, space, _, _ = large
    reader, writer = _open(url), _open(url)
    queries = embedder.embed(QUERIES)
    first = reader.vectors.search(SCOPE, space, queries[0], 10)
    gone = [i for i, _ in first[:5]]
    writer.records.remove_items(SCOPE, gone)
    after = reader.vectors.search(SCOPE, space, queries[0], 10)
    assert not set(gone) & {i for i, _ in after} and len(after) == 10
    assert [i for i, _ in after[:5]] == [i for i, _ in first[5:]]
    twins = _write(writer, space, queries)  # new rows equal to the queries: each its own best match
    for query, twin in zip(queries, twins, strict=True):
        assert reader.vectors.search(SCOPE, space, query, 1)[0][0] == twin
    reader.close()
    writer.close()


def test_the_file_holds_no_vector_before_or_after_a_forget(
    large: tuple[str, VectorSpace, np.ndarray, list[str]], embedder: Embedder
) -> None:
    url, space, vectors, ids = large
    store = _open(url)
    query = embedder.embed(QUERIES[:1])[0]
    victim = store.vectors.search(SCOPE, space, query, 1)[0][0]
    files = list(_ann_dir(url).glob("*.hnsw"))
    assert len(files) == 1 and files[0].stat().st_size > 8 * N  # the graph and its labels are there

    def leaked() -> list[int]:
        data = b"".join(f.read_bytes() for f in _ann_dir(url).iterdir())
        # no vector's first 16 bytes (4 float32s), nor any item id, anywhere in the directory
        return [n for n in range(N) if vectors[n, :4].tobytes() in data or ids[n].encode() in data]

    assert leaked() == []
    store.maintenance.erase(SCOPE, [], [victim])  # what forget does physically
    store.maintenance.scrub("acme")
    store.vectors.search(SCOPE, space, query, 10)
    fresh = _open(url)
    found = fresh.vectors.search(SCOPE, space, query, 10)  # a new process: the file, codes from the table
    assert victim not in {i for i, _ in found} and len(found) == 10
    assert leaked() == []
    fresh.close()
    store.close()


def test_the_index_is_loaded_from_its_file_or_rebuilt_from_the_table(
    large: tuple[str, VectorSpace, np.ndarray, list[str]], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, space, _, _ = large
    queries = embedder.embed(QUERIES)
    first = _open(url)
    expected = [first.vectors.search(SCOPE, space, q, 10) for q in queries]
    first.close()

    def no_build(*args: object, **kwargs: object) -> ScopeAnn:
        raise AssertionError("built again although its file was there")

    with monkeypatch.context() as patch:
        patch.setattr(ScopeAnn, "build", no_build)
        second = _open(url)
        assert [second.vectors.search(SCOPE, space, q, 10) for q in queries] == expected  # the same graph
        second.close()
    shutil.rmtree(_ann_dir(url))
    third = _open(url)
    rebuilt = [third.vectors.search(SCOPE, space, q, 10) for q in queries]
    assert sum(len({i for i, _ in a} & {i for i, _ in b}) for a, b in zip(rebuilt, expected, strict=True)) >= 54
    assert list(_ann_dir(url).glob("*.hnsw"))
    third.close()


def test_a_background_build_leaves_searches_exact_until_it_is_done_then_serves_them(
    large: tuple[str, VectorSpace, np.ndarray, list[str]], embedder: Embedder
) -> None:
    url, space, _, _ = large
    queries = embedder.embed(QUERIES)
    exact = _open(url, min_vectors=0)
    expected = [exact.vectors.search(SCOPE, space, q, 10) for q in queries]
    exact.close()
    shutil.rmtree(_ann_dir(url), ignore_errors=True)

    store = _open(url, background=True)
    started = threading.Event()
    release = threading.Event()
    build = ScopeAnn.build

    def slow_build(*args: Any, **kwargs: Any) -> ScopeAnn:
        started.set()
        assert release.wait(60)
        return build(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ScopeAnn, "build", slow_build)
        while_building = [store.vectors.search(SCOPE, space, q, 10) for q in queries]  # none waits for the build
        assert started.wait(60)
        matrix = store.vectors._cache.get((space.name, _part()))  # type: ignore[attr-defined]
        assert matrix is not None and matrix.ann is None
        assert while_building == expected  # exact meanwhile
        release.set()
        store.vectors.approximate.wait()
    after = [store.vectors.search(SCOPE, space, q, 10) for q in queries]
    assert matrix.ann is not None  # adopted by the first search after the build
    assert sum(len({i for i, _ in a} & {i for i, _ in b}) for a, b in zip(after, expected, strict=True)) >= 54
    assert list(_ann_dir(url).glob("*.hnsw"))  # and saved
    store.close()


def test_memory_config_reaches_the_store(tmp_path: Path, embedder: Embedder) -> None:
    config = MemoryConfig(
        store=f"sqlite:///{tmp_path / 'm.db'}", ann_min_vectors=1234, ann_ef_search=64, ann_background=False
    )
    with Memory(config=config, embedder=embedder) as m:
        settings = m.store.vectors.approximate.settings  # type: ignore[attr-defined]
        assert (settings.min_vectors, settings.ef_search, settings.background) == (1234, 64, False)


def test_without_faiss_only_a_scope_at_the_threshold_says_so_once(
    large: tuple[str, VectorSpace, np.ndarray, list[str]],
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, space, _, _ = large
    monkeypatch.setattr("outcrop.stores.sqlite.approximate.available", lambda: False)
    query = embedder.embed(QUERIES[:1])[0]
    with caplog.at_level("WARNING", logger="outcrop.stores.sqlite.approximate"):
        small = _open(url, min_vectors=10 * N)  # no scope this large: nothing to say at open or search
        small.vectors.search(SCOPE, space, query, 10)
        small.close()
        assert "faiss" not in caplog.text
        store = _open(url)
        for _ in range(3):
            assert len(store.vectors.search(SCOPE, space, query, 10)) == 10  # exact
        store.close()
    assert caplog.text.count("faiss is not installed") == 1


def _tie_aware_recall(got: list[tuple[str, float]], everything: list[tuple[str, float]]) -> float:
    """The share of the approximate top-10 scoring at least the exact 10th score (ties count)."""
    tenth = everything[9][1]
    return sum(score >= tenth for _, score in got) / 10


def test_copies_of_a_vector_share_a_node_and_the_search_reaches_past_them(tmp_path: Path, embedder: Embedder) -> None:
    """100 distinct vectors said 40 times each: a node per row (before) filled each node's
    neighbours with its own copies (tie-aware recall 0.80 in a direct build); one node per
    distinct vector finds the exact top-10 (ties counted) and proposes every copy of a node."""
    url = f"sqlite:///{tmp_path / 'copies.db'}"
    space = VectorSpace(embedder.id, embedder.dim)
    distinct = _vectors(embedder, 100, 5)
    vectors = np.repeat(distinct, 40, axis=0)
    np.random.default_rng(6).shuffle(vectors)
    store = _open(url)
    _write(store, space, vectors)
    exact = _open(url, min_vectors=0)
    queries = [*embedder.embed(QUERIES), *_vectors(embedder, 20, 7)]
    recalls = []
    for query in queries:
        got = store.vectors.search(SCOPE, space, query, 10)
        everything = exact.vectors.search(SCOPE, space, query, len(vectors))
        assert len(got) == 10 and {s for _, s in got} <= {s for _, s in everything}
        recalls.append(_tie_aware_recall(got, everything))
    ann = store.vectors._cache.get((space.name, _part())).ann  # type: ignore[attr-defined,union-attr]
    assert ann is not None and (ann.nodes, len(ann)) == (100, 4000)
    assert sum(recalls) / len(recalls) >= 0.98
    exact.close()
    store.close()


def test_a_vector_whose_copies_were_all_removed_is_found_again_when_said_again_after_a_reload(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Every copy of one vector removed, the index saved and loaded by a new process (the node
    gets no code: no live row has its vector), then the vector written again: the new row is
    found (a node of its own), and the removed copies never are."""
    url = f"sqlite:///{tmp_path / 'again.db'}"
    space = VectorSpace(embedder.id, embedder.dim)
    distinct = _vectors(embedder, 200, 8)
    vectors = np.repeat(distinct, 10, axis=0)  # rows 10n .. 10n+9 hold vector n
    store = _open(url)
    ids = _write(store, space, vectors)
    query = distinct[17]
    assert {i for i, _ in store.vectors.search(SCOPE, space, query, 10)} == set(ids[170:180])
    store.records.remove_items(SCOPE, ids[170:180])
    assert not {i for i, _ in store.vectors.search(SCOPE, space, query, 10)} & set(ids[170:180])
    store.vectors._cache.get((space.name, _part())).ann.save(  # type: ignore[attr-defined,union-attr]
        next(_ann_dir(url).glob("*.hnsw")), {"space": space.name, "dim": embedder.dim}
    )
    store.close()
    reopened = _open(url)
    again = _write(reopened, space, vectors[170:171])
    found = reopened.vectors.search(SCOPE, space, query, 1)
    assert found[0][0] == again[0]
    ann = reopened.vectors._cache.get((space.name, _part())).ann  # type: ignore[attr-defined,union-attr]
    assert ann is not None and ann.nodes == 201  # loaded from the file (200 nodes) and one new
    reopened.close()
