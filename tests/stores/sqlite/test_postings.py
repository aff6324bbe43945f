"""BM25's top-k over postings in memory (``stores/sqlite/postings.py``): the scores a document's
parts summed term after term in Python's doubles, as FTS5 sums them, to the bit, whether the keys
span a dense array or not; ties to the smaller key; the cache keeps an entry for its version only."""

from __future__ import annotations

import random

import numpy as np
import pytest

from outcrop.stores.sqlite.bm25 import K1, B
from outcrop.stores.sqlite.driver import sqlite3
from outcrop.stores.sqlite.packs import create_packs, fold, unpack, unput
from outcrop.stores.sqlite.postings import FieldPostings, Lengths, PostingsCache, numbers, patched, top


def _terms(rng: random.Random, spread: int) -> list[tuple[list[tuple[int, int, int]], float]]:
    lengths = {key: rng.randint(1, 60) for key in rng.sample(range(1, spread), 400)}
    keys = sorted(lengths)
    terms = []
    for weight in (2.5, 1e-6, 0.7, 2.5, 4.1):  # a repeated IDF: two terms of one stem
        held = sorted(rng.sample(keys, rng.randint(20, 300)))
        terms.append(([(k, rng.choice((1, 1, 1, 2, 5)), lengths[k]) for k in held], weight))
    return terms


def _reference(terms: list[tuple[list[tuple[int, int, int]], float]], avgdl: float) -> list[tuple[int, float]]:
    """FTS5's loop: per document, 0.0 plus each term's part in order (0 where absent)."""
    held = [{k: (f, d) for k, f, d in rows} for rows, _ in terms]
    out = []
    for key in sorted(set().union(*held)):
        score = 0.0
        for rows, (_, weight) in zip(held, terms, strict=True):
            f, d = rows.get(key, (0, 1))  # an absent term's part is 0.0 whatever the length
            score += weight * ((f * (K1 + 1.0)) / (f + K1 * (1.0 - B + B * d / avgdl)))
        out.append((key, score))
    return sorted(out, key=lambda ks: (-ks[1], ks[0]))


@pytest.mark.parametrize("spread", [1_000, 1 << 40])  # a dense array, and keys far apart (np.unique)
def test_top_is_the_reference_sum_to_the_bit(spread: int) -> None:
    rng = random.Random(spread % 97)
    terms = _terms(rng, spread)
    avgdl = 23.7
    expected = _reference(terms, avgdl)
    given = [(FieldPostings.of(rows), weight) for rows, weight in terms]
    assert top(given, avgdl, None) == expected
    for depth in (1, 7, 50, len(expected) + 3):
        assert top(given, avgdl, depth) == expected[:depth]
    tied = [(FieldPostings.of([(3, 1, 10), (7, 1, 10), (9, 1, 10)]), 1.5)]
    assert [k for k, _ in top(tied, avgdl, 2)] == [3, 7]
    assert top([(FieldPostings.of([]), 1.0)], avgdl, 5) == []


def test_the_cache_keeps_an_entry_for_its_version_within_its_bytes() -> None:
    entry = FieldPostings.of([(1, 1, 4), (2, 3, 5)])
    cache = PostingsCache(entry.nbytes * 2)
    cache.put(("t", 1, "a"), 5, entry)
    assert cache.get(("t", 1, "a"), 5) is entry
    assert cache.get(("t", 1, "a"), 6) is None  # the user wrote since
    cache.put(("t", 1, "b"), 5, entry)
    cache.get(("t", 1, "a"), 5)
    cache.put(("t", 1, "c"), 5, entry)  # over the bound: the least recently used goes
    assert cache.get(("t", 1, "b"), 5) is None and cache.get(("t", 1, "a"), 5) is entry
    assert cache.nbytes == 2 * entry.nbytes


def test_postings_take_their_lengths_from_the_users_and_none_without_one() -> None:
    rows = numbers("3,7,0,5,2,9,8,11,4", 3)  # (key, own length, context length) as SQL concatenates them
    assert rows.tolist() == [[3, 7, 0], [5, 2, 9], [8, 11, 4]]
    assert numbers(None, 2).shape == (0, 2)
    lengths = Lengths(rows[:, 0].copy(), rows[:, 1].astype(np.int32), rows[:, 2].astype(np.int32))
    found = lengths.postings(1, np.array([5, 8]), np.array([1, 2]))
    assert found is not None and found.length.tolist() == [9, 4] and found.freq.tolist() == [1, 2]
    assert lengths.postings(0, np.array([3, 6]), np.array([1, 1])) is None  # key 6 has no length
    assert lengths.postings(0, np.array([9]), np.array([1])) is None  # past the last


@pytest.mark.parametrize("seed", range(6))
def test_a_patch_drops_the_changed_rows_and_puts_the_fresh_ones_in_key_order(seed: int) -> None:
    """``patched`` equals rebuilding the rows: the held ones but the changed keys', plus the fresh
    ones (changed keys still held, re-added, or gone), sorted by key; columns follow their keys."""
    rng = random.Random(seed)
    held = sorted(rng.sample(range(1, 5_000), rng.randint(0, 400)))
    changed = sorted(rng.sample(range(1, 5_000), rng.randint(0, 60)) + rng.sample(held, min(len(held), 20)))
    changed = sorted(set(changed))
    fresh = sorted(rng.sample(changed, rng.randint(0, len(changed))))
    rows = {k: (rng.randint(1, 9), rng.randint(1, 60)) for k in held}
    new = {k: (rng.randint(1, 9), rng.randint(1, 60)) for k in fresh}
    keys, (freq, length) = patched(
        np.array(held, dtype=np.int64),
        (np.array([rows[k][0] for k in held], np.int32), np.array([rows[k][1] for k in held], np.int32)),
        np.array(changed, dtype=np.int64),
        np.array(fresh, dtype=np.int64),
        (np.array([new[k][0] for k in fresh], np.int64), np.array([new[k][1] for k in fresh], np.int64)),
    )
    expected = {**{k: v for k, v in rows.items() if k not in set(changed)}, **new}
    assert keys.tolist() == sorted(expected)
    assert list(zip(freq.tolist(), length.tolist(), strict=True)) == [expected[k] for k in sorted(expected)]
    assert freq.dtype == np.int32 and length.dtype == np.int32


def _packed(db: sqlite3.Connection) -> set[tuple[int, int, int, int]]:
    """Every posting (term, key, own, ctx) the packs of table ``p`` hold."""
    out = set()
    for term, number in db.execute("SELECT DISTINCT term, number FROM p").fetchall():
        for field, name in enumerate(("own", "ctx")):
            rows = db.execute(
                f"SELECT number, block, keys, {name} FROM p WHERE term = ? AND number = ? ORDER BY block",
                (term, number),
            ).fetchall()
            got = unpack(rows)
            assert np.all(np.diff(got[:, 0]) > 0)  # ascending by key, as a search reads them
            out |= {(term, int(k), int(f), -1) if field == 0 else (term, int(k), -1, int(f)) for k, f in got}
    return out


def _as_read(postings: set[tuple[int, int, int, int]]) -> set[tuple[int, int, int, int]]:
    """The postings as :func:`_packed` reads them: each field's apart, a field without the term left out."""
    return {(t, k, o, -1) for t, k, o, _ in postings if o} | {(t, k, -1, c) for t, k, _, c in postings if c}


@pytest.mark.parametrize("seed", [0, 1])
def test_packs_hold_the_folded_rows_through_folds_and_deletes(seed: int) -> None:
    """Rows folded into packs (over packs already holding a block's other keys) read back as the
    rows, counts past 16 bits included; postings taken out leave their packs (an emptied one
    goes), the others stay."""
    rng = random.Random(seed)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (term INTEGER, key INTEGER, own INTEGER, ctx INTEGER, PRIMARY KEY (term, key))")
    create_packs(db, "p")
    held: set[tuple[int, int, int, int]] = set()
    keys = rng.sample(range(1, 40_000), 3_000)
    for round_ in range(3):  # each fold adds keys to blocks the packs hold already
        rows = {
            (term, (number << 39) | key, rng.choice((0, 1, 2, 70_000)), rng.choice((0, 1, 3)))
            for term in (-(1 << 62), 5, 1 << 60)
            for number in (1, 7)
            for key in rng.sample(keys[round_ * 1000 : (round_ + 1) * 1000], 400)
        }
        rows = {r for r in rows if r[2] or r[3]}
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", sorted(rows))
        assert fold(db, "t", "p") == len(rows)
        held |= rows
        assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)
        assert _packed(db) == _as_read(held)
    gone = [*rng.sample(sorted(held), 500), (5, (7 << 39) | 12345678, 1, 0)]  # one that no pack holds
    unput(db, "p", [(t, k) for t, k, _, _ in gone])
    held -= set(gone)
    assert _packed(db) == _as_read(held)
    unput(db, "p", [(t, k) for t, k, _, _ in held])
    assert db.execute("SELECT count(*) FROM p").fetchone() == (0,)
