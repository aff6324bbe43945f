"""The lexical index on PostgreSQL: BM25 search over the items' tsvectors (the SQL is in
:mod:`outcrop.stores.postgres.bm25`), and the per-tenant collection statistics the writes keep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from outcrop.core.types import Scope
from outcrop.stores.base import LexicalDocument, ScoredId, SearchFilters
from outcrop.stores.postgres.bm25 import (
    K1,
    LexicalPlan,
    Term,
    make_plan,
    named,
    normalize,
    plan_sql,
    score_sql,
    token_count,
)
from outcrop.stores.postgres.connection import Connections
from outcrop.stores.postgres.postings import Held, PostingsCache, laid_over, load_user, numbers, rank
from outcrop.stores.postgres.schema import TEXT_CONFIG
from outcrop.stores.postgres.sqlparts import Conn, ScopeSizes, pg, where
from outcrop.stores.sql import scope_clause

__all__ = ["LexicalRow", "PostgresLexical", "TakenOut"]


DEFAULT_POSTINGS_BYTES = 256 << 20  # users' postings a process keeps in memory (postings.py)
JOURNAL_VERSIONS = 256  # a user's last versions whose documents are journaled (a held entry is patched)
_PATCH_SHARE = 0.25  # a held entry is patched while the documents to read are at most this share of it
_PATCH_MIN = 1_000  # (or at most this many)
_SLACK = 0.5  # the most the terms left out of a large scope's match may add to a score (see search)


def _net(rows_of: str) -> str:
    """The net change of each value of ``rows_of`` (``unnest`` or ``tsvector_pairs``) over the
    documents replaced: -1 for each previous document (``old``), +1 for each new one (``new``), in
    each field; the values whose change is nil are left out."""
    parts = [
        f"SELECT u.k, {own} AS own, {ctx} AS ctx FROM {src} d, {rows_of.format(f'd.{col}')} u(k)"
        for src, col, own, ctx in (
            ("old", "own_tsv", -1, 0),
            ("old", "ctx_tsv", 0, -1),
            ("new", "own_tsv", 1, 0),
            ("new", "ctx_tsv", 0, 1),
        )
    ]
    return (
        f"SELECT x.k, sum(x.own) AS own, sum(x.ctx) AS ctx FROM ({' UNION ALL '.join(parts)}) AS x"
        " GROUP BY x.k HAVING sum(x.own) <> 0 OR sum(x.ctx) <> 0"
    )


def _upsert(table: str, key: str, deltas: str) -> str:
    """Add the net changes of CTE ``deltas`` to ``table`` in key order, as :meth:`PostgresLexical._count`
    adds its counts; each row written, and whether no document holds its key any more."""
    return (
        f"INSERT INTO {table} AS t (tenant, {key}, own_df, ctx_df)"
        f' SELECT %(tenant)s, k, own, ctx FROM {deltas} ORDER BY k COLLATE "C"'
        f" ON CONFLICT (tenant, {key}) DO UPDATE SET own_df = t.own_df + excluded.own_df,"
        " ctx_df = t.ctx_df + excluded.ctx_df"
        f" RETURNING '{table}'::text AS tab, t.{key} AS k, t.own_df <= 0 AND t.ctx_df <= 0 AS gone"
    )


# take_out's read: each lexeme's and pair's -1 per field over the documents of ``ids``
_TAKEN_SQL = " UNION ALL ".join(
    f"SELECT '{table}', k, sum(own)::int, sum(ctx)::int FROM (SELECT u.k, -1 AS own, 0 AS ctx FROM items i,"
    f" {rows_of.format('i.own_tsv')} u(k) WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s) UNION ALL"
    f" SELECT u.k, 0, -1 FROM items i, {rows_of.format('i.ctx_tsv')} u(k)"
    f" WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s)) AS {alias} GROUP BY k"
    for table, rows_of, alias in (("lexical_terms", "unnest({})", "l"), ("lexical_pairs", "tsvector_pairs({})", "p"))
).encode()


# put_many's one statement: the previous tsvectors (``old``: the statement's snapshot, before its
# update), the rows' update (``new``: its RETURNING gives the new tsvectors), and each lexeme's and
# pair's net change added to the tenant's frequencies; it returns the keys no document holds now
_PUT_SQL = (
    "WITH old AS (SELECT own_tsv, ctx_tsv FROM items WHERE tenant = %(tenant)s AND id = ANY(%(ids)s)),"
    " new AS (UPDATE items SET lex_own = u.own, lex_context = u.ctx,"
    f" own_tsv = to_tsvector('{TEXT_CONFIG}', u.own_norm), own_len = u.own_len,"
    f" ctx_tsv = CASE WHEN u.has_ctx THEN to_tsvector('{TEXT_CONFIG}', u.ctx_norm) END, ctx_len = u.ctx_len"
    " FROM unnest(%(ids)s::text[], %(own)s::text[], %(ctx)s::text[], %(own_norm)s::text[], %(own_len)s::int[],"
    " %(has_ctx)s::bool[], %(ctx_norm)s::text[], %(ctx_len)s::int[])"
    " AS u(id, own, ctx, own_norm, own_len, has_ctx, ctx_norm, ctx_len)"
    " WHERE items.tenant = %(tenant)s AND items.id = u.id RETURNING items.own_tsv, items.ctx_tsv),"
    f" dl AS ({_net('unnest({})')}), dp AS ({_net('tsvector_pairs({})')}),"
    f" tl AS ({_upsert('lexical_terms', 'lexeme', 'dl')}), tp AS ({_upsert('lexical_pairs', 'pair', 'dp')})"
    " SELECT tab, k FROM tl WHERE gone UNION ALL SELECT tab, k FROM tp WHERE gone"
).encode()


def _bound(term: Term, field: int) -> float:
    """The most ``term`` adds to a document's BM25 in ``field`` (0 own, 1 context): tf / (tf + K) < 1."""
    return (K1 + 1.0) * (term.idf_own if field == 0 else term.idf_ctx)


class PostgresLexical:
    """See :class:`outcrop.stores.base.LexicalIndex`.

    A scope of :attr:`large_scope` items or more (a user of years of turns) would have every
    match of its near-stopwords scored (a year in every dated turn: "2023" in 78k of a 100k-turn
    user's documents, IDF at the 1e-6 floor; the statement scored 86k candidates, 1.6 s): the
    one-lexeme terms whose bounds ``(k1 + 1) * idf`` sum to at most :data:`_SLACK` are left out
    of the candidates' match (MaxScore's non-essential terms) and still scored on every candidate.
    A document that matches only left-out terms scores at most their bounds' sum in a (field,
    group) ranking; when at least ``depth`` candidates of every such ranking score above that sum,
    no such document reaches its cut, so the top ``depth`` of each ranking, and the result, are
    those of the full statement, the same rows and the same arithmetic. The statement checks that
    itself; when it does not hold, the full statement runs after it.

    A user's search is scored from the user's postings held in memory instead
    (:mod:`~outcrop.stores.postgres.postings`: the statement's ids and scores to the bit) while the
    user's lexical version is the one they were read at; the writes here move it
    (``lexical_users``, in the write's transaction); a held entry of an older version is patched
    with the documents the journal says the writes between touched. A search without a user, and
    a user not held (at its first search of a version), run the statement."""

    large_scope: int = 10_000

    def __init__(self, connections: Connections, postings_cache_bytes: int = DEFAULT_POSTINGS_BYTES) -> None:
        self._db = connections
        self._sizes = ScopeSizes()
        self.postings = PostingsCache(postings_cache_bytes)  # a user's postings in memory (postings.py)

    def search(
        self,
        scope: Scope,
        terms: dict[str, float],
        k: int,
        filters: SearchFilters | None = None,
        context_weight: float = 0.0,
    ) -> list[ScoredId]:
        if not terms or k <= 0:
            return []
        weights: list[float] = []
        groups: list[int] = []
        texts: list[str] = []
        for term, weight in terms.items():
            w = round(weight, 3)
            if w not in weights:
                weights.append(w)
            groups.append(weights.index(w))
            texts.append(normalize(term))
        with_context = context_weight > 0
        clause, params = where(scope, filters, alias="i")
        where_named, where_params = named(clause.replace("%s", "?"), params)
        user = scope.user_id
        with self._db.tx(scope.tenant) as conn:
            plan_rows = conn.execute(
                plan_sql(with_context, versioned=user is not None).encode(),
                {"terms": texts, "tenant": scope.tenant, "user": user},
            ).fetchall()
            plan = make_plan(plan_rows, groups)
            if not plan.terms:
                return []
            used = sorted({t.group for t in plan.terms})
            fields = [(0, 1.0)] + ([(1, context_weight)] if with_context else [])
            w_rows = [(f, g, weights[g] * fw) for f, fw in fields for g in used]
            depth = max(k, 1) * (1 if len(weights) * len(fields) == 1 else 3)
            params_by_name = {
                "grp": [t.group for t in plan.terms],
                "tsq": [t.tsquery for t in plan.terms],
                "lex": [" ".join(t.lexemes) for t in plan.terms],
                "idf_own": [t.idf_own for t in plan.terms],
                "idf_ctx": [t.idf_ctx for t in plan.terms],
                "any": plan.any_query,
                "lexemes": sorted({lexeme for t in plan.terms for lexeme in t.lexemes}),
                "avg_own": plan.avg_own,
                "avg_ctx": plan.avg_ctx,
                "w_field": [r[0] for r in w_rows],
                "w_grp": [r[1] for r in w_rows],
                "w_weight": [r[2] for r in w_rows],
                "depth": depth,
                "k": k,
                **where_params,
            }
            if user is not None:
                version = next((int(r[3]) for r in plan_rows if int(r[0]) == -3), 0)
                entry = self._held(conn, scope.tenant, user, version)
                if entry is not None:
                    allowed = None
                    if (
                        scope.agent_id is not None
                        or scope.session_id is not None
                        or not (filters is None or filters.empty)
                    ):
                        row = conn.execute(
                            f"SELECT string_agg(i.seq::text, ',') FROM items i WHERE {clause}".encode(), params
                        ).fetchone()
                        allowed = np.zeros(len(entry.ids), dtype=bool)
                        allowed[entry.places(numbers(row[0] if row else None))] = True
                    ranked = rank(
                        entry,
                        plan.terms,
                        w_rows,
                        (plan.avg_own, plan.avg_ctx),
                        depth,
                        k,
                        allowed,
                    )
                    self.postings.recount((scope.tenant, user), entry)  # the phrases it kept count
                    return ranked
            left = self._left_out(plan, with_context)
            if left and self._sizes.reaches(conn, clause, params, self.large_scope):
                kept = [t for t in plan.terms if t.tsquery not in left]
                slack = [
                    sum(_bound(t, f) for t in plan.terms if t.tsquery in left and t.group == g) for f, g, _ in w_rows
                ]
                rows = conn.execute(
                    score_sql(where_named, with_context, checked=True).encode(),
                    {**params_by_name, "any": " | ".join(f"({t.tsquery})" for t in kept), "w_slack": slack},
                ).fetchall()
                if rows and rows[0][2] is not False:
                    return [(row[0], float(row[1])) for row in rows]
            rows = conn.execute(score_sql(where_named, with_context).encode(), params_by_name).fetchall()
        return [(row[0], float(row[1])) for row in rows]

    def _held(self, conn: Conn, tenant: str, user: str, version: int) -> Held | None:
        """The user's postings at ``version``: kept, or read now if this version was seen before
        without them (postings.py); None to score in SQL."""
        if self.postings.max_bytes <= 0:
            return None
        key = (tenant, user)
        entry = self.postings.get(key, version)
        if entry is None:
            entry = self._patched(conn, tenant, user, version)
        if entry is None and self.postings.wanted(key, version):
            entry = load_user(conn, tenant, user, version)
        if entry is not None and self.postings.get(key, version) is not entry:
            self.postings.put(key, entry)
        return entry

    def _patched(self, conn: Conn, tenant: str, user: str, version: int) -> Held | None:
        """The user's held entry of an older version patched to ``version`` with the documents the
        journal says the versions between touched (read now, as a whole read would read them);
        None when there is no older entry, the journal lacks a version between, or the documents
        are more than :data:`_PATCH_MIN` and :data:`_PATCH_SHARE` of the entry."""
        old = self.postings.latest((tenant, user))
        if old is None or old.version >= version:
            return None
        rows = conn.execute(
            "SELECT version, seqs, ids FROM lexical_journal WHERE tenant = %s AND user_key = md5(%s)::uuid"
            " AND version > %s AND version <= %s",
            [tenant, user, old.version, version],
        ).fetchall()
        if len(rows) != version - old.version:
            return None
        touched = np.unique(np.array([int(q) for row in rows for q in row[1]], dtype=np.int64))
        if len(touched) > max(_PATCH_MIN, _PATCH_SHARE * len(old.ids)):
            return None
        ids = sorted({str(i) for row in rows for i in row[2]})
        merge = self.postings.take_merge((tenant, user))  # a forget of this process
        # a forget of another process: what it erased leaves this process's memory too
        merge |= bool(ids) and bool(
            conn.execute(
                "SELECT 1 FROM forgotten_ids WHERE tenant = %s AND id = ANY(%s) LIMIT 1", [tenant, ids]
            ).fetchall()
        )
        return laid_over(old, touched, ids, lambda only: load_user(conn, tenant, user, version, only=only), merge=merge)

    @staticmethod
    def _left_out(plan: LexicalPlan, with_context: bool) -> set[str]:
        """The near-stopwords a large scope's candidates need not match (MaxScore's non-essential
        terms): one-lexeme terms, fewest-bound first, while their bounds ``(k1 + 1) * idf`` (the
        larger field's) sum to at most :data:`_SLACK`; a lexeme left out of every term that holds
        it; none when that would leave nothing to match."""
        bounds: dict[str, float] = {}
        for t in plan.terms:
            if len(t.lexemes) != 1:  # a phrase is always matched
                continue
            bounds[t.tsquery] = bounds.get(t.tsquery, 0.0) + max(_bound(t, 0), _bound(t, 1) if with_context else 0.0)
        left: set[str] = set()
        total = 0.0
        for term in sorted(bounds, key=lambda q: bounds[q]):
            if total + bounds[term] > _SLACK:
                break
            left.add(term)
            total += bounds[term]
        return left if len(left) < len({t.tsquery for t in plan.terms}) else set()

    def documents(self, scope: Scope, ids: Sequence[str]) -> dict[str, LexicalDocument]:
        clause, params = scope_clause(scope)
        rows = self._db.query(
            scope.tenant,
            f"SELECT id, lex_own, lex_context FROM items WHERE id = ANY(%s) AND lex_own IS NOT NULL AND {pg(clause)}",
            [list(ids), *params],
        )
        return {row[0]: LexicalDocument(row[1], row[2] or "") for row in rows}

    # -- rows, inside the writer's transaction ----------------------------------------------------
    @staticmethod
    def _stats(conn: Conn, tenant: str, own_docs: int, own_tokens: int, ctx_docs: int, ctx_tokens: int) -> None:
        conn.execute(
            "INSERT INTO lexical_stats AS s (tenant, own_docs, own_tokens, ctx_docs, ctx_tokens)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant) DO UPDATE SET"
            " own_docs = s.own_docs + excluded.own_docs, own_tokens = s.own_tokens + excluded.own_tokens,"
            " ctx_docs = s.ctx_docs + excluded.ctx_docs, ctx_tokens = s.ctx_tokens + excluded.ctx_tokens",
            [tenant, own_docs, own_tokens, ctx_docs, ctx_tokens],
        )

    @staticmethod
    def _terms(conn: Conn, tenant: str, ids: Sequence[str], sign: int, taken: TakenOut | None = None) -> None:
        """Add (``sign`` 1) or take out (-1) the lexemes of ``ids``' tsvectors from the tenant's
        document frequencies, in lexeme order, in one statement, then their adjacent lexeme pairs
        (``lexical_pairs``, a two-lexeme phrase's frequency) in pair order; a lexeme or pair no
        document holds any more is deleted (a forgotten word leaves no row). ``taken``: the counts
        of documents taken out earlier in the transaction (:meth:`take_out`), applied here with
        them, each key's net change once (a key whose change is nil is not written). Every caller
        has updated ``lexical_stats`` first in the same transaction, so writers of one tenant queue
        on that row and never deadlock here."""
        if not ids and not (taken and taken.keys):
            return
        for table, key, rows_of in (
            ("lexical_terms", "lexeme", "unnest({})"),
            ("lexical_pairs", "pair", "tsvector_pairs({})"),
        ):
            earlier = taken.of(table) if taken is not None else ([], [], [])
            PostgresLexical._count(conn, table, key, rows_of, tenant, ids, sign, earlier)

    @staticmethod
    def _count(
        conn: Conn,
        table: str,
        key: str,
        rows_of: str,
        tenant: str,
        ids: Sequence[str],
        sign: int,
        earlier: tuple[list[str], list[int], list[int]] = ([], [], []),
    ) -> None:
        """One of :meth:`_terms`' two counts: ``table`` keyed by ``key`` (a lexeme or a pair), whose
        values are the rows of ``rows_of`` over each of ``ids``' tsvectors, plus the changes
        ``earlier`` (keys, own, ctx); its names are this module's constants, never input."""
        own, ctx = rows_of.format("i.own_tsv"), rows_of.format("i.ctx_tsv")
        rows = conn.execute(
            f"INSERT INTO {table} AS t (tenant, {key}, own_df, ctx_df)"
            f" SELECT %(tenant)s, x.{key}, sum(x.own), sum(x.ctx) FROM ("
            f" SELECT u.{key}, %(sign)s AS own, 0 AS ctx FROM items i, {own} u({key})"
            " WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s)"
            f" UNION ALL SELECT u.{key}, 0, %(sign)s FROM items i, {ctx} u({key})"
            " WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s)"
            f" UNION ALL SELECT * FROM unnest(%(keys)s::text[], %(own)s::int[], %(ctx)s::int[])"
            f") AS x GROUP BY x.{key} HAVING sum(x.own) <> 0 OR sum(x.ctx) <> 0"
            f' ORDER BY x.{key} COLLATE "C"'
            f" ON CONFLICT (tenant, {key}) DO UPDATE"
            " SET own_df = t.own_df + excluded.own_df, ctx_df = t.ctx_df + excluded.ctx_df"
            f" RETURNING t.{key}, t.own_df <= 0 AND t.ctx_df <= 0",
            {
                "tenant": tenant,
                "ids": list(ids),
                "sign": sign,
                "keys": earlier[0],
                "own": earlier[1],
                "ctx": earlier[2],
            },
        ).fetchall()
        gone = sorted((row[0] for row in rows if row[1]), key=lambda value: value.encode())
        if gone:
            conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND {key} = ANY(%s)", [tenant, gone])

    @staticmethod
    def _bump(conn: Conn, tenant: str, ids: Sequence[str]) -> None:
        """Move the lexical version of the users of ``ids`` (their kept postings are stale from this
        write's commit on), in user key order, and journal the seqs of ``ids`` under each user's
        new version (its last :data:`JOURNAL_VERSIONS` kept); after ``lexical_stats``, on which
        writers of one tenant queue, so never a deadlock here."""
        conn.execute(
            "WITH x AS (SELECT md5(user_id)::uuid AS k, array_agg(seq ORDER BY seq) AS seqs, array_agg(id ORDER BY seq) AS ids FROM items"
            " WHERE tenant = %(tenant)s AND id = ANY(%(ids)s) GROUP BY 1),"
            " v AS (INSERT INTO lexical_users AS v (tenant, user_key, version)"
            " SELECT %(tenant)s, x.k, 1 FROM x ORDER BY x.k"
            " ON CONFLICT (tenant, user_key) DO UPDATE SET version = v.version + 1 RETURNING v.user_key, v.version),"
            " gone AS (DELETE FROM lexical_journal j USING v WHERE j.tenant = %(tenant)s AND j.user_key = v.user_key"
            " AND j.version <= v.version - %(kept)s)"
            " INSERT INTO lexical_journal (tenant, user_key, version, seqs, ids)"
            " SELECT %(tenant)s, v.user_key, v.version, x.seqs, x.ids FROM v JOIN x ON x.k = v.user_key",
            {"tenant": tenant, "ids": list(ids), "kept": JOURNAL_VERSIONS},
        )

    def unindex(self, conn: Conn, tenant: str, ids: Sequence[str]) -> None:
        """Take the lexical documents of ``ids`` out of the tenant's BM25 statistics."""
        if self._counts_out(conn, tenant, ids):
            self._terms(conn, tenant, ids, -1)

    def take_out(self, conn: Conn, tenant: str, ids: Sequence[str]) -> TakenOut | None:
        """:meth:`unindex` for a writer that writes documents again in the same transaction (a
        replaced item): the counts out of ``lexical_stats`` and the version bumped now, before the
        rows go, and the documents' lexemes and pairs read (their -1 per field) for
        :meth:`count_in` to apply with the new documents' (:meth:`_terms`), so that a lexeme or
        pair both hold is not written at all. None when none of ``ids`` had a document."""
        if not self._counts_out(conn, tenant, ids):
            return None
        keys = conn.execute(_TAKEN_SQL, {"tenant": tenant, "ids": list(ids)}).fetchall()
        return TakenOut([(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in keys])

    def _counts_out(self, conn: Conn, tenant: str, ids: Sequence[str]) -> bool:
        """The counts of ``ids``' documents out of ``lexical_stats`` and their users' versions
        bumped; False (nothing done) when none of them has a document."""
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE lex_own IS NOT NULL), coalesce(sum(own_len), 0),"
            " count(*) FILTER (WHERE coalesce(lex_context, '') <> ''), coalesce(sum(ctx_len), 0)"
            " FROM items WHERE tenant = %s AND id = ANY(%s)",
            [tenant, list(ids)],
        ).fetchone()
        if row is None or not (row[0] or row[2]):
            return False
        self._stats(conn, tenant, -int(row[0]), -int(row[1]), -int(row[2]), -int(row[3]))
        self._bump(conn, tenant, ids)
        return True

    def put(self, conn: Conn, tenant: str, item_id: str, document: LexicalDocument) -> None:
        """Replace the lexical document of an existing item (see :meth:`put_many`)."""
        self.put_many(conn, tenant, {item_id: document})

    def put_many(self, conn: Conn, tenant: str, documents: Mapping[str, LexicalDocument]) -> None:
        """Replace the lexical documents of existing items (ids not stored are skipped): their
        previous documents out of the tenant's statistics, the new ones in, in a few statements
        whatever their number.

        What :meth:`unindex` then :meth:`count_in` would leave, in fewer statements and row
        writes: the counts' net change in one ``lexical_stats`` update (first, as every writer's),
        both version bumps, and the rows' update with each lexeme's and pair's *net* change in one
        statement (:data:`_PUT_SQL`): a lexeme or pair the old and new documents both hold is not
        written (a turn re-indexed for a new neighbour keeps its own field, and most of its
        context). The same counts as the two steps, and the same rows left."""
        ids = list(documents)
        if not ids:
            return
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE lex_own IS NOT NULL), coalesce(sum(own_len), 0),"
            " count(*) FILTER (WHERE coalesce(lex_context, '') <> ''), coalesce(sum(ctx_len), 0),"
            " array_agg(id) FROM items WHERE tenant = %s AND id = ANY(%s)",
            [tenant, ids],
        ).fetchone()
        stored = set(row[4] or []) if row is not None else set()
        if row is None or not stored:
            return  # none stored: nothing to take out, nothing to update
        rows = {i: LexicalRow.of(documents[i]) for i in ids}
        kept = [i for i in ids if i in stored]
        with_context = [rows[i] for i in kept if rows[i].has_context]
        self._stats(
            conn,
            tenant,
            len(kept) - int(row[0]),
            sum(rows[i].own_len for i in kept) - int(row[1]),
            len(with_context) - int(row[2]),
            sum(r.ctx_len for r in with_context) - int(row[3]),
        )
        if row[0] or row[2]:
            self._bump(conn, tenant, ids)  # the previous documents' version (unindex's)
        self._bump(conn, tenant, kept)  # the new documents' (count_in's)
        gone = conn.execute(
            _PUT_SQL,
            {
                "tenant": tenant,
                "ids": kept,
                "own": [rows[i].own for i in kept],
                "ctx": [rows[i].context for i in kept],
                "own_norm": [rows[i].own_norm for i in kept],
                "own_len": [rows[i].own_len for i in kept],
                "has_ctx": [rows[i].has_context for i in kept],
                "ctx_norm": [rows[i].ctx_norm for i in kept],
                "ctx_len": [rows[i].ctx_len for i in kept],
            },
        ).fetchall()
        for table, key in (("lexical_terms", "lexeme"), ("lexical_pairs", "pair")):
            values = sorted((g[1] for g in gone if g[0] == table), key=lambda value: value.encode())
            if values:
                conn.execute(f"DELETE FROM {table} WHERE tenant = %s AND {key} = ANY(%s)", [tenant, values])

    def count_in(
        self, conn: Conn, tenant: str, documents: Sequence[tuple[str, LexicalRow]], taken: TakenOut | None = None
    ) -> None:
        """Add the documents of these stored items (id, its :class:`LexicalRow`) to the tenant's
        statistics: its counts, then its document frequencies, with those of the documents
        ``taken`` out earlier in the transaction (:meth:`take_out`)."""
        if documents:
            rows = [r for _, r in documents]
            with_context = [r for r in rows if r.has_context]
            self._stats(
                conn,
                tenant,
                len(rows),
                sum(r.own_len for r in rows),
                len(with_context),
                sum(r.ctx_len for r in with_context),
            )
            self._bump(conn, tenant, [i for i, _ in documents])
        self._terms(conn, tenant, [i for i, _ in documents], 1, taken)


@dataclass
class TakenOut:
    """The lexemes and pairs of documents taken out of a tenant's statistics (:meth:`PostgresLexical.take_out`)
    whose document frequencies are still to be lowered, in the same transaction: (table, key,
    own change, context change) each."""

    keys: list[tuple[str, str, int, int]]

    def of(self, table: str) -> tuple[list[str], list[int], list[int]]:
        mine = [k for k in self.keys if k[0] == table]
        return [k[1] for k in mine], [k[2] for k in mine], [k[3] for k in mine]


@dataclass(frozen=True)
class LexicalRow:
    """An item's lexical columns as written: both fields as given, normalised for ``to_tsvector``,
    and their token counts (the context field's tsvector is NULL when it is empty)."""

    own: str
    context: str
    own_norm: str
    own_len: int
    has_context: bool
    ctx_norm: str
    ctx_len: int

    @classmethod
    def of(cls, document: LexicalDocument) -> LexicalRow:
        own, ctx = normalize(document.own), normalize(document.context)
        has_context = bool(document.context)
        return cls(
            document.own,
            document.context,
            own,
            token_count(own),
            has_context,
            ctx,
            token_count(ctx) if has_context else 0,
        )
