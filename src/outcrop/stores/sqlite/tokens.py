"""FTS5's own tokens of a text, outside the store: a private in-memory FTS5 table with the lexical
tables' tokenizer (``porter unicode61 remove_diacritics 2``), read back through ``fts5vocab``. The
tokens are FTS5's by construction (the same library, the same tokenizer, the same stemmer), so
term statistics counted from them agree with what FTS5 indexes; no Python re-implementation of
unicode61 or of its Porter stemmer is involved.

The table lives in a connection of its own (``:memory:``), so tokenising never writes the store's
file nor touches its transactions; one lock serialises its users (a call takes tens of
microseconds).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from typing import Any

from outcrop.stores.sqlite.driver import sqlite3

__all__ = ["TOKENIZER", "FTS5Tokens", "term_key"]

TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'"
"""The tokenizer of every lexical table (and of this module's private one)."""


def term_key(token: str) -> int:
    """What the statistics and postings tables hold for a token: 64 bits of its BLAKE2b hash,
    never its text (a B-tree's interior pages keep copies of keys after their rows are deleted,
    where a forget's ``secure_delete`` does not reach: a forgotten word must not stay there).
    Two of a tenant's terms share a key with odds ~n²/2⁶⁵ (1e-8 for a million terms)."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big", signed=True)


_REMEMBERED = 65_536  # query terms whose tokens a process keeps (then starts again)


class FTS5Tokens:
    """Counts of FTS5 tokens per text, and a query term's tokens (cached)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.execute(f"CREATE VIRTUAL TABLE tok USING fts5(body, content='', {TOKENIZER})")
        self._db.execute("CREATE VIRTUAL TABLE tok_instance USING fts5vocab(tok, 'instance')")
        self._lock = threading.Lock()
        self._phrases: dict[str, tuple[str, ...]] = {}

    def _instances(self, texts: Sequence[str], sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """``sql`` over ``tok_instance`` with the non-empty ``texts`` in the private table (text
        ``n`` as document ``n + 1``), which is emptied again after."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO tok(rowid, body) VALUES (?, ?)", [(n + 1, t) for n, t in enumerate(texts) if t]
                )
                rows: list[tuple[Any, ...]] = self._db.execute(sql, params).fetchall()
                self._db.execute("INSERT INTO tok(tok) VALUES ('delete-all')")
            finally:
                self._db.execute("COMMIT")
        return rows

    def counts(self, texts: Sequence[str]) -> list[dict[int, int]]:
        """Each text's tokens (:func:`term_key`) with their number of occurrences (none for an
        empty text)."""
        out: list[dict[int, int]] = [{} for _ in texts]
        if not any(texts):
            return out
        rows = self._instances(texts, "SELECT doc, term, count(*) FROM tok_instance GROUP BY term, doc", [])
        keys: dict[str, int] = {}
        for doc, term, count in rows:
            key = keys.get(term)
            if key is None:
                key = keys[term] = term_key(term)
            out[doc - 1][key] = count
        return out

    def occurrences(self, texts: Sequence[str], phrase: Sequence[str]) -> list[int]:
        """How often ``phrase`` (tokens, as :meth:`phrase` gives them) occurs in each text: at
        how many token positions its tokens follow one another, as FTS5 counts a phrase's
        instances in a row (overlapping ones each count)."""
        out = [0] * len(texts)
        if not phrase or not any(texts):
            return out
        rows = self._instances(
            texts,
            f"SELECT doc, term, offset FROM tok_instance WHERE term IN ({','.join('?' * len(set(phrase)))})",
            sorted(set(phrase)),
        )
        at: dict[tuple[int, int], str] = {(doc, offset): term for doc, term, offset in rows}
        for doc, term, offset in rows:
            if term == phrase[0] and all(at.get((doc, offset + n)) == t for n, t in enumerate(phrase)):
                out[doc - 1] += 1
        return out

    def phrase(self, term: str) -> tuple[str, ...]:
        """The tokens of a query term in order (a term of several tokens is an FTS5 phrase)."""
        tokens = self._phrases.get(term)
        if tokens is not None:
            return tokens
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute("INSERT INTO tok(rowid, body) VALUES (1, ?)", (term,))
                rows = self._db.execute("SELECT term FROM tok_instance ORDER BY offset").fetchall()
                self._db.execute("INSERT INTO tok(tok) VALUES ('delete-all')")
            finally:
                self._db.execute("COMMIT")
        tokens = tuple(str(r[0]) for r in rows)
        if len(self._phrases) >= _REMEMBERED:
            self._phrases.clear()
        self._phrases[term] = tokens
        return tokens

    def close(self) -> None:
        with self._lock:
            self._db.close()
