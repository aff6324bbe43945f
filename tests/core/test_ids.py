import time

from outcrop.core.ids import child_id, content_hash, new_id, reproducible_ids


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


def test_ids_made_in_one_burst_keep_their_creation_order() -> None:
    burst = [new_id("t") for _ in range(5000)]
    assert burst == sorted(burst)
    assert len(set(burst)) == len(burst)


def test_child_ids_are_deterministic_and_sort_with_their_parents() -> None:
    first, second = new_id("t"), new_id("t")
    children = [child_id("f", parent, index, "facts.rules@1") for parent in (first, second) for index in range(3)]
    assert children == sorted(children)
    assert child_id("f", first, 0, "facts.rules@1") == children[0]
    assert child_id("f", first, 0, "facts.llm@1") != children[0]


def test_reproducible_ids_repeat_from_run_to_run_and_stay_sortable() -> None:
    runs = []
    for _ in range(2):
        with reproducible_ids():
            runs.append([new_id("t") for _ in range(5)] + [new_id("f")])
    assert runs[0] == runs[1]
    assert runs[0][:5] == sorted(runs[0][:5]) and len(set(runs[0])) == 6
    after = new_id("t")  # outside the block: the clock again, after every counted id
    assert after > runs[0][4] and after not in runs[0]
