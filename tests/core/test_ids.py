import time

from memstrata.core.ids import content_hash, new_id


def test_ids_are_unique_prefixed_and_time_sortable() -> None:
    first = new_id("t")
    time.sleep(0.002)
    later = [new_id("t") for _ in range(1000)]
    assert len(set(later)) == 1000
    assert all(i.startswith("t_") and len(i) == 20 for i in later)
    assert all(first < i for i in later)


def test_content_hash_is_stable_and_order_independent_for_dicts() -> None:
    assert content_hash("a", {"x": 1, "y": 2}) == content_hash("a", {"y": 2, "x": 1})
    assert content_hash("a") != content_hash("b")
