import numpy as np
import pytest

from outcrop.stores.sqlite.cache import ScopeCache
from outcrop.stores.sqlite.matrix import ScopeMatrix, VectorRow


def _row(i: int, agent: str | None, vec: list[float], item: int | None = None) -> VectorRow:
    return (i, item or i, f"id{i}", agent, None, np.asarray(vec, dtype=np.float32).tobytes())


def _angle(i: int) -> list[float]:
    return [float(np.cos(i / 10)), float(np.sin(i / 10))]


QUERY = np.asarray([1.0, 0.0], dtype=np.float32)


def test_search_is_exact_and_narrowed_to_agent_and_allowed_rows() -> None:
    index = ScopeMatrix(2, "0")
    index.append([_row(i, "a" if i % 2 else "b", _angle(i)) for i in range(1, 41)])
    hits = index.select("a", None, None).search(QUERY, 3)
    assert [h[0] for h in hits] == ["id1", "id3", "id5"]
    assert hits[0][1] > hits[1][1] > hits[2][1]
    assert index.select("nobody", None, None).search(QUERY, 5) == []
    allowed = index.select(None, None, np.asarray([2, 4], dtype=np.int64))
    assert {h[0] for h in allowed.search(QUERY, 10)} == {"id2", "id4"}
    assert index.last_rowid == 40


def test_ties_go_to_the_older_row() -> None:
    index = ScopeMatrix(2, "0")
    index.append([_row(i, None, [1.0, 0.0]) for i in range(1, 6)])
    assert [h[0] for h in index.select(None, None, None).search(QUERY, 3)] == ["id1", "id2", "id3"]


def test_removed_rows_leave_results_and_compaction_keeps_order() -> None:
    index = ScopeMatrix(2, "0")
    index.append([_row(i, None, _angle(i)) for i in range(1, 21)])
    before = index.nbytes
    index.remove([1, 2])
    assert len(index) == 18
    assert [h[0] for h in index.select(None, None, None).search(QUERY, 2)] == ["id3", "id4"]
    index.remove(list(range(3, 12)))  # over a quarter dead: compacted
    assert len(index) == 9 and index.nbytes < before
    assert [h[0] for h in index.select(None, None, None).search(QUERY, 20)] == [f"id{i}" for i in range(12, 21)]
    index.append([_row(21, None, [1.0, 0.0], item=3)])  # a replaced vector comes back as a new row
    assert index.select(None, None, None).search(QUERY, 1) == [("id21", 1.0)]


def test_a_selection_is_not_disturbed_by_later_appends_and_removals() -> None:
    index = ScopeMatrix(2, "0")
    index.append([_row(i, None, _angle(i)) for i in range(1, 5)])
    selection = index.select(None, None, None)
    index.append([_row(i, None, [1.0, 0.0]) for i in range(5, 200)])  # grows into new arrays
    index.remove([1, 2, 3])
    assert [h[0] for h in selection.search(QUERY, 4)] == ["id1", "id2", "id3", "id4"]


def _matrix(rows: int) -> ScopeMatrix:
    m = ScopeMatrix(64, "0")
    m.append([(i, i, f"id{i}", None, None, np.zeros(64, dtype=np.float32).tobytes()) for i in range(1, rows + 1)])
    return m


def test_the_cache_keeps_the_most_recent_within_its_bytes() -> None:
    one = _matrix(100)
    cache = ScopeCache(3 * one.nbytes)
    for name in "abc":
        cache.put(("s", name), _matrix(100))
    assert len(cache) == 3 and cache.nbytes <= cache.max_bytes
    assert cache.get(("s", "a")) is not None  # a is now the most recent
    cache.put(("s", "d"), _matrix(100))
    assert cache.get(("s", "b")) is None and cache.get(("s", "a")) is not None
    assert cache.nbytes <= cache.max_bytes
    cache.put(("s", "huge"), _matrix(1000))  # larger than the whole budget: not kept, nothing evicted
    assert cache.get(("s", "huge")) is None and len(cache) == 3
    cache.discard_space("other")
    assert len(cache) == 0 and cache.nbytes == 0


def test_rows_are_found_by_vector_rowid_through_removals_and_compaction() -> None:
    index = ScopeMatrix(2, "0")
    index.append([_row(i * 3, None, _angle(i), item=i) for i in range(1, 21)])  # vector rowids 3, 6, ..., 60
    assert list(index.rows_of(np.asarray([3, 4, 60, 61], dtype=np.int64))) == [0, -1, 19, -1]
    index.remove(list(range(1, 7)))  # items 1-6 (rowids 3-18): 6 of 20 dead, compacted
    assert list(index.rows_of(np.asarray([3, 18, 21, 60], dtype=np.int64))) == [-1, -1, 0, 13]
    vectors, live = index.vectors_of(np.asarray([18, 21], dtype=np.int64))
    assert list(live) == [False, True] and not vectors[0].any() and vectors[1] == pytest.approx(_angle(7))
    after, rowids = index.rows_after(54)
    assert list(rowids) == [57, 60] and after.shape == (2, 2)
    assert list(index.live_rows()[1]) == list(range(21, 61, 3))
    selection = index.select(None, None, np.asarray([7, 8, 20], dtype=np.int64))  # items by item rowid
    candidates = index.rows_of(np.asarray([60, 21, 24, 3], dtype=np.int64))  # 21 = item 7, 24 = item 8
    assert [h[0] for h in selection.among(candidates, QUERY, 5)] == ["id21", "id24", "id60"]


@pytest.mark.parametrize("rows", [300, 10_000])
def test_a_large_scope_takes_the_vectors_written_after_its_load_without_a_copy(rows: int) -> None:
    """A scope is loaded at its size (``reserve(count, spare=True)``, as the store loads it); a
    large one with an eighth more room, so that the first vector written after the load (a
    delete's new episode) does not copy its whole matrix at the next search (100k rows: 154 MB)."""
    index = ScopeMatrix(2, "0")
    index.reserve(rows, spare=True)
    index.append([_row(i, None, _angle(i)) for i in range(1, rows + 1)])
    held = index.select(None, None, None).matrix
    index.append([_row(rows + 1, None, [1.0, 0.0])])
    after = index.select(None, None, None)
    assert (after.matrix is held) == (rows >= 8192)  # a small scope: grown (a copy of < 13 MB)
    assert len(index) == rows + 1 and (f"id{rows + 1}", 1.0) in after.search(QUERY, rows + 1)
