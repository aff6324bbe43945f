"""Writes of different tenants through one real server run side by side: adds from 8 tenants at
once all land with unique session positions, and a long ingest of one tenant does not hold up
another tenant's adds (there is no lock shared by all tenants)."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from outcrop.stores.sqlite.driver import sqlite3
from tests.server.conftest import NewClient, Server, api_add


def _positions(server: Server, tenant: str) -> list[int]:
    """The session positions of the tenant's turns, read from the server's own file."""
    with sqlite3.connect(server.db_url.removeprefix("sqlite:///")) as db:
        rows = db.execute(
            "SELECT position FROM items WHERE tenant = ? AND level = 'turn' ORDER BY position", (tenant,)
        ).fetchall()
    return [r[0] for r in rows]


def test_adds_from_eight_tenants_at_once_all_land(server: Server, tenant_client: NewClient) -> None:
    tenants = [f"t-{secrets.token_hex(6)}" for _ in range(8)]
    clients = [tenant_client(t) for t in tenants]

    def adds(client: httpx.Client) -> list[str]:
        ids: list[str] = []
        for n in range(4):
            ids += api_add(
                client,
                user_id="u1",
                session_id="s1",
                messages=[
                    {"role": "user", "content": f"Note {n}.{k}: the heron came back to the pond."} for k in range(3)
                ],
            )
        return ids

    with ThreadPoolExecutor(8) as pool:
        added = list(pool.map(adds, clients))
    for tenant, client, ids in zip(tenants, clients, added, strict=True):
        assert len(set(ids)) == 12
        listed = client.get("/v1/memories", params={"user_id": "u1", "level": "turn", "limit": 100}).json()
        assert {i["id"] for i in listed["items"]} == set(ids)
        assert _positions(server, tenant) == list(range(12))  # every position once, none skipped


def test_a_long_ingest_of_one_tenant_does_not_hold_up_another(tenant_client: NewClient) -> None:
    slow, quick = tenant_client(), tenant_client()
    api_add(quick, user_id="u1", messages=[{"role": "user", "content": "Warm-up."}])  # the tenant view exists
    messages = [
        {"role": "user", "name": "Ann" if n % 2 else "Bo", "content": f"Day {n}: I walked to the harbour and met Kim."}
        for n in range(200)
    ]
    done = threading.Event()
    spans: dict[str, float] = {}

    def long_ingest() -> None:
        started = time.perf_counter()
        api_add(slow, user_id="u1", session_id="s1", messages=messages)
        spans["slow"] = time.perf_counter() - started
        done.set()

    worker = threading.Thread(target=long_ingest)
    worker.start()
    time.sleep(0.5)  # the long add is under way
    latencies = []
    for n in range(5):
        started = time.perf_counter()
        api_add(quick, user_id="u1", session_id="s1", messages=[{"role": "user", "content": f"Quick note {n}."}])
        latencies.append(time.perf_counter() - started)
    finished_during = not done.is_set()
    worker.join()
    assert finished_during, f"the other tenant's adds waited for the long one ({spans}, {latencies})"
    assert max(latencies) < spans["slow"] / 3, (latencies, spans)
