"""Large scopes on SQLite: the approximate (HNSW) index against the exact scan — recall of the
approximate top-10 against the exact top-10, latency, build, load and file size.

    python bench/ann_recall.py [--sizes 20000,100000] [--queries 300] [--copies 1] [--data ../shared/data/locomo/locomo-dev.json]

The scopes: every distinct LoCoMo turn of ``--data`` embedded by the real model (3,434 in the dev
file), and past them "realistic" vectors: a mixture of two real turn vectors (weights 0.5–1 and
the rest) plus a little Gaussian noise, normalised, so the scope is as dense as a long history
of similar conversation and no two vectors are equal (exact ties would make recall depend on
tie-breaking). ``--copies N`` makes each scope N copies each of ``size / N`` such
vectors, shuffled (a history that says the same things again, as ``bench/scale.py``'s users do,
each text ~30 times): then recall is counted tie-aware (an approximate hit counts when its exact
score is at least the exact 10th score). They are written through the store (``records.write``: items, lexical documents and
vectors in one transaction per batch), one user per size, agents ``a``/``b`` alternating and 200
sessions. Queries: LoCoMo questions embedded by the real model. Timed: ``store.vectors.search``
(the dense channel alone, k=10), one query at a time, after one warm-up search; "exact" is the
same store opened with ``ann_min_vectors=0``. Recall@10: the share of the exact top-10 ids the
approximate top-10 holds, averaged over the questions.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from outcrop.core.ids import new_id
from outcrop.core.time import now
from outcrop.core.types import Item, Level, Scope
from outcrop.providers import load_embedder
from outcrop.stores.base import SearchFilters, VectorSpace, WriteBatch
from outcrop.stores.registry import open_store
from outcrop.stores.sqlite import SQLiteStore

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
_BATCH = 5000


def texts(data: Path) -> tuple[list[str], list[str]]:
    """The distinct turns and questions of the LoCoMo file."""
    turns: list[str] = []
    questions: list[str] = []
    for sample in json.loads(data.read_text()):
        for key, value in sample["conversation"].items():
            if key.startswith("session_") and isinstance(value, list):
                turns += [t["text"] for t in value]
        questions += [qa["question"] for qa in sample["qa"]]
    return list(dict.fromkeys(turns)), list(dict.fromkeys(questions))


def realistic(base: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``base`` itself, then mixtures of two of its rows with a little noise, ``n`` rows in all."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
    w = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
    x = w * base[a] + (1 - w) * base[b] + rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
    x[: min(n, len(base))] = base[:n]
    return np.asarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def write(store: SQLiteStore, space: VectorSpace, user: str, vectors: np.ndarray) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(vectors), _BATCH):
        items = [
            Item(
                id=new_id("t"),
                level=Level.TURN,
                scope=Scope(tenant="bench", user_id=user, agent_id="ab"[n % 2], session_id=f"s{n % 200}"),
                text=f"turn {n}",
                producer="bench",
                recorded_at=now(),
            )
            for n in range(start, min(start + _BATCH, len(vectors)))
        ]
        chunk = vectors[start : start + _BATCH]
        store.records.write(
            WriteBatch(items=items, vectors={i.id: v for i, v in zip(items, chunk, strict=True)}, space=space)
        )
        ids += [i.id for i in items]
    return ids


def _open(url: str, min_vectors: int, ef: int | None = None) -> SQLiteStore:
    store = open_store(
        url, ann_min_vectors=min_vectors, ann_ef_search=ef, ann_background=False, sqlite_vector_cache_bytes=1 << 30
    )
    assert isinstance(store, SQLiteStore)
    return store


def timed(
    store: SQLiteStore, scope: Scope, space: VectorSpace, queries: np.ndarray, filters: SearchFilters | None = None
) -> tuple[list[float], list[list[tuple[str, float]]]]:
    store.vectors.search(scope, space, queries[0], 10, filters)  # warm-up: the scope loaded (index built)
    ms, found = [], []
    for q in queries:
        started = time.perf_counter()
        hits = store.vectors.search(scope, space, q, 10, filters)
        ms.append((time.perf_counter() - started) * 1000)
        found.append(hits)
    return ms, found


def p50_95(ms: list[float]) -> str:
    ordered = sorted(ms)
    return f"{statistics.median(ordered):.2f} / {ordered[max(0, int(len(ordered) * 0.95) - 1)]:.2f}"


def recall(approx: list[list[tuple[str, float]]], exact: list[list[tuple[str, float]]], ties: bool) -> float:
    """The share of the exact top-10 the approximate top-10 holds: by ids, or (``ties``) counting
    every approximate hit that scores at least the exact 10th score."""
    if ties:
        return statistics.mean(
            sum(s >= e[-1][1] for _, s in a) / max(1, len(e)) for a, e in zip(approx, exact, strict=True)
        )
    return statistics.mean(
        len({i for i, _ in a} & {i for i, _ in e}) / max(1, len(e)) for a, e in zip(approx, exact, strict=True)
    )


def scope_vectors(base: np.ndarray, n: int, copies: int, seed: int) -> np.ndarray:
    """``n`` vectors: ``realistic`` ones, or ``n / copies`` of them said ``copies`` times, shuffled."""
    if copies <= 1:
        return realistic(base, n, seed)
    vectors = np.repeat(realistic(base, n // copies, seed), copies, axis=0)
    np.random.default_rng(seed).shuffle(vectors)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--efs", default="64,128,256,512", help="HNSW search breadths to sweep")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--copies", type=int, default=1, help="each distinct vector said this many times")
    args = parser.parse_args()
    ties = args.copies > 1
    sizes = [int(s) for s in args.sizes.split(",")]
    embedder = load_embedder("minilm")
    turns, questions = texts(args.data)
    base = embedder.embed(turns)
    queries = embedder.embed(questions[: args.queries])
    space = VectorSpace(embedder.id, embedder.dim)
    copies = f", each vector {args.copies} times" if ties else ""
    table = Table(
        title=f"approximate vs exact dense search, {len(queries)} LoCoMo questions, k=10 (ms: p50 / p95){copies}"
    )
    for column in ["measure", *[f"{n:,} vectors" for n in sizes]]:
        table.add_column(column, justify="left" if column == "measure" else "right")
    rows: dict[str, list[str]] = {}

    def put(measure: str, value: str) -> None:
        rows.setdefault(measure, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ann.db'}"
        store = _open(url, 0)
        for n in sizes:
            started = time.perf_counter()
            write(store, space, f"u{n}", scope_vectors(base, n, args.copies, n))
            put("written through the store s", f"{time.perf_counter() - started:.1f}")
        store.close()
        for n in sizes:
            scope = Scope(tenant="bench", user_id=f"u{n}")
            exact = _open(url, 0)
            started = time.perf_counter()
            exact.vectors.search(scope, space, queries[0], 10)
            put("exact: first search of a new process (scope loaded) s", f"{time.perf_counter() - started:.2f}")
            ms, truth = timed(exact, scope, space, queries)
            put("exact p50 / p95 ms", p50_95(ms))
            half = Scope(tenant="bench", user_id=f"u{n}", agent_id="a")
            ms_half, truth_half = timed(exact, half, space, queries)
            put("exact, one agent (half) p50 / p95 ms", p50_95(ms_half))
            exact.close()

            approx = _open(url, 1000)  # every size through the index, to compare
            started = time.perf_counter()
            approx.vectors.search(scope, space, queries[0], 10)
            put("index built at first search s", f"{time.perf_counter() - started:.1f}")
            files = list(Path(f"{tmp}/ann.db.ann").glob("*.hnsw"))
            put("index file MB (graph, no vectors)", f"{max(f.stat().st_size for f in files) / 2**20:.1f}")
            ms, found = timed(approx, scope, space, queries)
            put("approximate p50 / p95 ms", p50_95(ms))
            put("recall@10 vs exact" + " (tie-aware)" * ties, f"{recall(found, truth, ties):.4f}")
            ms, found = timed(approx, half, space, queries)
            put("approximate, one agent p50 / p95 ms", p50_95(ms))
            put("recall@10 vs exact, one agent" + " (tie-aware)" * ties, f"{recall(found, truth_half, ties):.4f}")
            session = Scope(tenant="bench", user_id=f"u{n}", session_id="s7")  # 1/200 of the scope: exact
            ms, _ = timed(approx, session, space, queries)
            put("one session (exact fallback) p50 / p95 ms", p50_95(ms))
            put("cache held MB (matrix + index)", f"{approx.vectors.cache_bytes / 2**20:.0f}")
            approx.close()
            loaded = _open(url, 1000)
            started = time.perf_counter()
            loaded.vectors.search(scope, space, queries[0], 10)
            put(
                "approximate: first search of a new process (scope and file loaded) s",
                f"{time.perf_counter() - started:.2f}",
            )
            loaded.close()
            for ef in [int(e) for e in args.efs.split(",")]:
                swept = _open(url, 1000, ef)
                ms, found = timed(swept, scope, space, queries)
                put(
                    f"ef_search {ef}: recall@10 / p50 ms",
                    f"{recall(found, truth, ties):.4f} / {statistics.median(ms):.2f}",
                )
                swept.close()
            loaded2 = _open(url, 1000)
            found = [[i for i, _ in loaded2.vectors.search(scope, space, queries[0], 10)]]
            victim = found[0][0]
            other = _open(url, 1000)
            started = time.perf_counter()
            other.records.remove_items(scope, [victim])
            put("delete one item ms", f"{(time.perf_counter() - started) * 1000:.1f}")
            started = time.perf_counter()
            hits = loaded2.vectors.search(scope, space, queries[0], 10)
            put("next search, same handle ms", f"{(time.perf_counter() - started) * 1000:.1f}")
            assert victim not in {i for i, _ in hits}
            other.close()
            loaded2.close()

    for measure, values in rows.items():
        table.add_row(measure, *values)
    Console().print(table)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
