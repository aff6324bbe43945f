"""Per-tenant bulk jobs for :func:`~outcrop.distributed.runner.run_each`: rebuild, import, and the
re-embedding half of a re-index.

Each job is a small frozen dataclass holding the :class:`~outcrop.config.MemoryConfig` (and the
job's own arguments), so it pickles to a Ray worker; called with a tenant, it opens that
tenant's memory from the store URL, does the work the single-process command does, closes the
store and returns the same report. The embedding model is loaded once per process and kept
(``threads`` caps its ONNX threads: 1 in a Ray task, which holds one CPU).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from outcrop.api.memory import Memory
from outcrop.config import MemoryConfig
from outcrop.core.jsontext import parse_json
from outcrop.core.values import validate_name
from outcrop.distributed.runner import run_each
from outcrop.errors import InvalidInputError
from outcrop.lifecycle.export import ImportReport
from outcrop.lifecycle.rebuild import RebuildReport
from outcrop.lifecycle.reindex import ReindexReport, build_space, switch_space
from outcrop.providers.base import Embedder
from outcrop.providers.onnx_minilm import LongTexts
from outcrop.providers.registry import load_embedder
from outcrop.stores.base import Store, VectorSpace
from outcrop.stores.registry import open_store

__all__ = [
    "ImportJob",
    "RebuildJob",
    "ReindexJob",
    "exports_by_tenant",
    "open_config_store",
    "reindex_tenants",
]

_embedders: dict[tuple[str, int, LongTexts], Embedder] = {}


def process_embedder(spec: str, threads: int = 0, long_texts: LongTexts = "windows") -> Embedder:
    """The embedder ``spec`` names, loaded once per process (a Ray worker runs many tasks)."""
    key = (spec, threads, long_texts)
    if key not in _embedders:
        _embedders[key] = load_embedder(spec, threads=threads, long_texts=long_texts)
    return _embedders[key]


def _memory(config: MemoryConfig, tenant: str, threads: int) -> Memory:
    bound = config.model_copy(update={"tenant": validate_name(tenant, "tenant")})
    return Memory(config=bound, embedder=process_embedder(config.embedder, threads, config.embedder_long_texts))


def open_config_store(config: MemoryConfig) -> Store:
    """The store ``config`` names, opened as an engine opens it."""
    return open_store(
        config.store,
        sqlite_synchronous=config.sqlite_synchronous,
        postgres_pool_size=config.postgres_pool_size,
        postgres_postings_cache_bytes=config.postgres_postings_cache_bytes,
        sqlite_vector_cache_bytes=config.sqlite_vector_cache_bytes,
        sqlite_postings_cache_bytes=config.sqlite_postings_cache_bytes,
    )


@dataclass(frozen=True)
class RebuildJob:
    """``outcrop rebuild`` of one tenant (every user of it)."""

    config: MemoryConfig
    threads: int = 0

    def __call__(self, tenant: str) -> RebuildReport:
        with _memory(self.config, tenant, self.threads) as memory:
            return memory.rebuild()


@dataclass(frozen=True)
class ImportJob:
    """``outcrop import`` of one tenant's export files, in the order given, as one import: all of
    them or nothing (a bad line in the second file used to leave the first imported)."""

    config: MemoryConfig
    files: dict[str, tuple[str, ...]]  # tenant → its files
    threads: int = 0

    def __call__(self, tenant: str) -> ImportReport:
        with _memory(self.config, tenant, self.threads) as memory:
            return memory.import_([Path(f) for f in self.files[tenant]])


@dataclass(frozen=True)
class ReindexJob:
    """The re-embedding of one tenant's items into ``embedder``'s space, left inactive; the caller
    switches once every tenant is done (:func:`outcrop.lifecycle.reindex.switch_space`)."""

    config: MemoryConfig
    embedder: str  # the new model's spec
    threads: int = 0

    def __call__(self, tenant: str) -> int:
        store = open_config_store(self.config)
        try:
            new = process_embedder(self.embedder, self.threads, self.config.embedder_long_texts)
            return build_space(store, new, [validate_name(tenant, "tenant")])
        finally:
            store.close()


def reindex_tenants(config: MemoryConfig, embedder: str, tenants: Sequence[str], *, ray: str | None) -> ReindexReport:
    """:func:`outcrop.lifecycle.reindex.reindex` with each tenant re-embedded by a
    :class:`ReindexJob` (in this process, or one Ray task each), then one switch. The vector
    space is the store's, shared by every tenant, so it cannot switch tenant by tenant: the
    switch waits for all of them, and is refused (the old space kept) if the store holds items
    of tenants not given or some tenant failed."""
    new = process_embedder(embedder, long_texts=config.embedder_long_texts)
    space = VectorSpace(new.id, new.dim)
    written = run_each(ReindexJob(config, embedder, threads=1 if ray else config.embedder_threads), tenants, ray=ray)
    store = open_config_store(config)
    try:
        old = store.vectors.active_space()
        switch_space(store, space)
    finally:
        store.close()
    return ReindexReport(old=old.name if old else None, new=space.name, vectors=sum(written.values()))


def _header_tenant(path: Path) -> str:
    try:
        with path.open("rb") as handle:  # the first line that is not blank, as the import reads it
            first = next((line for line in handle if line.strip()), b"null")
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read it ({exc.strerror})") from None
    header = parse_json(first, f"{path}, its header")
    tenant = header.get("tenant") if isinstance(header, dict) else None
    if not isinstance(tenant, str):
        raise InvalidInputError(f"{path}: its header is not an outcrop export header naming its tenant")
    return validate_name(tenant, "tenant")


def exports_by_tenant(sources: Sequence[str | os.PathLike[str]]) -> dict[str, tuple[str, ...]]:
    """Export files (a directory stands for its ``*.jsonl`` files, by name) grouped by the tenant
    their header names, tenants and files in order."""
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            files.extend(sorted(source.glob("*.jsonl")))
        else:
            files.append(source)
    if not files:
        raise InvalidInputError(f"no export files (*.jsonl) in {', '.join(os.fspath(s) for s in sources)}")
    grouped: dict[str, list[str]] = {}
    for path in files:
        grouped.setdefault(_header_tenant(path), []).append(os.fspath(path))
    return {tenant: tuple(grouped[tenant]) for tenant in sorted(grouped)}
