"""The lexical index on PostgreSQL: BM25 search over the items' tsvectors (the SQL is in
:mod:`outcrop.stores.postgres.bm25`), and the per-tenant collection statistics the writes keep."""

from __future__ import annotations

from collections.abc import Sequence

from outcrop.core.types import Scope
from outcrop.stores.base import LexicalDocument, ScoredId, SearchFilters
from outcrop.stores.postgres.bm25 import make_plan, named, normalize, plan_sql, score_sql, token_count
from outcrop.stores.postgres.connection import Connections
from outcrop.stores.postgres.schema import TEXT_CONFIG
from outcrop.stores.postgres.sqlparts import Conn, pg, where
from outcrop.stores.sql import scope_clause

__all__ = ["PostgresLexical"]


class PostgresLexical:
    """See :class:`outcrop.stores.base.LexicalIndex`."""

    def __init__(self, connections: Connections) -> None:
        self._db = connections

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
        with self._db.tx(scope.tenant) as conn:
            plan_rows = conn.execute(
                plan_sql(with_context).encode(), {"terms": texts, "tenant": scope.tenant}
            ).fetchall()
            plan = make_plan(plan_rows, groups)
            if not plan.terms:
                return []
            used = sorted({t.group for t in plan.terms})
            fields = [(0, 1.0)] + ([(1, context_weight)] if with_context else [])
            w_rows = [(f, g, weights[g] * fw) for f, fw in fields for g in used]
            depth = max(k, 1) * (1 if len(weights) * len(fields) == 1 else 3)
            rows = conn.execute(
                score_sql(where_named, with_context).encode(),
                {
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
                },
            ).fetchall()
        return [(row[0], float(row[1])) for row in rows]

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
        document frequencies, in lexeme order; a lexeme no document holds any more is deleted (a
        forgotten word leaves no row). Every caller has updated ``lexical_stats`` first in the same
        transaction, so writers of one tenant queue on that row and never deadlock here."""
        rows = conn.execute(
            "SELECT x.lexeme, sum(x.own), sum(x.ctx) FROM ("
            " SELECT u.lexeme, 1 AS own, 0 AS ctx FROM items i, unnest(i.own_tsv) u"
            " WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s)"
            " UNION ALL SELECT u.lexeme, 0, 1 FROM items i, unnest(i.ctx_tsv) u"
            " WHERE i.tenant = %(tenant)s AND i.id = ANY(%(ids)s)"
            ') AS x GROUP BY x.lexeme ORDER BY x.lexeme COLLATE "C"',
            {"tenant": tenant, "ids": list(ids)},
        ).fetchall()
        if not rows:
            return
        lexemes = [r[0] for r in rows]
        conn.execute(
            "INSERT INTO lexical_terms AS t (tenant, lexeme, own_df, ctx_df)"
            " SELECT %(tenant)s, u.lexeme, u.own, u.ctx FROM unnest(%(lexemes)s::text[], %(own)s::bigint[],"
            " %(ctx)s::bigint[]) AS u(lexeme, own, ctx)"
            " ON CONFLICT (tenant, lexeme) DO UPDATE"
            " SET own_df = t.own_df + excluded.own_df, ctx_df = t.ctx_df + excluded.ctx_df",
            {
                "tenant": tenant,
                "lexemes": lexemes,
                "own": [sign * int(r[1]) for r in rows],
                "ctx": [sign * int(r[2]) for r in rows],
            },
        )
        if sign < 0:
            conn.execute(
                "DELETE FROM lexical_terms WHERE tenant = %s AND lexeme = ANY(%s) AND own_df <= 0 AND ctx_df <= 0",
                [tenant, lexemes],
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
            self._terms(conn, tenant, ids, -1)

    def put(self, conn: Conn, tenant: str, item_id: str, document: LexicalDocument, replace: bool = True) -> None:
        """Store the lexical document of an existing item (its tsvectors, lengths and the tenant's
        statistics); ``replace`` first takes its previous document out of the statistics."""
        if replace:
            self.unindex(conn, tenant, [item_id])
        own, ctx = normalize(document.own), normalize(document.context)
        own_len, ctx_len = token_count(own), token_count(ctx) if document.context else 0
        conn.execute(
            f"UPDATE items SET lex_own = %s, lex_context = %s, own_tsv = to_tsvector('{TEXT_CONFIG}', %s),"
            f" own_len = %s, ctx_tsv = CASE WHEN %s THEN to_tsvector('{TEXT_CONFIG}', %s) END, ctx_len = %s"
            " WHERE tenant = %s AND id = %s",
            [document.own, document.context, own, own_len, bool(document.context), ctx, ctx_len, tenant, item_id],
        )
        self._stats(conn, tenant, 1, own_len, 1 if document.context else 0, ctx_len)
        self._terms(conn, tenant, [item_id], 1)
