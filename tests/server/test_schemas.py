"""The REST layer owns its response schemas: no route answers with a library model (so the library
can change its Python shapes without changing ``/v1``), and each converter maps a real library
object field by field, to the same JSON the library model gives, with no field lost or added."""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import typing
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from outcrop import Memory, MemoryConfig
from outcrop.core.types import Context, Hit, Item, ItemVersion, Scope
from outcrop.core.types import Level as LibraryLevel
from outcrop.lifecycle.export import ImportReport
from outcrop.lifecycle.receipts import ForgetReceipt, Leak, Verification
from outcrop.providers import Embedder
from outcrop.server.app import create_app
from outcrop.server.config import ServerConfig
from outcrop.server.schemas import (
    ConsolidateResponse,
    ContextOut,
    ForgetReceiptOut,
    HitList,
    HitOut,
    ImportResult,
    ItemList,
    ItemOut,
    LeakOut,
    Level,
    ScopeOut,
    StatsResponse,
    TimelineResponse,
    TimelineValue,
    VerificationOut,
    VersionList,
    VersionOut,
)
from outcrop.strata.consolidate import ConsolidationReport
from outcrop.truth.slots import SlotValue
from tests.helpers import STORY

# -- no library model in a response ---------------------------------------------------------------


def _classes(tp: Any, seen: set[type]) -> Iterator[type]:
    """Every class a type annotation reaches: models and their fields, TypedDicts, dataclasses, enums."""
    for arg in typing.get_args(tp):  # list[X], X | None, dict[str, X], Annotated[X, ...]
        yield from _classes(arg, seen)
    if typing.get_origin(tp) is not None or not isinstance(tp, type) or tp in seen:
        return
    seen.add(tp)
    yield tp
    if issubclass(tp, BaseModel):
        for field in tp.model_fields.values():
            yield from _classes(field.annotation, seen)
    elif typing.is_typeddict(tp) or dataclasses.is_dataclass(tp):
        for hint in typing.get_type_hints(tp).values():
            yield from _classes(hint, seen)


def _api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """The app's API routes, also inside included routers (which FastAPI may keep nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (router := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(router.routes)
        elif (children := getattr(route, "routes", None)) is not None:
            yield from _api_routes(children)


def _response_types(route: APIRoute) -> list[Any]:
    found = [route.response_model] if route.response_model is not None else []
    found += [response["model"] for response in route.responses.values() if "model" in response]
    return found


def test_no_route_answers_with_a_library_model() -> None:
    app = create_app(ServerConfig())
    routes = [route for route in _api_routes(app.routes) if route.path.startswith("/v1")]
    operations = {(method.lower(), route.path) for route in routes for method in route.methods}
    documented = {(method, path) for path, item in app.openapi()["paths"].items() for method in item}
    assert operations == documented  # the walk saw every operation of the API
    reached: dict[type, str] = {}
    for route in routes:
        seen: set[type] = set()
        for tp in _response_types(route):
            for cls in _classes(tp, seen):
                reached.setdefault(cls, f"{sorted(route.methods)} {route.path}")
    foreign = {
        f"{cls.__module__}.{cls.__qualname__}": where
        for cls, where in reached.items()
        if not cls.__module__.startswith("outcrop.server")
        and (
            cls.__module__.startswith("outcrop")
            or issubclass(cls, BaseModel | enum.Enum)
            or typing.is_typeddict(cls)
            or dataclasses.is_dataclass(cls)
        )
    }
    assert not foreign, f"response models that are not the server's own: {foreign}"
    # the walk saw the bodies that used to be library models
    assert {ItemOut, ScopeOut, HitOut, ContextOut, VersionOut, ForgetReceiptOut, LeakOut, Level} <= set(reached)


def test_the_server_levels_are_the_library_levels() -> None:
    """A level the library adds (or renames) is a decision for ``/v1``: this fails until it is made."""
    assert [level.value for level in Level] == [level.value for level in LibraryLevel]


# -- converters on real library objects ----------------------------------------------------------


# Library fields that /v1 does not send. When the library grows a field, the tests below fail until
# it is either added to the REST model (an API change: docs/server.md, clients) or listed here.
NOT_IN_V1: dict[type[BaseModel], set[str]] = {}


def _same_json(out: BaseModel, library: BaseModel) -> None:
    """The converted model gives the library model's JSON, less the fields /v1 leaves out: same keys
    in the same order, same values."""
    fields = list(type(library).model_fields)
    left_out = NOT_IN_V1.get(type(library), set())
    assert left_out <= set(fields), f"NOT_IN_V1 names fields {type(library).__name__} no longer has"
    assert list(type(out).model_fields) == [name for name in fields if name not in left_out]
    expected = library.model_dump(mode="json", exclude=left_out)
    assert json.dumps(out.model_dump(mode="json")) == json.dumps(expected)


def _every_field_set(model: BaseModel) -> None:
    """The object exercises every field (none left None or empty), so a dropped mapping would show."""
    empty = [name for name, value in model if value in (None, {}, [], "")]
    assert not empty, f"{type(model).__name__}: {empty} not set; pick an object that sets them"


def _field_names(cls: Any) -> list[str]:
    """The fields of a library record: a pydantic model or a dataclass (the library has both)."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return [*cls.model_fields, *cls.model_computed_fields]
    return [field.name for field in dataclasses.fields(cls)]


@pytest.fixture
def story(memory: Memory) -> dict[str, list[str]]:
    """The story of tests/helpers, with agent, session, metadata, speaker and time on every turn,
    consolidated, and one turn updated (so it has a second version and ``updated_at``)."""
    ids = {}
    for session, when, turns in STORY:
        messages = [{"role": "user", "name": n, "content": t, "metadata": {"session": session}} for n, t in turns]
        ids[session] = memory.add(messages, user_id="ann", agent_id="ag", session_id=session, timestamp=when)
    memory.consolidate(user_id="ann")
    memory.update(ids["s1"][2], "I live in Boston. I plan to study counseling.", user_id="ann")
    return ids


def test_item_and_item_list(memory: Memory, story: dict[str, list[str]]) -> None:
    item = memory.get(story["s1"][2], user_id="ann")
    out = ItemOut.from_library(item)
    _every_field_set(out)
    _every_field_set(out.scope)
    _same_json(out, item)
    _same_json(ScopeOut.from_library(item.scope), item.scope)
    _same_json(ScopeOut.from_library(Scope()), Scope())

    items = memory.list(user_id="ann", limit=1000)
    assert {i.level for i in items} >= {LibraryLevel.TURN, LibraryLevel.FACT, LibraryLevel.EPISODE}
    listed = ItemList.from_library(items, next_offset=7)
    assert listed.next_offset == 7
    assert [i.model_dump(mode="json") for i in listed.items] == [i.model_dump(mode="json") for i in items]


def test_hits_and_context(memory: Memory, story: dict[str, list[str]]) -> None:
    hits = memory.search("Where does Caroline live?", user_id="ann", agent_id="ag", limit=5)
    assert hits
    for hit in hits:
        _same_json(HitOut.from_library(hit), hit)
    assert all(h.explain.get("channels") for h in hits)
    _every_field_set(HitOut.from_library(hits[0]))
    assert [h.id for h in HitList.from_library(hits).hits] == [h.id for h in hits]

    context = memory.context("Where does Caroline live?", user_id="ann", max_tokens=200)
    out = ContextOut.from_library(context)
    assert out.items
    _same_json(out, context)
    empty = Context(text="", items=[], tokens=0, max_tokens=100, query="q")
    _same_json(ContextOut.from_library(empty), empty)


def test_history(memory: Memory, story: dict[str, list[str]]) -> None:
    versions = memory.history(story["s1"][2], user_id="ann")
    assert [v.event for v in versions] == ["add", "update"]
    for version in versions:
        _every_field_set(VersionOut.from_library(version))
        _same_json(VersionOut.from_library(version), version)
    memory.delete(story["s1"][2], user_id="ann")
    deleted = memory.history(story["s1"][2], user_id="ann")[-1]
    _same_json(VersionOut.from_library(deleted), deleted)
    assert [v.version for v in VersionList.from_library(versions).versions] == [1, 2]


def test_forget_receipt(memory: Memory, story: dict[str, list[str]]) -> None:
    receipt = memory.forget([story["s2"][1]], user_id="ann")
    out = ForgetReceiptOut.from_library(receipt)
    _same_json(out, receipt)
    _same_json(out.verification, receipt.verification)
    assert out.removed["turn"] == [story["s2"][1]]

    # a receipt with every part filled: a leak with a term and an id still readable
    leak = Leak(item_id="e_1", level="episode", found_by="term", term="paris")
    full = ForgetReceipt(
        scope=Scope(tenant="acme", user_id="ann", agent_id="ag", session_id="s2"),
        removed={"log": ["l_1"], "turn": ["t_1"]},
        recomputed={"episode": ["e_1"]},
        written={"episode": 1},
        verification=Verification(passed=False, terms_checked=3, phrases_checked=1, leaks=[leak], remaining=["t_1"]),
        scrub={"vacuumed": True, "wal_frames": 0},
        plan="g_1",
        already_forgotten=["t_0"],
        resumed=["g_0"],
    )
    out = ForgetReceiptOut.from_library(full)
    _every_field_set(out)
    _every_field_set(out.verification)
    _every_field_set(LeakOut.from_library(leak))
    _same_json(out, full)
    _same_json(VerificationOut.from_library(full.verification), full.verification)
    _same_json(LeakOut.from_library(leak), leak)


def test_timeline(memory: Memory, story: dict[str, list[str]]) -> None:
    values = memory.timeline("Caroline", user_id="ann")
    lives = [v for v in values if v.attribute == "lives_in"]
    assert [v.value for v in lives] == ["Boston", "Paris"] and lives[0].superseded_by == lives[1].fact_id
    names = [name for name in _field_names(SlotValue) if name != "current"]
    assert set(TimelineValue.model_fields) == {*names, "current"}
    for value in values:
        out = TimelineValue.from_library(value)
        assert out.current is value.current
        for name in names:
            mine, theirs = getattr(out, name), getattr(value, name)
            if isinstance(theirs, tuple):
                theirs = list(theirs)
            assert mine == theirs and (not isinstance(theirs, datetime) or mine.tzinfo is None), name
    _every_field_set(TimelineValue.from_library(lives[0]))
    assert [v.fact_id for v in TimelineResponse.from_library(values).values] == [v.fact_id for v in values]


def test_import_report(memory: Memory, story: dict[str, list[str]], tmp_path: Path, embedder: Embedder) -> None:
    exported = io.StringIO()
    memory.export(exported)
    exported.seek(0)
    with Memory(config=MemoryConfig(store=f"sqlite:///{tmp_path / 'copy.db'}"), embedder=embedder) as copy:
        report = copy.import_(exported)
    assert report.added and report.turns and report.written
    out = ImportResult.from_library(report, dropped=2, reminted=True)
    _every_field_set(out)
    assert list(ImportResult.model_fields) == [*ImportReport.model_fields, "dropped", "reminted"]
    dumped = out.model_dump(mode="json")
    assert (dumped.pop("dropped"), dumped.pop("reminted")) == (2, True)
    assert json.dumps(dumped) == json.dumps(report.model_dump(mode="json"))


def test_consolidation_report_and_stats(memory: Memory, story: dict[str, list[str]]) -> None:
    memory.update(story["s2"][1], "I moved to Lyon last month for a counseling internship.", user_id="ann")
    report = memory.consolidate(user_id="ann")
    assert list(ConsolidateResponse.model_fields) == _field_names(ConsolidationReport)
    assert ConsolidateResponse.from_library(report).model_dump() == {
        "written": report.written,
        "removed": report.removed,
    }
    filled = ConsolidationReport(written={"fact": 2}, removed={"profile": 1})
    assert ConsolidateResponse.from_library(filled).model_dump() == {"written": {"fact": 2}, "removed": {"profile": 1}}

    stats = memory.stats(user_id="ann")
    out = StatsResponse.from_library(stats)
    assert out.model_dump() == {"tenant": stats["tenant"], "embedder": stats["embedder"], "counts": stats["counts"]}
    assert out.counts["turn"] == 10
    assert "store" not in out.model_dump()  # the store URL may hold credentials


def test_converters_do_not_share_state_with_the_library_object(memory: Memory, story: dict[str, list[str]]) -> None:
    item: Item = memory.get(story["s1"][0], user_id="ann")
    out = ItemOut.from_library(item)
    item.metadata["changed"] = True
    item.sources.append("x")
    assert "changed" not in out.metadata and "x" not in out.sources
    hit: Hit = memory.search("pottery", user_id="ann", limit=1)[0]
    hit_out = HitOut.from_library(hit)
    hit.explain["route"] = "changed"
    assert hit_out.explain.get("route") != "changed"
    version: ItemVersion = memory.history(story["s1"][0], user_id="ann")[0]
    assert VersionOut.from_library(version).at == version.at
