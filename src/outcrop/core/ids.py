"""Time-sortable item ids and content hashes for idempotent ingest."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


_last_lock = threading.Lock()
_last = (0, 0)  # (millis, random part) of the previous id made by this process
_counted: list[int] | None = None  # inside reproducible_ids: the next id's number


@contextmanager
def reproducible_ids(start: int = 1 << 40) -> Iterator[None]:
    """Ids made in this process inside the block are ``start``, ``start + 1``, ... instead of the
    clock and random bits: the same input replayed into a fresh store gets the same ids, so ties
    broken by id, and ids hashed into derived ones, are the same from run to run (the evaluation).
    Only for a store that was empty when the block began: its ids must not meet ids made outside."""
    global _counted
    with _last_lock:
        outer, _counted = _counted, [start]
    try:
        yield
    finally:
        with _last_lock:
            _counted = outer


def new_id(prefix: str) -> str:
    """A new id such as ``t_01jd4k2m9x7q3v8w``: prefix, 50-bit milliseconds, 40 random bits.

    Ids sort by creation time, which keeps B-tree inserts local and listings chronological.
    Within one process they are strictly increasing (as monotonic ULIDs: an id made in the same
    millisecond as the previous one increments its random part), so items added together keep
    their order and ties broken by id are reproducible from run to run.
    """
    global _last
    millis = int(time.time() * 1000) & ((1 << 50) - 1)
    with _last_lock:
        if _counted is not None:
            number = _counted[0]
            _counted[0] += 1
            return f"{prefix}_{_b32(number >> 40, 10)}{_b32(number & ((1 << 40) - 1), 8)}"
        last_millis, last_rand = _last
        if millis > last_millis:
            rand = int.from_bytes(os.urandom(5), "big") >> 1  # 39 bits: room to increment
        elif last_rand < (1 << 40) - 1:
            millis, rand = last_millis, last_rand + 1
        else:
            millis, rand = last_millis + 1, int.from_bytes(os.urandom(5), "big") >> 1
        _last = (millis, rand)
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 8)}"


def child_id(prefix: str, parent_id: str, index: int, producer: str) -> str:
    """A deterministic id for the ``index``-th item a producer derived from one parent item.

    It keeps the parent's sortable body, so children sort with their parents (facts in the order
    of their turns) and re-running the producer on the same parent gives the same id.
    """
    body = parent_id.partition("_")[2]
    tag = _b32(int(content_hash(producer)[:8], 16), 4)
    return f"{prefix}_{body}{_b32(index, 3)}{tag}"


def content_hash(*parts: Any) -> str:
    """A stable sha256 over JSON-encoded parts (dict keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def derived_id(prefix: str, *parts: Any) -> str:
    """A deterministic id for a projection, from what it was made of: re-running a producer on the
    same input gives the same id, so consolidation is idempotent and a rebuild reproduces the store."""
    digest = int(content_hash(*parts)[:23], 16)
    return f"{prefix}_{_b32(digest, 18)}"


def remint(tenant: str, old: str) -> str:
    """The id a log record or turn ``old`` from another tenant's file gets in ``tenant``: the same
    prefix and time part (so listings keep their order), then 8 characters of a digest of both.
    Deterministic, so importing the same file twice maps it the same way."""
    prefix, sep, body = old.partition("_")
    if not sep:
        prefix, body = "i", old
    return f"{prefix}_{body[:10]}{derived_id('', 'import', tenant, old)[1:9]}"
