"""A PostgreSQL user's held postings read whole, and patched after a write (``postings.patch``),
on a store ``bench/scale.py --stores postgres`` built; and what ``0015_lexical_pairs`` keeps there.

    python bench/scale_profile.py ... (first, so the store is migrated), then
    python bench/pg_patch.py [--dir /work/scale-stores/pg-full] [--user big] [--touched 5] [--rounds 2]

Starts the store's server (``--dir/postgres/pg``, as ``bench/scale.py`` does) and, reading only:
times the migration's fill ``SELECT`` of the adjacent lexeme pairs over every item (not inserted),
sizes ``lexical_pairs`` and ``lexical_terms``, then ``--rounds`` times reads ``--user``'s entry
whole (``load_user``), reads its last ``--touched`` documents alone (the patch's read, by id) and
merges them in (``patch``: the documents taken out and put back, as after a write re-indexing them).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent

_FILL = """
    SELECT count(*) FROM (SELECT tenant, pair, sum(own), sum(ctx) FROM (
        SELECT i.tenant, x.pair, 1 AS own, 0 AS ctx FROM items i, tsvector_pairs(i.own_tsv) x(pair)
        UNION ALL
        SELECT i.tenant, x.pair, 0, 1 FROM items i, tsvector_pairs(i.ctx_tsv) x(pair)
    ) AS x GROUP BY tenant, pair) AS y
"""
_SIZE = (
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relname LIKE %s AND c.relkind = 'r'"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=Path("/work/scale-stores/pg-full"))
    parser.add_argument("--user", default="big")
    parser.add_argument("--touched", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import scale

    from outcrop.stores.postgres.postings import load_user, patch
    from outcrop.stores.postgres.schema import SCHEMA

    table = Table(title=f"{args.user}'s held postings ({args.dir})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    with scale.local_postgres(args.dir / "postgres" / "pg") as server:
        url = scale.postgres_database(server, "crowded")
        with psycopg.connect(url) as conn:
            conn.execute(f"SET search_path TO {SCHEMA}, public")
            started = time.perf_counter()
            row = conn.execute(_FILL).fetchone()
            table.add_row("0015's fill: pairs counted", f"{int(str(row[0])) if row else 0:,}")
            table.add_row("0015's fill: seconds (SELECT alone)", f"{time.perf_counter() - started:.1f}")
            for name in ("lexical_pairs", "lexical_terms"):
                size = conn.execute(_SIZE, [f"{name}%"]).fetchone()
                table.add_row(f"{name} MB", f"{float(str(size[0] if size else 0)) / 1e6:.1f}")
            for n in range(args.rounds):
                started = time.perf_counter()
                with conn.transaction():
                    entry = load_user(conn, "default", args.user, 0)
                whole = time.perf_counter() - started
                ids = entry.ids[-args.touched :]
                started = time.perf_counter()
                with conn.transaction():
                    delta = load_user(conn, "default", args.user, 1, only=ids)
                read = time.perf_counter() - started
                started = time.perf_counter()
                patched = patch(entry, entry.seqs[-args.touched :], delta)
                merge = time.perf_counter() - started
                assert patched.ids == entry.ids
                table.add_row(f"#{n + 1} whole read s / entry MB", f"{whole:.2f} / {entry.nbytes / 1e6:.0f}")
                table.add_row(
                    f"#{n + 1} patch of {args.touched}: read / merge ms", f"{read * 1e3:.1f} / {merge * 1e3:.0f}"
                )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
