"""Time-sortable item ids and content hashes for idempotent ingest."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as ``t_01jd4k2m9x7q3v8w``: prefix, 48-bit milliseconds, 40 random bits.

    Ids sort by creation time, which keeps B-tree inserts local and listings chronological.
    """
    millis = int(time.time() * 1000) & ((1 << 50) - 1)
    rand = int.from_bytes(os.urandom(5), "big")
    return f"{prefix}_{_b32(millis, 10)}{_b32(rand, 8)}"


def content_hash(*parts: Any) -> str:
    """A stable sha256 over JSON-encoded parts (dict keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def derived_id(prefix: str, *parts: Any) -> str:
    """A deterministic id for a projection, from what it was made of: re-running a producer on the
    same input gives the same id, so consolidation is idempotent and a rebuild reproduces the store."""
    digest = int(content_hash(*parts)[:23], 16)
    return f"{prefix}_{_b32(digest, 18)}"
