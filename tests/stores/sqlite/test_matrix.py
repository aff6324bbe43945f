import numpy as np

from outcrop.stores.sqlite.matrix import VectorMatrix


def _row(i: int, user: str, vec: list[float]) -> tuple[int, int, str, tuple[str, str, None, None], bytes]:
    return (i, i, f"id{i}", ("t", user, None, None), np.asarray(vec, dtype=np.float32).tobytes())


def test_search_is_exact_and_masked_by_scope() -> None:
    index = VectorMatrix(2)
    index.extend(_row(i, "a" if i % 2 else "b", [np.cos(i / 10), np.sin(i / 10)]) for i in range(1, 41))
    query = np.asarray([1.0, 0.0], dtype=np.float32)
    keep = index.mask(("t", "a", None, None), None)
    hits = index.search(query, 3, keep)
    assert [h[0] for h in hits] == ["id1", "id3", "id5"]
    assert hits[0][1] > hits[1][1] > hits[2][1]
    assert index.search(query, 5, index.mask(("t", "nobody", None, None), None)) == []
    assert index.search(query, 5, index.mask(("other-tenant", "a", None, None), None)) == []
    allowed = index.mask(("t", None, None, None), np.asarray([2, 4], dtype=np.int64))
    assert {h[0] for h in index.search(query, 10, allowed)} == {"id2", "id4"}
