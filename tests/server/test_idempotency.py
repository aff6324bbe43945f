"""Idempotency records go with what they recorded: a forget erases every record whose add returned a
turn it erased (each holds a digest of the forgotten messages), on the running server and, for a
forget whose server stopped first, at the next start."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from outcrop import Memory, MemoryConfig
from outcrop.providers import Embedder
from outcrop.server import ServerConfig, create_app
from outcrop.server.app import open_state
from outcrop.server.idempotency import PENDING, SQLiteIdempotencyStore, StoredResponse, fingerprint
from outcrop.server.schemas import AddRequest
from outcrop.server.sidecar import SidecarDB
from outcrop.stores.sqlite.driver import sqlite3
from tests.server.conftest import NewClient, Server
from tests.server.wire import threaded_server


def _keys(server: Server, tenant: str) -> list[str]:
    with sqlite3.connect(server.keys_path) as db:
        rows = db.execute("SELECT key FROM idempotency WHERE tenant = ? ORDER BY key", (tenant,)).fetchall()
    return [row[0] for row in rows]


def _add(client: object, key: str, **body: object) -> list[str]:
    response = client.post("/v1/memories", json=body, headers={"Idempotency-Key": key})  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    ids: list[str] = response.json()["ids"]
    return ids


def test_forget_erases_the_idempotency_records_of_what_it_erased(server: Server, tenant_client: NewClient) -> None:
    tenant = f"t-{secrets.token_hex(6)}"
    client = tenant_client(tenant)
    [secret] = _add(client, "k-secret", messages="My locker code is 4471.", user_id="u1", session_id="s1")
    _add(client, "k-kept", messages="I like green tea.", user_id="u1", session_id="s2")
    _add(client, "k-user2", messages="I moved to Lisbon.", user_id="u2")
    assert _keys(server, tenant) == ["k-kept", "k-secret", "k-user2"]

    assert client.post("/v1/forget", json={"ids": [secret]}).status_code == 200
    assert _keys(server, tenant) == ["k-kept", "k-user2"]
    # the key is free again: the same request writes anew instead of replaying a forgotten answer
    again = client.post(
        "/v1/memories",
        json={"messages": "My locker code is 4471.", "user_id": "u1", "session_id": "s1"},
        headers={"Idempotency-Key": "k-secret"},
    )
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert again.json()["ids"] != [secret]

    assert client.post("/v1/forget", json={"user_id": "u2"}).status_code == 200  # a whole user
    assert _keys(server, tenant) == ["k-kept", "k-secret"]


def test_records_of_a_forget_the_server_did_not_finish_are_erased_at_start(tmp_path: Path, embedder: Embedder) -> None:
    """A forget through the library (or a server stopped after the forget, before the records went)
    leaves records of forgotten turns; the next server start erases them."""
    store, keys = f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "k.db"
    config = ServerConfig(memory=MemoryConfig(store=store), keys_path=keys)
    state = open_state(config, embedder=embedder)
    try:
        with Memory(config=MemoryConfig(store=store, tenant="acme"), embedder=embedder) as m:
            [gone] = m.add("My locker code is 4471.", user_id="u1")
            [kept] = m.add("I like green tea.", user_id="u1")
        state.idempotency.save("acme", "k-gone", StoredResponse("f1", 201, {"ids": [gone]}))
        state.idempotency.save("acme", "k-kept", StoredResponse("f2", 201, {"ids": [kept]}))
    finally:
        state.close()
    with Memory(config=MemoryConfig(store=store, tenant="acme"), embedder=embedder) as m:
        assert m.forget([gone]).ok
    state = open_state(config, embedder=embedder)
    try:
        assert state.idempotency.load("acme", "k-gone") is None
        assert state.idempotency.load("acme", "k-kept") is not None
    finally:
        state.close()


_KILLED_FORGET = """
import os, signal, sys
from outcrop import Memory, MemoryConfig
from outcrop.providers import load_embedder
from outcrop.strata.consolidate import Consolidator

def die(*args, **kwargs):  # the erase has committed; the process dies before the rest
    os.kill(os.getpid(), signal.SIGKILL)

Consolidator.after_change = die
m = Memory(config=MemoryConfig(store=sys.argv[1], tenant=sys.argv[2]), embedder=load_embedder("minilm"))
m.forget([sys.argv[3]], user_id="u1", scrub=False)
"""


def test_a_forget_another_process_cut_short_loses_its_records_when_completed(
    server: Server, tenant_client: NewClient
) -> None:
    """A forget killed after its erase (here a library process on the server's store) is completed by
    the server's next forget of that tenant, and the records of what it erased go then too."""
    tenant = f"t-{secrets.token_hex(6)}"
    client = tenant_client(tenant)
    [secret] = _add(client, "k-secret", messages="My locker code is 4471.", user_id="u1", session_id="s1")
    [other] = _add(client, "k-other", messages="I like green tea.", user_id="u1", session_id="s2")
    child = subprocess.run(
        [sys.executable, "-c", _KILLED_FORGET, server.db_url, tenant, secret],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -9, child.stderr
    assert _keys(server, tenant) == ["k-other", "k-secret"]
    receipt = client.post("/v1/forget", json={"ids": [other]}).json()
    assert receipt["resumed"] and receipt["verification"]["passed"]
    assert _keys(server, tenant) == []


def _two_workers(path: Path) -> tuple[SQLiteIdempotencyStore, SQLiteIdempotencyStore]:
    """Two workers' records: two connections to one server file, as two processes open it."""
    return SQLiteIdempotencyStore(SidecarDB(path), ttl_s=3600), SQLiteIdempotencyStore(SidecarDB(path), ttl_s=3600)


def test_a_key_claimed_by_one_worker_holds_against_the_others(tmp_path: Path) -> None:
    """The key was held by a lock of one process: two workers given one key with two bodies both
    wrote, and the first client's retry got a 409 for the write it had been told was done."""
    first, second = _two_workers(tmp_path / "keys.db")
    assert first.claim("acme", "k1", "body-a") is None  # the first request runs
    running = second.claim("acme", "k1", "body-b")
    assert running is not None and running.status == PENDING and running.fingerprint == "body-a"
    assert second.load("acme", "k1") is None  # nothing to replay yet
    first.save("acme", "k1", StoredResponse("body-a", 201, {"ids": ["t_1"]}))
    done = second.claim("acme", "k1", "body-a")
    assert done == StoredResponse("body-a", 201, {"ids": ["t_1"]})
    assert first.referenced("acme") == {"acme": {"t_1"}}


def test_a_failed_request_or_a_dead_claimant_frees_the_key(tmp_path: Path) -> None:
    first, second = _two_workers(tmp_path / "keys.db")
    assert first.claim("acme", "k1", "body-a") is None
    first.release("acme", "k1")
    assert second.claim("acme", "k1", "body-b") is None  # free again: the other body runs
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with sqlite3.connect(tmp_path / "keys.db") as db:  # a claim left by a worker killed mid-request
        db.execute("UPDATE idempotency SET body = ? WHERE key = 'k1'", (json.dumps({"pid": int(gone.stdout)}),))
    assert first.claim("acme", "k1", "body-c") is None


def test_a_request_waiting_for_its_key_holds_up_no_other_writer(server: Server, tenant_client: NewClient) -> None:
    """A request whose key another worker is running waits for that worker's response (up to 30 s);
    it waited holding its user's write lock, so every other write of that user waited with it."""
    tenant = f"t-{secrets.token_hex(6)}"
    client = tenant_client(tenant)
    body = {"messages": "I keep bees.", "user_id": "u1"}
    digest = fingerprint("POST", "/v1/memories", AddRequest.model_validate(body).model_dump(mode="json"))
    other_worker = SQLiteIdempotencyStore(SidecarDB(server.keys_path), ttl_s=3600)
    assert other_worker.claim(tenant, "k-busy", digest) is None  # held by a live process: this one
    waiting: dict[str, httpx.Response] = {}
    thread = threading.Thread(
        target=lambda: waiting.update(r=client.post("/v1/memories", json=body, headers={"Idempotency-Key": "k-busy"}))
    )
    thread.start()
    try:
        time.sleep(0.5)  # the keyed request is polling its claim now
        started = time.monotonic()
        other = client.post("/v1/memories", json={"messages": "I moved to Porto.", "user_id": "u1"})
        assert other.status_code == 201, other.text
        assert time.monotonic() - started < 10 and thread.is_alive()  # written while the first still waits
    finally:
        other_worker.save(tenant, "k-busy", StoredResponse(digest, 201, {"ids": ["t_elsewhere"]}))
        thread.join(timeout=30)
    replayed = waiting["r"]
    assert replayed.status_code == 201 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == {"ids": ["t_elsewhere"]}


def test_a_forget_waits_for_an_add_to_save_its_record_and_erases_it(tmp_path: Path, embedder: Embedder) -> None:
    """An add's record is saved under its user's write lock: a forget that comes between the add's
    write and its record waits for the record, then erases it. Saved after the lock was let go, the
    record of the forgotten turn outlived the forget, and a retry replayed a forgotten id."""
    config = ServerConfig(memory=MemoryConfig(store=f"sqlite:///{tmp_path / 'm.db'}"), keys_path=tmp_path / "k.db")
    app = create_app(config, embedder=embedder)
    with threaded_server(app, config) as address:
        state = app.state.outcrop
        state.keys.create_tenant("acme")
        secret, _ = state.keys.create_key("acme")
        saving, go_on = threading.Event(), threading.Event()
        real_save = state.idempotency.save

        def save_after_a_pause(*args: object) -> None:  # the real save, held until the forget is sent
            saving.set()
            go_on.wait(30)
            real_save(*args)

        state.idempotency.save = save_after_a_pause
        done: dict[str, httpx.Response] = {}
        with httpx.Client(base_url=f"http://{address}", headers={"X-API-Key": secret}, timeout=120) as client:
            body = {"messages": "My locker code is 4471.", "user_id": "u1"}
            add = threading.Thread(
                target=lambda: done.update(
                    add=client.post("/v1/memories", json=body, headers={"Idempotency-Key": "k1"})
                )
            )
            add.start()
            forget = threading.Thread(
                target=lambda: done.update(forget=client.post("/v1/forget", json={"user_id": "u1"}))
            )
            try:
                assert saving.wait(60)  # the turn is written; its record is not saved yet
                forget.start()
                time.sleep(1.0)
                assert forget.is_alive()  # it waits for the add's lock
            finally:
                go_on.set()
                add.join(60)
                if forget.ident is not None:
                    forget.join(60)
            assert done["add"].status_code == 201 and done["forget"].status_code == 200, done
            assert state.idempotency.load("acme", "k1") is None  # the record went with its turn
            again = client.post("/v1/memories", json=body, headers={"Idempotency-Key": "k1"})
            assert again.status_code == 201 and "idempotent-replayed" not in again.headers
            assert again.json()["ids"] != done["add"].json()["ids"]
