"""A tenant's postings packed per term, user and block of keys (``<stem>_packs``, migration 0019).

The postings kept on write (``<stem>_terms``: a row per term and document, keyed (term, key))
cost SQLite's per-row work at a term's first read in a process: ~0.2 µs a posting to walk,
decode and format (5-40 ms for a 100k-turn user's common terms). Here a term's postings of one
user are a few rows instead, one per block of :data:`BLOCK` item rowids: the documents' offsets in
the block (``keys``, little-endian uint16, ascending) and their occurrences in the own text and
the context (``own``, ``ctx``: uint16, or uint32 where a count does not fit, told apart by the
blob's length), read with ``numpy.frombuffer``.

Writes insert rows into ``<stem>_terms`` as before (the *tail*: small, cheap to insert); once a
tenant's tail holds :data:`FOLD_ROWS` rows or more (``lexical_stats.tail`` counts the rows put
since the last fold), the write that crosses it folds the whole tail into the packs, in its
transaction (:func:`fold`). A posting is in exactly one of the two, so a read takes a term's
packs and its tail rows in one snapshot. A delete takes a document's postings out of both (its
packs rewritten without it: a forgotten document leaves no key in them). No text is held: terms
are 64-bit hashes (:func:`~outcrop.stores.sqlite.tokens.term_key`), keys item rowids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from outcrop.stores.sqlite.driver import sqlite3

__all__ = [
    "BLOCK_BITS",
    "FOLD_ROWS",
    "create_packs",
    "decode",
    "fold",
    "fold_head",
    "packs_table",
    "unpack",
    "unput",
]

BLOCK_BITS = 12  # a pack holds one block of 2**12 item rowids (offsets fit uint16; a rewrite stays under ~24 kB)
FOLD_ROWS = 32_768  # tail rows of a tenant from which the write that adds them folds them into packs
_ITEM_BITS = 39  # schema.LEXICAL_ITEM_BITS (a key: user number << 39 | item rowid)
_OFFSET = (1 << BLOCK_BITS) - 1
_READ = 262_144  # tail rows folded per round (a migration folds a whole tenant's postings)


def packs_table(own: str) -> str:
    """The name of a tenant's packs table, from its own-text FTS5 table's."""
    return own.removesuffix("_own") + "_packs"


def create_packs(db: sqlite3.Connection, table: str) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (term INTEGER NOT NULL, number INTEGER NOT NULL,"
        " block INTEGER NOT NULL, keys BLOB NOT NULL, own BLOB NOT NULL, ctx BLOB NOT NULL,"
        " PRIMARY KEY (term, number, block)) WITHOUT ROWID"
    )


def _counts(values: npt.NDArray[np.int64]) -> bytes:
    return values.astype("<u2" if not len(values) or int(values.max()) < 65_536 else "<u4").tobytes()


def decode(keys: bytes, counts: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """A pack's offsets and one field's occurrences (0 where the document lacks the term there)."""
    offsets = np.frombuffer(keys, dtype="<u2").astype(np.int64)
    width = len(counts) // max(len(offsets), 1)
    return offsets, np.frombuffer(counts, dtype="<u2" if width == 2 else "<u4").astype(np.int64)


def unpack(rows: Sequence[tuple[int, int, bytes, bytes]]) -> npt.NDArray[np.int64]:
    """(key, occurrences) of a term's postings with occurrences in a field, ascending by key, from
    its packs' rows (number, block, keys, that field's counts) in block order: the blobs joined
    and read at once where every count fits 16 bits (else pack by pack)."""
    if not rows:
        return np.empty((0, 2), dtype=np.int64)
    keys = b"".join(r[2] for r in rows)
    counts = b"".join(r[3] for r in rows)
    if len(counts) != len(keys):  # some pack's counts are 32-bit: pack by pack
        parts = []
        for number, block, blob, field in rows:
            offsets, freq = decode(blob, field)
            base = (int(number) << _ITEM_BITS) | (int(block) << BLOCK_BITS)
            parts.append(np.stack((offsets + base, freq), axis=1)[freq > 0])
        return np.concatenate(parts)
    sizes = np.fromiter((len(r[2]) // 2 for r in rows), dtype=np.int64, count=len(rows))
    bases = np.fromiter(
        ((int(r[0]) << _ITEM_BITS) | (int(r[1]) << BLOCK_BITS) for r in rows), dtype=np.int64, count=len(rows)
    )
    out = np.empty((len(keys) // 2, 2), dtype=np.int64)
    out[:, 0] = np.frombuffer(keys, dtype="<u2")
    out[:, 0] += np.repeat(bases, sizes)
    out[:, 1] = np.frombuffer(counts, dtype="<u2")
    return out[out[:, 1] > 0]


def _group(rows: npt.NDArray[np.int64]) -> Iterable[tuple[int, int, int, npt.NDArray[np.int64]]]:
    """(term, number, block, rows) of (term, key, ...) rows sorted by term then key."""
    if not len(rows):
        return
    number = rows[:, 1] >> _ITEM_BITS
    block = (rows[:, 1] & ((1 << _ITEM_BITS) - 1)) >> BLOCK_BITS
    edges = np.flatnonzero((np.diff(rows[:, 0]) != 0) | (np.diff(number) != 0) | (np.diff(block) != 0)) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [len(rows)]))
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        yield int(rows[s, 0]), int(number[s]), int(block[s]), rows[s:e]


def fold(db: sqlite3.Connection, tail: str, table: str) -> int:
    """Inside a transaction: move every row of the postings table ``tail`` into the packs of
    ``table`` (each touched pack read, merged with its new postings and written again); the rows
    moved. The postings are the same after: a search reads the same (key, occurrences)."""
    moved = 0
    last: tuple[int, int] | None = None
    while True:
        where, params = ("", []) if last is None else ("WHERE (term, key) > (?, ?)", [*last])
        batch = db.execute(
            f"SELECT term, key, own, ctx FROM {tail} {where} ORDER BY term, key LIMIT {_READ}", params
        ).fetchall()
        if not batch:
            break
        rows = np.array(batch, dtype=np.int64)
        last = (int(rows[-1, 0]), int(rows[-1, 1]))
        moved += len(rows)
        _merge(db, table, rows)
    db.execute(f"DELETE FROM {tail}")
    return moved


def fold_head(db: sqlite3.Connection, tail: str, table: str, limit: int) -> int:
    """Inside a transaction: move the first ``limit`` rows of ``tail`` (by term, then key) into
    the packs of ``table``, as :func:`fold` moves them all; the rows moved (fewer than ``limit``:
    the tail is now empty). A fold in rounds of a transaction each lets writes in between."""
    batch = db.execute(f"SELECT term, key, own, ctx FROM {tail} ORDER BY term, key LIMIT {int(limit)}").fetchall()
    if not batch:
        return 0
    rows = np.array(batch, dtype=np.int64)
    _merge(db, table, rows)
    db.execute(f"DELETE FROM {tail} WHERE (term, key) <= (?, ?)", (int(rows[-1, 0]), int(rows[-1, 1])))
    return len(rows)


def _merge(db: sqlite3.Connection, table: str, rows: npt.NDArray[np.int64]) -> None:
    """Merge (term, key, own, ctx) ``rows``, sorted by term then key, into the packs of ``table``
    (each touched pack read, merged with its new postings and written again)."""
    for term, number, block, group in _group(rows):
        offsets = group[:, 1] & _OFFSET
        own, ctx = group[:, 2], group[:, 3]
        held = db.execute(
            f"SELECT keys, own, ctx FROM {table} WHERE term = ? AND number = ? AND block = ?", (term, number, block)
        ).fetchone()
        if held is not None:  # disjoint keys: a posting is in the tail or in a pack, never both
            old, old_own = decode(held[0], held[1])
            _, old_ctx = decode(held[0], held[2])
            order = np.argsort(np.concatenate((old, offsets)), kind="stable")
            offsets = np.concatenate((old, offsets))[order]
            own = np.concatenate((old_own, own))[order]
            ctx = np.concatenate((old_ctx, ctx))[order]
        db.execute(
            f"INSERT OR REPLACE INTO {table} (term, number, block, keys, own, ctx) VALUES (?, ?, ?, ?, ?, ?)",
            (term, number, block, offsets.astype("<u2").tobytes(), _counts(own), _counts(ctx)),
        )


def unput(db: sqlite3.Connection, table: str, postings: Sequence[tuple[int, int]]) -> None:
    """Inside a transaction: take (term, key) ``postings`` out of the packs of ``table`` (a pack
    left empty is deleted); those not in a pack (in the tail, or nowhere) are passed over."""
    if not postings:
        return
    rows = np.array(sorted(set(postings)), dtype=np.int64).reshape(-1, 2)
    for term, number, block, group in _group(rows):
        held = db.execute(
            f"SELECT keys, own, ctx FROM {table} WHERE term = ? AND number = ? AND block = ?", (term, number, block)
        ).fetchone()
        if held is None:
            continue
        offsets, own = decode(held[0], held[1])
        _, ctx = decode(held[0], held[2])
        kept = ~np.isin(offsets, group[:, 1] & _OFFSET)
        if kept.all():
            continue
        if not kept.any():
            db.execute(f"DELETE FROM {table} WHERE term = ? AND number = ? AND block = ?", (term, number, block))
            continue
        db.execute(
            f"UPDATE {table} SET keys = ?, own = ?, ctx = ? WHERE term = ? AND number = ? AND block = ?",
            (offsets[kept].astype("<u2").tobytes(), _counts(own[kept]), _counts(ctx[kept]), term, number, block),
        )
