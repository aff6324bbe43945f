"""A user's lexical postings in memory, and the BM25 statement's ranking computed over them in numpy.

The score statement (:func:`~outcrop.stores.postgres.bm25.score_sql`) unnests and scores every
candidate of a query at every search: ~9 ms of a conversation's search, and at a 100k-turn user
the user's every row read and tested (0.5-1.6 s). Here a user's documents (item id, ``seq``, the
length of each field) and each field's postings (lexeme → the documents holding it and its
occurrences in each: the count of the lexeme's positions in the document's tsvector, what
``cardinality(u.positions)`` gives the statement) are read once, in one statement, and kept in a
cache bounded by bytes; a search scores its terms over them in ~1 ms.

**The same ranking, the same bits.** :func:`rank` computes what the statement computes, in its
order: each posting's part ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg))`` with the
statement's operations (``1 - b`` and ``b * len`` are exact in SQL's numeric; the rest IEEE
doubles, elementwise, as numpy rounds them); a document's parts summed per (field, group) from the
first, one-lexeme terms in lexeme byte order (the statement reads them from the document's
tsvector, sorted that way, joined to the query's terms) and then phrases in the query's order (the
``UNION ALL``'s second branch); each (field, group) ranked by score then ``seq`` and cut at
``depth``; the weighted parts summed per document in (field, group) order; ties of the result to
the smaller id (``COLLATE "C"``: byte order, which is code point order). A phrase's occurrences
are ``phrase_tf``'s, counted from the held positions of its lexemes (each field's positions, as
``array_send`` gives the tsvector's, read with the postings), once per phrase and entry.

**Never stale.** An entry is kept with its user's lexical version (``lexical_users``, moved by
every write of the user's lexical documents in the write's transaction, migration 0014) and used
only while the version the search reads is the same. The version is read before the entry's rows
(read committed: the rows may be newer than the version, never older; a newer version then makes
the next search read them again). A user's entry is read at the second search that finds the same
version without one: a user written between searches (an agent that adds and asks in turn) keeps
the statement's cost, never a whole read per search.

**Patched, not read again.** A held entry of an older version is patched (:func:`patch`) with the
documents the versions between touched (``lexical_journal``, written with each version in the
write's transaction, migration 0016): those documents read alone, by id, and merged in.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from outcrop.stores.postgres.bm25 import K1, B, Term
from outcrop.stores.postgres.sqlparts import Conn

__all__ = [
    "LAID_DOCUMENTS",
    "FieldPostings",
    "Held",
    "LaidOver",
    "Phrases",
    "PostingsCache",
    "UserPostings",
    "laid_over",
    "load_user",
    "numbers",
    "patch",
    "rank",
]

Key = tuple[str, str]  # (tenant, user id)

_K1P = float(f"{K1 + 1}")  # the statement's literal (2.2) as PostgreSQL casts it to a double
_K1 = float(f"{K1}")
_B = float(f"{B}")
_ONE_MINUS_B = 1.0 - _B  # numeric 0.25 in SQL: exact either way

# One statement, one snapshot: row -1 holds the documents (ids, and each one's seq, own length and
# context length as big-endian int8, int4, int4, in seq order), rows 0 and 1 a field's postings of
# one lexeme (each document's seq and the lexeme's occurrences, int8 and int4; then, in the same
# order, the occurrences' positions: ``array_send`` of each smallint[] past its 20-byte header, a
# 4-byte length and the int2 for each): bytes, not text, so neither side converts numbers (a
# 100k-turn user holds ~9M postings).
# With ``only``, the documents of those ids alone (a patch, below: through the primary key).
_POSITIONS = "string_agg(substring(array_send(u.positions) from 21), ''::bytea)"
_LOAD = """
    SELECT -1 AS kind, NULL::text AS lexeme, array_agg(id ORDER BY seq) AS ids,
           string_agg(int8send(seq) || int4send(own_len) || int4send(ctx_len), ''::bytea ORDER BY seq), NULL::bytea
    FROM items i WHERE tenant = %(tenant)s AND user_id = %(user)s AND (own_tsv IS NOT NULL OR ctx_tsv IS NOT NULL){only}
    UNION ALL
    SELECT 0, u.lexeme, NULL, string_agg(int8send(i.seq) || int4send(cardinality(u.positions)), ''::bytea),
           {positions}
    FROM items i, unnest(i.own_tsv) u WHERE i.tenant = %(tenant)s AND i.user_id = %(user)s{only} GROUP BY u.lexeme
    UNION ALL
    SELECT 1, u.lexeme, NULL, string_agg(int8send(i.seq) || int4send(cardinality(u.positions)), ''::bytea),
           {positions}
    FROM items i, unnest(i.ctx_tsv) u WHERE i.tenant = %(tenant)s AND i.user_id = %(user)s{only} GROUP BY u.lexeme
"""
_ONLY = " AND i.id = ANY(%(ids)s::text[])"
_DOC = np.dtype([("seq", ">i8"), ("own", ">i4"), ("ctx", ">i4")])
_POSTING = np.dtype([("seq", ">i8"), ("tf", ">i4")])
_POSITION = np.dtype([("len", ">i4"), ("pos", ">i2")])
_SHIFT = 20  # a phrase's occurrence keys: place << 20 | position (positions end at 16,383)
_ARRAY = sys.getsizeof(np.empty(0, np.int32))  # a numpy array's own bytes, its data aside
_SLOT = 200  # a kept phrase's key and value tuples and its slot in the dict, roughly


def numbers(text: str | None, columns: int = 1) -> npt.NDArray[np.int64]:
    """Rows of ``columns`` integers from SQL's ``string_agg`` of them, comma-separated (parsed in C)."""
    if not text:
        return np.empty((0, columns), dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, columns)


Found = tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]  # (places, occurrences in each)


class Phrases(dict[tuple[int, str], Found]):
    """An entry's phrases' postings by (field, tsquery), as searches computed them, and the bytes
    they hold (:attr:`nbytes`: counted with the entry's against the cache's bound,
    :meth:`PostingsCache.recount`)."""

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = 0
        self._lock = threading.Lock()

    def keep(self, key: tuple[int, str], found: Found) -> Found:
        """Keep ``found`` under ``key`` (counted once; a phrase another search kept meanwhile wins)."""
        with self._lock:
            kept = self.setdefault(key, found)
            if kept is found:
                self.nbytes += int(found[0].nbytes + found[1].nbytes) + 2 * _ARRAY + sys.getsizeof(key[1]) + _SLOT
            return kept

    def drop(self) -> None:
        with self._lock:
            self.clear()
            self.nbytes = 0


@dataclass(frozen=True)
class FieldPostings:
    """One field's postings of a user: lexeme → ``slot``; the documents of slot ``s`` are
    ``docs[starts[s]:starts[s + 1]]`` (their places in seq order; each once, in no order) with
    ``freq`` occurrences, whose positions are ``positions[pos_starts[s]:pos_starts[s + 1]]``
    (each document's ``freq`` of them in turn, ascending)."""

    slot: dict[str, int]
    starts: npt.NDArray[np.int64]
    docs: npt.NDArray[np.int32]
    freq: npt.NDArray[np.int32]
    pos_starts: npt.NDArray[np.int64]
    positions: npt.NDArray[np.int16]

    def of(self, lexeme: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        s = self.slot.get(lexeme)
        if s is None:
            return np.empty(0, np.int32), np.empty(0, np.int32)
        a, b = int(self.starts[s]), int(self.starts[s + 1])
        return self.docs[a:b], self.freq[a:b]

    def keys(self, lexeme: str) -> npt.NDArray[np.int64]:
        """The lexeme's occurrences as ``place << 20 | position``, sorted."""
        s = self.slot.get(lexeme)
        if s is None:
            return np.empty(0, np.int64)
        a, b = int(self.starts[s]), int(self.starts[s + 1])
        places = np.repeat(self.docs[a:b].astype(np.int64), self.freq[a:b])
        found = (places << _SHIFT) | self.positions[int(self.pos_starts[s]) : int(self.pos_starts[s + 1])]
        found.sort()
        return found

    def phrase(self, lexemes: Sequence[str]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """``phrase_tf`` of every document: the places holding the phrase and its occurrences in
        each (the positions of its first lexeme followed by the others at the next positions)."""
        first = self.keys(lexemes[0])
        for k, lexeme in enumerate(lexemes[1:], start=1):
            if not len(first):
                break
            other = self.keys(lexeme)
            wanted = first + k
            at = np.searchsorted(other, wanted)
            ok = at < len(other)
            ok[ok] = other[at[ok]] == wanted[ok]
            first = first[ok]
        places, counts = np.unique(first >> _SHIFT, return_counts=True)
        return places.astype(np.int32), counts.astype(np.int32)

    @property
    def nbytes(self) -> int:
        text = sum(len(k) + 80 for k in self.slot)  # the dict's keys and entries, roughly
        arrays = self.starts.nbytes + self.docs.nbytes + self.freq.nbytes + self.pos_starts.nbytes
        return int(arrays + self.positions.nbytes) + text


@dataclass
class UserPostings:
    """A user's lexical documents in seq order and each field's postings with their positions,
    read at ``version``; the phrases' postings are computed from the positions as searches ask for
    them and kept with the entry."""

    version: int
    ids: list[str]
    seqs: npt.NDArray[np.int64]
    own_len: npt.NDArray[np.float64]
    ctx_len: npt.NDArray[np.float64]
    fields: tuple[FieldPostings, FieldPostings]
    phrases: Phrases = field(default_factory=Phrases)

    @property
    def nbytes(self) -> int:
        """The entry's bytes: its arrays and ids, and the phrases kept with it."""
        return self._arrays + self.phrases.nbytes

    @cached_property
    def _arrays(self) -> int:  # measured once: an entry's arrays and ids are never changed in place
        return int(
            self.seqs.nbytes
            + self.own_len.nbytes
            + self.ctx_len.nbytes
            + sum(len(i) + 57 for i in self.ids)
            + sum(f.nbytes for f in self.fields)
        )

    def merged(self) -> UserPostings:
        return self

    def drop_phrases(self) -> None:
        self.phrases.drop()

    def places(self, seqs: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """The places of the documents with these ``seq``s (those not held are left out)."""
        wanted = seqs.reshape(-1)
        at = np.searchsorted(self.seqs, wanted)
        ok = at < len(self.seqs)
        ok[ok] = self.seqs[at[ok]] == wanted[ok]
        return at[ok].astype(np.int32)

    def phrase(self, fld: int, term: Term) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """The places holding the phrase ``term`` in field ``fld`` and its occurrences in each
        (``phrase_tf``), computed once per entry."""
        key = (fld, term.tsquery)
        found = self.phrases.get(key)
        if found is None:
            found = self.phrases.keep(key, self.fields[fld].phrase(term.lexemes))
        return found


def load_user(conn: Conn, tenant: str, user: str, version: int, only: Sequence[str] | None = None) -> UserPostings:
    """Read a user's documents and postings in one statement (inside the caller's transaction);
    with ``only``, those of the documents of these ids."""
    sql = _LOAD.format(only="" if only is None else _ONLY, positions=_POSITIONS)
    params = {"tenant": tenant, "user": user, "ids": list(only or [])}
    rows = conn.execute(sql.encode(), params, binary=True).fetchall()
    ids: list[str] = []
    docs = np.empty(0, dtype=_DOC)
    lexemes: tuple[list[str], list[str]] = ([], [])
    data: tuple[list[bytes], list[bytes]] = ([], [])
    spots: tuple[list[bytes], list[bytes]] = ([], [])
    for kind, lexeme, id_list, blob, positions in rows:
        if kind < 0:
            ids = list(id_list or [])
            docs = np.frombuffer(blob or b"", dtype=_DOC)
        else:
            lexemes[kind].append(lexeme)
            data[kind].append(blob)
            spots[kind].append(positions or b"")
    seqs = docs["seq"].astype(np.int64)
    fields = []
    for kind in (0, 1):
        counts = np.array([len(b) // _POSTING.itemsize for b in data[kind]], dtype=np.int64)
        starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        flat = np.frombuffer(b"".join(data[kind]), dtype=_POSTING)
        places = np.searchsorted(seqs, flat["seq"].astype(np.int64))  # every posting's document is held
        pos_counts = np.array([len(b) // _POSITION.itemsize for b in spots[kind]], dtype=np.int64)
        pos_starts = np.zeros(len(pos_counts) + 1, dtype=np.int64)
        np.cumsum(pos_counts, out=pos_starts[1:])
        positions = np.frombuffer(b"".join(spots[kind]), dtype=_POSITION)["pos"].astype(np.int16)
        fields.append(
            FieldPostings(
                {lexeme: s for s, lexeme in enumerate(lexemes[kind])},
                starts,
                places.astype(np.int32),
                flat["tf"].astype(np.int32),
                pos_starts,
                positions,
            )
        )
    return UserPostings(
        version=version,
        ids=ids,
        seqs=seqs,
        own_len=docs["own"].astype(np.float64),
        ctx_len=docs["ctx"].astype(np.float64),
        fields=(fields[0], fields[1]),
    )


def _ranges(starts: npt.NDArray[np.int64], order: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The indexes of the runs ``starts[g]:starts[g + 1]`` for each ``g`` of ``order``, in turn."""
    lengths = (starts[1:] - starts[:-1])[order]
    total = int(lengths.sum())
    if not total:
        return np.empty(0, np.int64)
    begins = np.zeros(len(lengths), np.int64)
    np.cumsum(lengths[:-1], out=begins[1:])
    return np.repeat(starts[:-1][order] - begins, lengths) + np.arange(total, dtype=np.int64)


def _merge(
    old: FieldPostings,
    delta: FieldPostings,
    dead: npt.NDArray[np.bool_],
    old_to_new: npt.NDArray[np.int32],
    delta_to_new: npt.NDArray[np.int32],
) -> FieldPostings:
    """One field's postings with the documents ``dead`` (old places) taken out and ``delta``'s
    added: each lexeme's kept postings, then the added ones (and their positions in that order)."""
    slot = dict(old.slot)
    for lexeme in delta.slot:
        slot.setdefault(lexeme, len(slot))
    n = len(slot)
    old_slots = np.arange(len(old.slot), dtype=np.int32)
    keep = ~dead[old.docs]
    kept_counts = np.bincount(np.repeat(old_slots, np.diff(old.starts))[keep], minlength=n)
    pos_keep = np.repeat(keep, old.freq)
    kept_pos_counts = np.bincount(np.repeat(old_slots, np.diff(old.pos_starts))[pos_keep], minlength=n)
    target = np.array([slot[lexeme] for lexeme in delta.slot], dtype=np.int64)  # delta slot -> merged slot
    groups = np.argsort(target, kind="stable")
    postings = _ranges(delta.starts, groups)
    spots = _ranges(delta.pos_starts, groups)
    added_slots = np.repeat(target[groups], np.diff(delta.starts)[groups])
    added_pos_slots = np.repeat(target[groups], np.diff(delta.pos_starts)[groups])
    docs = np.insert(
        old_to_new[old.docs[keep]], np.cumsum(kept_counts)[added_slots], delta_to_new[delta.docs[postings]]
    )
    freq = np.insert(old.freq[keep], np.cumsum(kept_counts)[added_slots], delta.freq[postings])
    positions = np.insert(old.positions[pos_keep], np.cumsum(kept_pos_counts)[added_pos_slots], delta.positions[spots])
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(kept_counts + np.bincount(added_slots, minlength=n), out=starts[1:])
    pos_starts = np.zeros(n + 1, np.int64)
    np.cumsum(kept_pos_counts + np.bincount(added_pos_slots, minlength=n), out=pos_starts[1:])
    return FieldPostings(
        slot, starts, docs.astype(np.int32), freq.astype(np.int32), pos_starts, positions.astype(np.int16)
    )


def patch(old: UserPostings, touched: npt.NDArray[np.int64], delta: UserPostings) -> UserPostings:
    """``old`` with the documents of the ``touched`` seqs replaced by ``delta`` (those documents
    as read now: the ones still holding a lexical document), at ``delta``'s version: what
    :func:`load_user` would read, each lexeme's postings in another order (which no sum depends
    on: a document's parts are summed per term, and each term's postings hold a document once)."""
    dead = np.isin(old.seqs, touched)
    kept = np.flatnonzero(~dead)
    seqs = np.concatenate([old.seqs[kept], delta.seqs])
    order = np.argsort(seqs, kind="stable")
    where = np.empty(len(order), np.int64)
    where[order] = np.arange(len(order))
    old_to_new = np.full(len(old.seqs), -1, np.int32)
    old_to_new[kept] = where[: len(kept)]
    delta_to_new = where[len(kept) :].astype(np.int32)
    ids = [old.ids[int(p)] for p in kept] + delta.ids
    return UserPostings(
        version=delta.version,
        ids=[ids[int(p)] for p in order],
        seqs=seqs[order],
        own_len=np.concatenate([old.own_len[kept], delta.own_len])[order],
        ctx_len=np.concatenate([old.ctx_len[kept], delta.ctx_len])[order],
        fields=(
            _merge(old.fields[0], delta.fields[0], dead, old_to_new, delta_to_new),
            _merge(old.fields[1], delta.fields[1], dead, old_to_new, delta_to_new),
        ),
    )


class _LaidField:
    """One field of a :class:`LaidOver` entry: the base's postings of the documents not touched,
    then the delta's (their places after the base's)."""

    def __init__(self, base: FieldPostings, delta: FieldPostings, dead: npt.NDArray[np.bool_] | None, offset: int):
        self.base, self.delta, self.dead, self.offset = base, delta, dead, offset

    def joined(
        self,
        base: tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]],
        delta: tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]],
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """(places, occurrences) of the base's documents not touched, then of the delta's."""
        docs, freq = base
        if self.dead is not None and len(docs):
            keep = ~self.dead[docs]
            docs, freq = docs[keep], freq[keep]
        if not len(delta[0]):
            return docs, freq
        return np.concatenate([docs, delta[0] + np.int32(self.offset)]), np.concatenate([freq, delta[1]])

    def of(self, lexeme: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        return self.joined(self.base.of(lexeme), self.delta.of(lexeme))


@dataclass
class LaidOver:
    """A held entry patched without rewriting it: ``base`` as read (or merged) before, the
    documents of the ``touched`` seqs left out of it, and the documents the versions since touched
    (``read``: their ids) as read at ``version`` (``delta``), placed after the base's documents.
    Where :func:`patch` rewrites every posting of the user (a 100k-turn user: ~9M, 0.3 s at the
    first search after each of its writes), this costs what the touched documents hold; its
    places are not in seq order (:func:`rank` breaks ties by seq), and it ranks as the merged
    entry does: a document is in one part only, and its parts are summed per term in the same
    order. Merged (:meth:`merged`) once the touched documents outgrow :data:`LAID_DOCUMENTS`."""

    base: UserPostings
    delta: UserPostings
    touched: npt.NDArray[np.int64]
    read: list[str]
    phrases: Phrases = field(default_factory=Phrases)

    def __post_init__(self) -> None:
        base, delta = self.base, self.delta
        dead = np.isin(base.seqs, self.touched)
        self.dead = dead if dead.any() else None
        self.version = delta.version
        self.ids = base.ids + delta.ids
        self.seqs = np.concatenate([base.seqs, delta.seqs])
        self.own_len = np.concatenate([base.own_len, delta.own_len])
        self.ctx_len = np.concatenate([base.ctx_len, delta.ctx_len])
        n = len(base.ids)
        self.fields = (
            _LaidField(base.fields[0], delta.fields[0], self.dead, n),
            _LaidField(base.fields[1], delta.fields[1], self.dead, n),
        )

    @property
    def nbytes(self) -> int:
        """The base's and delta's bytes (their phrases included), the joined arrays', and the
        phrases kept with this entry (a phrase's arrays shared with the base's counted twice)."""
        own = self.seqs.nbytes * 3 + 8 * len(self.ids) + self.phrases.nbytes
        return int(self.base.nbytes + self.delta.nbytes + own)

    def drop_phrases(self) -> None:
        self.phrases.drop()
        self.base.drop_phrases()
        self.delta.drop_phrases()

    def places(self, seqs: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """The places of the documents with these ``seq``s (those not held are left out)."""
        wanted = seqs.reshape(-1)
        kept = self.base.places(wanted)
        if self.dead is not None:
            kept = kept[~self.dead[kept]]
        return np.concatenate([kept, self.delta.places(wanted) + np.int32(len(self.base.ids))])

    def phrase(self, fld: int, term: Term) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        key = (fld, term.tsquery)
        found = self.phrases.get(key)
        if found is None:
            # the base's phrase kept with the base: computed once for every entry laid over it
            found = self.phrases.keep(
                key, self.fields[fld].joined(self.base.phrase(fld, term), self.delta.phrase(fld, term))
            )
        return found

    def merged(self) -> UserPostings:
        """The entry :func:`patch` makes of the base and the touched documents (what a whole read
        at :attr:`version` holds)."""
        return patch(self.base, self.touched, self.delta)


Held = UserPostings | LaidOver
LAID_DOCUMENTS = 512  # touched documents a LaidOver entry holds apart; past them they are merged in


def laid_over(
    old: Held,
    touched: npt.NDArray[np.int64],
    ids: Sequence[str],
    read: Callable[[list[str]], UserPostings],
    *,
    merge: bool = False,
) -> Held:
    """``old`` patched with the documents of the ``touched`` seqs (journaled ``ids``), ``read``
    by id: laid over its base while they are few, merged into a new base past
    :data:`LAID_DOCUMENTS` (an amortised rewrite: once per that many documents written) or when
    ``merge`` is asked (:meth:`PostingsCache.merge_next`)."""
    base, before, known = (
        (old.base, old.touched, old.read) if isinstance(old, LaidOver) else (old, np.empty(0, np.int64), [])
    )
    touched = np.union1d(before, touched)
    every = sorted({*known, *ids})
    delta = read(every)
    if merge or len(touched) > LAID_DOCUMENTS:
        return patch(base, touched, delta)
    return LaidOver(base, delta, touched, every)


class PostingsCache:
    """Users' :class:`UserPostings` by (tenant, user), least recently used dropped first, bounded
    by their bytes (the phrases that searches computed and kept with them included: counted at
    :meth:`recount`); and which version of a user was last found without an entry (read at the
    second search at that version). Thread-safe."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, Held] = OrderedDict()
        self._sizes: dict[Key, int] = {}  # an entry's bytes as last counted (its phrases grow after)
        self._seen: OrderedDict[Key, int] = OrderedDict()
        self._merge: set[Key] = set()  # users whose next patch merges (a forget: its postings leave memory)
        self._total = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._total

    def get(self, key: Key, version: int) -> Held | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                return None
            self._entries.move_to_end(key)
            return entry

    def latest(self, key: Key) -> Held | None:
        """The user's entry at whatever version it was read (to patch it)."""
        with self._lock:
            return self._entries.get(key)

    def merge_next(self, key: Key) -> None:
        """The user's next patch is merged into its entry, not laid over it: what a forget erased
        leaves this process's memory with it (laid over, the entry's base would hold its postings,
        numbers and ids without text, until a merge or an eviction)."""
        with self._lock:
            self._merge.add(key)

    def take_merge(self, key: Key) -> bool:
        with self._lock:
            if key in self._merge:
                self._merge.discard(key)
                return True
            return False

    def wanted(self, key: Key, version: int) -> bool:
        """Whether to read the user's entry now: this version was seen once before without one
        (and the entry would fit)."""
        with self._lock:
            if self.max_bytes <= 0:
                return False
            again = self._seen.get(key) == version
            self._seen[key] = version
            self._seen.move_to_end(key)
            while len(self._seen) > 4096:
                self._seen.popitem(last=False)
            return again

    def put(self, key: Key, entry: Held) -> bool:
        """Keep ``entry`` (False when it alone exceeds the bound). The user's version counts as not
        seen again: an entry dropped for room is read again only at the second search after."""
        size = entry.nbytes
        with self._lock:
            self._seen.pop(key, None)
            if self._entries.pop(key, None) is not None:
                self._total -= self._sizes.pop(key)
            if size > self.max_bytes:
                return False
            self._entries[key] = entry
            self._sizes[key] = size
            self._total += size
            self._fit(key)
            return True

    def recount(self, key: Key, entry: Held) -> None:
        """After a search of ``entry``, held under ``key``: its bytes counted again with the
        phrases the search kept with it, the least recently used other entries dropped for them;
        its phrases dropped instead when with them it would not fit alone (computed again when a
        search asks: the same postings)."""
        with self._lock:
            if self._entries.get(key) is not entry:
                return
            size = entry.nbytes
            if size > self.max_bytes:
                entry.drop_phrases()
                size = entry.nbytes
            self._total += size - self._sizes[key]
            self._sizes[key] = size
            self._fit(key)

    def _fit(self, key: Key) -> None:
        """Under the lock: drop the least recently used entries but ``key``'s until the total fits."""
        for other in list(self._entries):
            if self._total <= self.max_bytes:
                return
            if other != key:
                del self._entries[other]
                self._total -= self._sizes.pop(other)


def rank(
    user: Held,
    terms: Sequence[Term],
    w_rows: Sequence[tuple[int, int, float]],
    averages: tuple[float, float],
    depth: int,
    k: int,
    allowed: npt.NDArray[np.bool_] | None,
) -> list[tuple[str, float]]:
    """The score statement's result over ``user``'s documents (module docstring): ``w_rows`` are
    its (field, group, weight) rows in order, ``allowed`` the documents the scope's filters keep
    (None: all)."""
    n = len(user.ids)
    total = np.zeros(n, dtype=np.float64)
    hit = np.zeros(n, dtype=bool)
    lengths = (user.own_len, user.ctx_len)
    for fld, grp, weight in w_rows:
        group = [t for t in terms if t.group == grp]
        singles = sorted((t for t in group if len(t.lexemes) == 1), key=lambda t: t.lexemes[0].encode())
        ordered = [*singles, *(t for t in group if len(t.lexemes) != 1)]
        score = np.zeros(n, dtype=np.float64)
        present = np.zeros(n, dtype=bool)
        norm = _ONE_MINUS_B + (_B * lengths[fld]) / averages[fld]
        for t in ordered:
            docs, freq = user.fields[fld].of(t.lexemes[0]) if len(t.lexemes) == 1 else user.phrase(fld, t)
            if not len(docs):
                continue
            tf = freq.astype(np.float64)
            idf = t.idf_own if fld == 0 else t.idf_ctx
            score[docs] += idf * tf * _K1P / (tf + _K1 * norm[docs])
            present[docs] = True
        if allowed is not None:
            present &= allowed
        places = np.flatnonzero(present)
        if not len(places):
            continue
        scores = score[places]
        if len(places) > depth:
            cut = np.partition(scores, len(scores) - depth)[len(scores) - depth]
            keep = scores >= cut
            places, scores = places[keep], scores[keep]
        order = np.lexsort((user.seqs[places], -scores))[:depth]  # ties to the smaller seq (LaidOver: not place order)
        places, scores = places[order], scores[order]
        total[places] += scores * weight
        hit[places] = True
    found = np.flatnonzero(hit)
    if not len(found):
        return []
    scores = total[found]
    if len(found) > k:
        cut = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= cut
        found, scores = found[keep], scores[keep]
    ranked = sorted(
        ((user.ids[int(p)], float(s)) for p, s in zip(found, scores, strict=True)), key=lambda r: (-r[1], r[0])
    )
    return ranked[:k]
