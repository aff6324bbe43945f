"""Bulk work over tenants as Ray tasks gives what the single-process path gives: rebuild of three
tenants, an import of three exports, a re-index; a tenant whose task fails comes back as a
BulkWorkError naming it, with the other tenants' work done. Real SQLite files (several Ray worker
processes write one file), the real model, one local Ray (2 CPUs) for the module."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from outcrop import Memory, MemoryConfig
from outcrop.cli.demo import sample_path
from outcrop.core.formats import read_batches
from outcrop.distributed import run_each
from outcrop.distributed.jobs import ImportJob, RebuildJob, exports_by_tenant, reindex_tenants
from outcrop.errors import BulkWorkError
from outcrop.providers import Embedder
from tests.helpers import run_cli

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.integration

TENANTS = ["acme", "globex", "initech"]
STRATA = {"refresh_growth": 0.0}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield "auto"  # run_each uses the Ray this process initialised
    ray.shutdown()


def config_at(path: Path | str, tenant: str = "default") -> MemoryConfig:
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    return MemoryConfig(store=url, tenant=tenant, strata=STRATA)


def populate(where: Path | str, embedder: Embedder) -> None:
    """Three tenants: the sample conversation under other users, cut differently."""
    batches = read_batches(sample_path(), "json")
    for n, tenant in enumerate(TENANTS):
        with Memory(config=config_at(where, tenant), embedder=embedder) as memory:
            for batch in batches[: len(batches) - n]:
                memory.add(
                    batch.messages, user_id=f"{tenant}-user", session_id=batch.session_id, timestamp=batch.timestamp
                )


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    path = tmp_path_factory.mktemp("bulk") / "source.db"
    populate(path, embedder)
    return path


def copy_store(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    return target


def dumps(path: Path | str, embedder: Embedder) -> dict[str, str]:
    """Each tenant's log and every projection, as the export writes them (deterministic)."""
    out = {}
    for tenant in TENANTS:
        buffer = io.StringIO()
        with Memory(config=config_at(path, tenant), embedder=embedder) as memory:
            memory.export(buffer, projections=True)
        out[tenant] = buffer.getvalue()
    return out


def test_rebuild_of_three_tenants_on_ray_equals_the_single_process_rebuild(
    populated: Path, tmp_path: Path, embedder: Embedder, local_ray: str
) -> None:
    here, there = copy_store(populated, tmp_path / "here.db"), copy_store(populated, tmp_path / "there.db")
    before = dumps(populated, embedder)

    local = run_each(RebuildJob(config_at(here)), TENANTS)
    remote = run_each(RebuildJob(config_at(there), threads=1), TENANTS, ray=local_ray)

    assert list(remote) == TENANTS
    assert {t: r.model_dump() for t, r in remote.items()} == {t: r.model_dump() for t, r in local.items()}
    assert all(r.turns > 0 and r.removed > 0 and r.written.get("fact", 0) > 0 for r in remote.values())
    assert local["acme"].turns > local["initech"].turns  # the tenants differ: each task did its own
    assert dumps(there, embedder) == dumps(here, embedder) == before  # same items, ids, texts, sources


def test_rebuild_on_postgres_as_ray_tasks_gives_the_single_process_rebuild(
    postgres_url: str, embedder: Embedder, local_ray: str
) -> None:
    populate(postgres_url, embedder)
    before = dumps(postgres_url, embedder)
    remote = run_each(RebuildJob(config_at(postgres_url), threads=1), TENANTS, ray=local_ray)
    assert dumps(postgres_url, embedder) == before
    local = run_each(RebuildJob(config_at(postgres_url)), TENANTS)  # a rebuild of the rebuilt store
    assert {t: r.model_dump() for t, r in remote.items()} == {t: r.model_dump() for t, r in local.items()}
    assert dumps(postgres_url, embedder) == before


def export_all(source: Path, folder: Path, embedder: Embedder) -> Path:
    folder.mkdir()
    for tenant in TENANTS:
        with Memory(config=config_at(source, tenant), embedder=embedder) as memory:
            memory.export(folder / f"{tenant}.jsonl")
    return folder


def test_import_of_three_exports_on_ray_equals_the_single_process_import(
    populated: Path, tmp_path: Path, embedder: Embedder, local_ray: str
) -> None:
    files = exports_by_tenant([export_all(populated, tmp_path / "exports", embedder)])
    assert list(files) == TENANTS

    local = run_each(ImportJob(config_at(tmp_path / "here.db"), files), list(files))
    remote = run_each(ImportJob(config_at(tmp_path / "there.db"), files, threads=1), list(files), ray=local_ray)

    assert {t: r.model_dump() for t, r in remote.items()} == {t: r.model_dump() for t, r in local.items()}
    assert all(r.added == r.records > 0 for r in remote.values())
    assert dumps(tmp_path / "there.db", embedder) == dumps(tmp_path / "here.db", embedder) == dumps(populated, embedder)


def test_a_failing_tenant_is_named_and_the_others_are_imported(
    populated: Path, tmp_path: Path, embedder: Embedder, local_ray: str
) -> None:
    folder = export_all(populated, tmp_path / "exports", embedder)
    lines = (folder / "globex.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "globex.jsonl").write_text("".join([*lines[:2], "{not json\n", *lines[2:]]), encoding="utf-8")
    files = exports_by_tenant([folder])
    target = tmp_path / "target.db"

    with pytest.raises(BulkWorkError) as caught:
        run_each(ImportJob(config_at(target), files, threads=1), list(files), ray=local_ray)

    error = caught.value
    assert list(error.failures) == ["globex"]
    assert error.failures["globex"].startswith("InvalidInputError: ") and "line 3" in error.failures["globex"]
    assert sorted(error.results) == ["acme", "initech"]
    with Memory(config=config_at(target, "globex"), embedder=embedder) as memory:
        assert memory.list(user_id="globex-user") == []  # the failed import wrote nothing
    with Memory(config=config_at(target, "initech"), embedder=embedder) as memory:
        assert len(memory.list(user_id="initech-user", level="turn")) == error.results["initech"].turns > 0


def test_a_tenants_several_files_are_one_import_all_or_nothing(
    populated: Path, tmp_path: Path, embedder: Embedder
) -> None:
    """A tenant's export in two files, the second with a bad line: nothing of the tenant is written
    and the error names the file (the first file used to be imported, the report saying the tenant
    failed); a file opening with a blank line is read as the single-file import reads it."""
    folder = export_all(populated, tmp_path / "exports", embedder)
    header, *records = (folder / "acme.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    half = len(records) // 2
    (folder / "acme.jsonl").write_text("\n" + header + "".join(records[:half]), encoding="utf-8")
    (folder / "acme2.jsonl").write_text(header + "".join(records[half:]) + "{not json\n", encoding="utf-8")
    files = exports_by_tenant([folder])
    assert files["acme"] == (str(folder / "acme.jsonl"), str(folder / "acme2.jsonl"))
    target = tmp_path / "target.db"

    with pytest.raises(BulkWorkError) as caught:
        run_each(ImportJob(config_at(target), files), ["acme"])
    assert "acme2.jsonl: line " in caught.value.failures["acme"]
    with Memory(config=config_at(target, "acme"), embedder=embedder) as memory:
        assert memory.list(user_id="acme-user") == []

    (folder / "acme2.jsonl").write_text(header + "".join(records[half:]), encoding="utf-8")
    report = run_each(ImportJob(config_at(target), exports_by_tenant([folder])), ["acme"])["acme"]
    assert report.added == report.records == len(records)
    assert dumps(target, embedder)["acme"] == dumps(populated, embedder)["acme"]


def test_reindex_of_every_tenant_on_ray_switches_once_with_the_single_process_vectors(
    populated: Path, tmp_path: Path, embedder: Embedder, local_ray: str
) -> None:
    here, there = copy_store(populated, tmp_path / "here.db"), copy_store(populated, tmp_path / "there.db")
    local = reindex_tenants(config_at(here), "wordllama", TENANTS, ray=None)
    remote = reindex_tenants(config_at(there), "wordllama", TENANTS, ray=local_ray)
    assert remote == local and remote.vectors > 0 and remote.new.startswith("wordllama")


def test_cli_import_of_a_directory_with_ray_prints_what_the_single_process_import_prints(
    populated: Path, tmp_path: Path, embedder: Embedder, local_ray: str
) -> None:
    folder = export_all(populated, tmp_path / "exports", embedder)
    plain = run_cli("import", str(folder), "--json", db=tmp_path / "here.db")
    address = ray.get_runtime_context().gcs_address  # the CLI joins this module's cluster by its address
    on_ray = run_cli("import", str(folder), "--ray", address, "--json", db=tmp_path / "there.db")
    assert json.loads(on_ray.stdout) == json.loads(plain.stdout)
    assert sorted(json.loads(plain.stdout)) == TENANTS


def test_evaluation_cases_as_ray_tasks_give_the_single_process_figures(
    tmp_path: Path, embedder: Embedder, local_ray: str
) -> None:
    from outcrop.eval.longmemeval import load_longmemeval
    from outcrop.eval.runner import evaluate_cases
    from tests.eval.conftest import lme_file, lme_item

    path = lme_file(
        tmp_path / "lme.json",
        [
            lme_item("q-degree", "single-session-user", "What degree did I graduate with?", "Business Administration"),
            lme_item("q-cat", "multi-session", "What is my cat called?", "Mochi"),
        ],
    )
    cases = load_longmemeval(path)
    local = evaluate_cases(cases, config=MemoryConfig(), workdir=tmp_path / "here", embedder=embedder)
    remote = evaluate_cases(cases, config=MemoryConfig(), workdir=tmp_path / "there", ray=local_ray)
    assert [q.id for q in remote.questions] == [q.id for q in local.questions] == ["q-degree", "q-cat"]
    assert [q.metrics for q in remote.questions] == [q.metrics for q in local.questions]
    ranked = [[(r["rank"], r["level"], r["score"], r["turns"]) for r in q.retrieved] for q in local.questions]
    assert [[(r["rank"], r["level"], r["score"], r["turns"]) for r in q.retrieved] for q in remote.questions] == ranked
    assert remote.turns == local.turns > 0 and remote.cases == 2
