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

__all__ = ["LexicalRow", "PostgresLexical"]


DEFAULT_POSTINGS_BYTES = 256 << 20  # users' postings a process keeps in memory (postings.py)
JOURNAL_VERSIONS = 256  # a user's last versions whose documents are journaled (a held entry is patched)
_PATCH_SHARE = 0.25  # a held entry is patched while the documents to read are at most this share of it
_PATCH_MIN = 1_000  # (or at most this many)
_SLACK = 0.5  # the most the terms left out of a large scope's match may add to a score (see search)


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
                    return rank(
                        entry,
                        plan.terms,
                        w_rows,
                        (plan.avg_own, plan.avg_ctx),
                        depth,
                        k,
                        allowed,
                    )
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
    def _terms(conn: Conn, tenant: str, ids: Sequence[str], sign: int) -> None:
        """Add (``sign`` 1) or take out (-1) the lexemes of ``ids``' tsvectors from the tenant's
        document frequencies, in lexeme order, in one statement, then their adjacent lexeme pairs
        (``lexical_pairs``, a two-lexeme phrase's frequency) in pair order; a lexeme or pair no
        document holds any more is deleted (a forgotten word leaves no row). Every caller has updated
        ``lexical_stats`` first in the same transaction, so writers of one tenant queue on that row
        and never deadlock here."""
        if not ids:
            return
        PostgresLexical._count(conn, "lexical_terms", "lexeme", "unnest({})", tenant, ids, sign)
        PostgresLexical._count(conn, "lexical_pairs", "pair", "tsvector_pairs({})", tenant, ids, sign)

    @staticmethod
    def _count(conn: Conn, table: str, key: str, rows_of: str, tenant: str, ids: Sequence[str], sign: int) -> None:
        """One of :meth:`_terms`' two counts: ``table`` keyed by ``key`` (a lexeme or a pair), whose
        values are the rows of ``rows_of`` over each of ``ids``' tsvectors; its names are this
        module's constants, never input."""
        own, ctx = rows_of.format("i.own_tsv"), rows_of.format("i.ctx_tsv")
        rows = conn.execute(
            f"INSERT INTO {table} AS t (tenant, {key}, own_df, ctx_df)"
            f" SELECT %(tenant)s, x.{key}, %(sign)s * sum(x.own), %(sign)s * sum(x.ctx) FROM ("
            f" SELECT u.{key}, 1 AS own, 0 AS ctx FROM items i, {own} u({key})"
            " WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s)"
            f" UNION ALL SELECT u.{key}, 0, 1 FROM items i, {ctx} u({key})"
            " WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s)"
            f') AS x GROUP BY x.{key} ORDER BY x.{key} COLLATE "C"'
            f" ON CONFLICT (tenant, {key}) DO UPDATE"
            " SET own_df = t.own_df + excluded.own_df, ctx_df = t.ctx_df + excluded.ctx_df"
            f" RETURNING t.{key}, t.own_df <= 0 AND t.ctx_df <= 0",
            {"tenant": tenant, "ids": list(ids), "sign": sign},
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
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE lex_own IS NOT NULL), coalesce(sum(own_len), 0),"
            " count(*) FILTER (WHERE coalesce(lex_context, '') <> ''), coalesce(sum(ctx_len), 0)"
            " FROM items WHERE tenant = %s AND id = ANY(%s)",
            [tenant, list(ids)],
        ).fetchone()
        if row is not None and (row[0] or row[2]):
            self._stats(conn, tenant, -int(row[0]), -int(row[1]), -int(row[2]), -int(row[3]))
            self._bump(conn, tenant, ids)
            self._terms(conn, tenant, ids, -1)

    def put(self, conn: Conn, tenant: str, item_id: str, document: LexicalDocument) -> None:
        """Replace the lexical document of an existing item (see :meth:`put_many`)."""
        self.put_many(conn, tenant, {item_id: document})

    def put_many(self, conn: Conn, tenant: str, documents: Mapping[str, LexicalDocument]) -> None:
        """Replace the lexical documents of existing items (ids not stored are skipped): their
        previous documents out of the tenant's statistics, the new ones in, in a few statements
        whatever their number."""
        ids = list(documents)
        if not ids:
            return
        self.unindex(conn, tenant, ids)
        rows = [LexicalRow.of(documents[i]) for i in ids]
        found = conn.execute(
            f"UPDATE items SET lex_own = u.own, lex_context = u.ctx, own_tsv = to_tsvector('{TEXT_CONFIG}', u.own_norm),"
            f" own_len = u.own_len, ctx_tsv = CASE WHEN u.has_ctx THEN to_tsvector('{TEXT_CONFIG}', u.ctx_norm) END,"
            " ctx_len = u.ctx_len FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::bool[],"
            " %s::text[], %s::int[]) AS u(id, own, ctx, own_norm, own_len, has_ctx, ctx_norm, ctx_len)"
            " WHERE items.tenant = %s AND items.id = u.id RETURNING items.id",
            [
                ids,
                [r.own for r in rows],
                [r.context for r in rows],
                [r.own_norm for r in rows],
                [r.own_len for r in rows],
                [r.has_context for r in rows],
                [r.ctx_norm for r in rows],
                [r.ctx_len for r in rows],
                tenant,
            ],
        ).fetchall()
        stored = {row[0] for row in found}
        self.count_in(conn, tenant, [(i, r) for i, r in zip(ids, rows, strict=True) if i in stored])

    def count_in(self, conn: Conn, tenant: str, documents: Sequence[tuple[str, LexicalRow]]) -> None:
        """Add the documents of these stored items (id, its :class:`LexicalRow`) to the tenant's
        statistics: its counts, then its document frequencies."""
        if not documents:
            return
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
        self._terms(conn, tenant, [i for i, _ in documents], 1)


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
