"""Tenant isolation under random traffic: two tenants, each in its own thread, run a seeded random
sequence of operations through every endpoint, using the same user and session names and some of
the same texts. Each tenant's own texts carry a unique marker; no response to one tenant may ever
contain the other's marker, one of its item ids, or its tenant name. Ids of the other tenant
must answer 404. Imports include files whose header names the other tenant (they land in the
caller's), a malformed file (400, nothing written) and files that reuse the other tenant's ids
(refused, never written over its rows)."""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.server.conftest import Server

OPERATIONS = 1100  # in all, over both tenants
WORDS = "tea lisbon hiking piano garden sister paris novel bicycle coffee painting river dog chess".split()
SHARED = ["I like green tea in the garden", "My sister lives in Paris", "We played chess by the river"]
USERS = ["u1", "u2"]
OPS = {  # operation: weight
    "add": 30,
    "search": 14,
    "context": 6,
    "list": 8,
    "get": 10,
    "update": 5,
    "delete": 4,
    "history": 6,
    "profile": 4,
    "stats": 3,
    "consolidate": 1,
    "forget": 3,
    "export": 3,
    "import": 4,
}
SESSIONS = ["s1", "s2", None]
IMPORTED = "u-imported"
PINNED = "u-pinned"


@dataclass
class Actor:
    name: str
    tenant: str
    marker: str
    client: httpx.Client
    rng: random.Random
    ids: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    export: str = ""  # the last export this tenant received
    # SQLite keys ids store-wide, so a new turn under another tenant's id is re-minted for the
    # importer. On PostgreSQL ids are keyed per tenant: the same id in two tenants is two rows,
    # nothing leaks (the raw-SQL check at the end looks), so that import variant is only tried on SQLite.
    ids_store_wide: bool = True
    # Turns the owner never updates, deletes or forgets: the other tenant's import reuses their ids
    # (an id the owner has forgotten is free again, and reusing it would be no clash).
    pinned: list[str] = field(default_factory=list)
    # Their ids this tenant imported a turn under already: the id it was re-minted to is now ours,
    # so another turn under the same id is refused 409 by our own data, whether or not they hold it.
    clashed: set[str] = field(default_factory=set)


class Registry:
    """Ids each tenant has been given, readable from both threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, set[str]] = {}

    def add(self, tenant: str, ids: list[str]) -> None:
        with self._lock:
            self._ids.setdefault(tenant, set()).update(ids)

    def of(self, tenant: str) -> set[str]:
        with self._lock:
            return set(self._ids.get(tenant, ()))


def _sentence(actor: Actor) -> str:
    words = actor.rng.sample(WORDS, 3)
    return f"{actor.marker}{actor.rng.randrange(10_000)} talked about {words[0]}, {words[1]} and {words[2]}"


def _scope(actor: Actor) -> dict[str, Any]:
    scope: dict[str, Any] = {"user_id": actor.rng.choice(USERS)}
    session = actor.rng.choice(SESSIONS)
    if session is not None:
        scope["session_id"] = session
    return scope


def _pick_id(actor: Actor, other: Actor, registry: Registry) -> tuple[str, bool]:
    """An id to act on: usually one of ours (maybe deleted since), sometimes the other tenant's."""
    theirs = sorted(registry.of(other.tenant))
    # two draws whatever the other thread has written so far: the seeded sequence stays this actor's own
    other_tenants, which = actor.rng.random(), actor.rng.random()
    if theirs and other_tenants < 0.3:
        return theirs[int(which * len(theirs))], False
    if actor.ids:
        return actor.ids[int(which * len(actor.ids))], True
    return "t_doesnotexist", False


def _log_line(actor: Actor, text: str, turn_id: str | None = None) -> dict[str, Any]:
    token = f"{actor.rng.getrandbits(48):012x}"
    return {
        "type": "log",
        "id": f"l_{token}",
        "user_id": IMPORTED,  # a user of its own: an import recomputes its owners' strata, keep them small
        "agent_id": None,
        "session_id": actor.rng.choice(["s1", "s3"]),
        "kind": "message",
        "payload": {"content": text, "role": "user", "speaker": "Ana", "metadata": {}},
        "content_hash": f"h-{token}",
        "recorded_at": "2024-02-02T10:00:00",
        "turn_id": turn_id or f"t_{token}",
    }


def _import(actor: Actor, other: Actor, registry: Registry) -> tuple[str, httpx.Response, set[int], str]:
    """An import: our last export again, a file naming the other tenant (it must land in ours), a
    malformed file, or one reusing the other tenant's turn ids (a new turn lands in ours under an id
    of its own, an update of theirs is refused, whatever the header says)."""
    rng = actor.rng
    header = {"format": "outcrop", "version": 1, "tenant": actor.tenant, "user_id": None, "projections": False}
    variant = rng.choice(["again", "foreign", "foreign", "malformed", "clash"])
    theirs = other.pinned
    allowed, echoed = {200}, ""
    if variant == "again" and actor.export:
        text, allowed = actor.export, {200, 413}  # a large export can pass the body limit
    elif variant == "malformed":
        text = json.dumps(header) + "\n" + json.dumps(_log_line(actor, _sentence(actor))) + "\n{not json\n"
        allowed = {400}
    elif variant == "clash" and theirs:
        echoed = rng.choice(theirs)
        if actor.ids_store_wide and rng.random() < 0.5:  # a new turn under their id: re-minted, it lands in ours
            line = _log_line(actor, _sentence(actor), turn_id=echoed)
            # (a 409 the first time told the importer that another tenant holds the id)
            allowed = {200, 409} if echoed in actor.clashed else {200}
            actor.clashed.add(echoed)
        else:  # an update of their turn: no turn of ours
            line = {**_log_line(actor, ""), "kind": "update", "payload": {"item_id": echoed, "text": _sentence(actor)}}
            # unless we imported a turn under that id before: it was re-minted to an id of ours,
            # which the update's id maps to (our own turn, if we still hold it)
            allowed = {200, 400} if echoed in actor.clashed else {400}
        header["tenant"] = rng.choice([actor.tenant, other.tenant])
        text = json.dumps(header) + "\n" + json.dumps(line) + "\n"
    else:
        header["tenant"], header["user_id"] = other.tenant, rng.choice(USERS)
        lines = [_log_line(actor, _sentence(actor)) for _ in range(rng.randint(1, 3))]
        text = "\n".join(json.dumps(x) for x in (header, *lines)) + "\n"
    response = actor.client.post("/v1/import", content=text.encode(), headers={"Content-Type": "application/x-ndjson"})
    return "import", response, allowed, echoed


def _one(actor: Actor, other: Actor, registry: Registry) -> tuple[str, httpx.Response, set[int], str]:
    """One random operation: (name, response, allowed statuses, request text the response may echo)."""
    rng, client = actor.rng, actor.client
    op = rng.choices(list(OPS), weights=list(OPS.values()))[0]
    if op == "add":
        texts = [rng.choice(SHARED) if rng.random() < 0.2 else _sentence(actor) for _ in range(rng.randint(1, 3))]
        messages = [{"content": t, "name": rng.choice(["Ana", "Ben"])} for t in texts]
        headers = {"Idempotency-Key": f"k{rng.randrange(20)}"} if rng.random() < 0.2 else {}
        body = {"messages": messages, **_scope(actor), "timestamp": f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"}
        return op, client.post("/v1/memories", json=body, headers=headers), {201, 409}, ""
    if op in ("search", "context"):
        # half the queries name the other tenant's marker, trying to pull its data
        query = f"{other.marker if rng.random() < 0.5 else actor.marker} {' '.join(rng.sample(WORDS, 2))}"
        body = {"query": query, "user_id": rng.choice([*USERS, IMPORTED, None])}
        if op == "search":
            body["limit"] = rng.choice([5, 20, 100])
            if rng.random() < 0.3:
                body["filters"] = {"speaker": rng.choice(["Ana", "Ben"])}
            return op, client.post("/v1/search", json=body), {200}, query
        body["max_tokens"] = rng.choice([100, 400, 2000])
        return op, client.post("/v1/context", json=body), {200}, query
    if op == "list":
        params: dict[str, Any] = {"limit": rng.choice([1, 10, 200]), "offset": rng.choice([0, 0, 5, 50])}
        if rng.random() < 0.5:
            params["user_id"] = rng.choice([*USERS, IMPORTED])
        if rng.random() < 0.5:
            params["level"] = rng.choice(["turn", "fact", "episode", "topic", "profile"])
        return op, client.get("/v1/memories", params=params), {200}, ""
    if op in ("get", "update", "delete", "history"):
        item_id, ours = _pick_id(actor, other, registry)
        ok = {200, 204, 404} if ours else {404}
        # a 404 may name the id the caller itself sent, nothing more
        if op == "get":
            return op, client.get(f"/v1/memories/{item_id}"), ok, item_id
        if op == "update":
            return op, client.patch(f"/v1/memories/{item_id}", json={"text": _sentence(actor)}), ok, item_id
        if op == "delete":
            return op, client.delete(f"/v1/memories/{item_id}"), ok, item_id
        return op, client.get(f"/v1/memories/{item_id}/history"), ok, item_id
    if op == "forget":
        item_id, ours = _pick_id(actor, other, registry)
        # coarser items (episodes, topics, profile) are refused with 422: they go with their sources
        body = {"ids": [item_id], "scrub": False}
        return op, client.post("/v1/forget", json=body), {200, 404, 422} if ours else {404}, item_id
    if op == "profile":
        return op, client.get("/v1/profile", params={"user_id": rng.choice(USERS)}), {200}, ""
    if op == "stats":
        return op, client.get("/v1/stats"), {200}, ""
    if op == "export":
        params = {"projections": rng.random() < 0.3}
        if rng.random() < 0.3:
            params["user_id"] = rng.choice(USERS)
        response = client.get("/v1/export", params=params)
        if response.status_code == 200 and not params["projections"] and "user_id" not in params:
            actor.export = response.text
        return op, response, {200}, ""
    if op == "import":
        return _import(actor, other, registry)
    return op, client.post("/v1/consolidate", json={"user_id": rng.choice(USERS)}), {200}, ""


def _collect_ids(value: Any, found: list[str]) -> None:
    if isinstance(value, dict):
        if isinstance(value.get("id"), str):
            found.append(value["id"])
        for key in ("ids", "sources"):
            if isinstance(value.get(key), list):
                found.extend(v for v in value[key] if isinstance(v, str))
        for child in value.values():
            _collect_ids(child, found)
    elif isinstance(value, list):
        for child in value:
            _collect_ids(child, found)


def _run(actor: Actor, other: Actor, registry: Registry, steps: int, failures: list[str]) -> None:
    for step in range(steps):
        started = time.monotonic()
        op, response, allowed, echoed = _one(actor, other, registry)
        actor.seconds[op] = actor.seconds.get(op, 0.0) + time.monotonic() - started
        actor.statuses[f"{op} {response.status_code}"] += 1
        where = f"{actor.name} step {step} {op}"
        if response.status_code not in allowed:
            failures.append(f"{where}: status {response.status_code}: {response.text[:300]}")
            continue
        text = response.text.replace(echoed, "") if echoed else response.text  # context repeats the query, a 404 the id
        foreign = [token for token in (other.marker, other.tenant) if token in text]
        foreign += [i for i in registry.of(other.tenant) if i.partition("_")[2] in text]
        if foreign:
            failures.append(f"{where}: response holds the other tenant's {foreign[:3]}: {text[:300]}")
        if response.status_code in (200, 201) and text:
            found: list[str] = []
            body = [json.loads(line) for line in text.splitlines() if line] if op == "export" else response.json()
            _collect_ids(body, found)
            mine = [i for i in found if i.startswith(("t_", "f_", "e_", "c_", "p_"))]
            actor.ids.extend(i for i in mine if i not in actor.ids and i not in actor.pinned)
            registry.add(actor.tenant, mine)
        if failures:
            return


@pytest.mark.parametrize(
    "backend", ["server", pytest.param("postgres_backed_server", marks=pytest.mark.postgres, id="postgres")], ids=str
)
def test_two_tenants_never_see_each_other(backend: str, request: pytest.FixtureRequest) -> None:
    server: Server = request.getfixturevalue(backend)
    suffix = secrets.token_hex(4)
    registry = Registry()
    actors = []
    for index, name in enumerate(("alpha", "bravo")):
        tenant = f"iso-{name}-{suffix}"
        client = server.tenant_client(tenant)
        marker = f"zq{name}mark"
        actor = Actor(name, tenant, marker, client, random.Random(1000 + index))
        actor.ids_store_wide = backend == "server"
        pinned = client.post(
            "/v1/memories",
            json={
                "messages": [{"role": "user", "name": "Ana", "content": _sentence(actor)} for _ in range(3)],
                "user_id": PINNED,
            },
        )
        pinned.raise_for_status()
        actor.pinned = [i for i in pinned.json()["ids"]]
        registry.add(tenant, actor.pinned)
        actors.append(actor)
    failures: list[str] = []
    threads = [
        threading.Thread(target=_run, args=(actors[0], actors[1], registry, OPERATIONS // 2, failures)),
        threading.Thread(target=_run, args=(actors[1], actors[0], registry, OPERATIONS // 2, failures)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for actor in actors:
        actor.client.close()
    for actor in actors:
        print(actor.name, dict(sorted(actor.statuses.items())))
        print(
            actor.name,
            "seconds per op:",
            {op: round(t, 1) for op, t in sorted(actor.seconds.items(), key=lambda kv: -kv[1])},
        )
    assert not failures, failures[:5]
    total = sum(sum(a.statuses.values()) for a in actors)
    assert total >= 1000
    for actor in actors:  # every endpoint was exercised, and foreign ids were refused
        ops = {key.split()[0] for key in actor.statuses}
        assert ops >= {"add", "search", "context", "list", "get", "update", "delete", "history", "profile", "stats"}
        assert {"forget", "export", "import"} <= ops
        assert actor.statuses["import 200"] > 0 and actor.statuses["import 400"] > 0
        assert actor.statuses["get 404"] > 0 and actor.statuses["add 201"] > 0
    if backend == "postgres_backed_server":
        _database_hides_each_tenant_from_the_other(server.db_url, actors)


def _database_hides_each_tenant_from_the_other(db_url: str, actors: list[Actor]) -> None:
    """Behind the server, the database itself: as the application role with one tenant set and no
    WHERE clause at all, raw SQL sees only that tenant's rows and none of the other's texts."""
    import psycopg

    from outcrop.stores.postgres.schema import APP_ROLE, SCHEMA

    for actor, other in (actors, actors[::-1]):
        with psycopg.connect(db_url) as conn, conn.transaction():
            conn.execute(f"SET LOCAL ROLE {APP_ROLE}")
            conn.execute("SELECT set_config('outcrop.tenant', %s, true)", [actor.tenant])
            for table in ("items", "log"):
                tenants = {r[0] for r in conn.execute(f"SELECT DISTINCT tenant FROM {SCHEMA}.{table}")}
                assert tenants == {actor.tenant}, (table, tenants)
            leaked = conn.execute(f"SELECT count(*) FROM {SCHEMA}.items WHERE text LIKE %s", [f"%{other.marker}%"])
            row = leaked.fetchone()
            assert row is not None and row[0] == 0
