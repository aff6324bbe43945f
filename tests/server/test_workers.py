"""``outcrop serve --workers N``: N processes on one port over one store, on a real SQLite file.
Each worker opens the store itself; a write acknowledged by one is found through every other,
and a worker killed with SIGKILL is replaced while the others keep serving."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from outcrop.server.launch import ServerProcess
from tests.server.conftest import ADMIN_KEY

WORKERS = 2


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie awaiting its reaper is not)."""
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _workers(pid: int) -> set[int]:
    """The supervisor's worker processes (multiprocessing's spawn also starts a resource tracker);
    a child that ends between the listing and the read of its command line is none."""
    found = set()
    for child in _children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:  # gone meanwhile (the killed worker, reaped)
            continue
        if b"resource_tracker" not in command:
            found.add(child)
    return found


def _server(tmp_path: Path) -> ServerProcess:
    """``outcrop serve --workers 2`` on a SQLite file in ``tmp_path``."""
    args = ("--keys", str(tmp_path / "keys.db"), "--workers", str(WORKERS), "--log-level", "warning")
    return ServerProcess(
        f"sqlite:///{tmp_path / 'm.db'}",
        admin_key=ADMIN_KEY,
        args=args,
        log_path=tmp_path / "server.log",
        startup_timeout=300.0,
    )


def test_workers_share_the_store_and_replace_a_killed_one(tmp_path: Path) -> None:
    process = _server(tmp_path)
    with process, httpx.Client(base_url=process.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        assert process.process is not None
        deadline = time.monotonic() + 300
        while len(_workers(process.process.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.5)
        workers = _workers(process.process.pid)
        assert len(workers) == WORKERS
        admin.post("/v1/admin/tenants", json={"name": "acme"}).raise_for_status()
        key = admin.post("/v1/admin/tenants/acme/keys", json={"name": "test"}).json()["key"]
        headers = {"Authorization": f"Bearer {key}"}
        ids: list[str] = []
        for n in range(12):  # each on a new connection: the kernel spreads them over the workers
            with httpx.Client(base_url=process.url, headers=headers, timeout=60.0) as fresh:
                body = {"messages": f"Note {n}: the tram to Belem runs at {n} o'clock.", "user_id": "u1"}
                response = fresh.post("/v1/memories", json=body)
                assert response.status_code == 201, response.text
                ids += response.json()["ids"]
        for n in range(6):  # one key, two bodies, sent at once to (likely) two workers: one writes
            statuses: list[int] = []

            def send(text: str, key: str = f"k-{n}", statuses: list[int] = statuses) -> None:
                with httpx.Client(base_url=process.url, headers=headers, timeout=60.0) as fresh:
                    body = {"messages": text, "user_id": "u1"}
                    response = fresh.post("/v1/memories", json=body, headers={"Idempotency-Key": key})
                    statuses.append(response.status_code)
                    if response.status_code == 201:
                        ids.extend(response.json()["ids"])

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(send, [f"Round {n}: the ferry leaves at nine.", f"Round {n}: the ferry leaves at ten."]))
            assert sorted(statuses) == [201, 409], statuses
        os.kill(next(iter(workers)), signal.SIGKILL)
        for _ in range(12):  # every acknowledged write is visible from whichever worker answers
            with httpx.Client(base_url=process.url, headers=headers, timeout=60.0) as fresh:
                listed = fresh.get("/v1/memories", params={"user_id": "u1", "level": "turn", "limit": 100})
                assert listed.status_code == 200, listed.text
                assert sorted(m["id"] for m in listed.json()["items"]) == sorted(ids)
        deadline = time.monotonic() + 120  # its own wait: the writes above may take minutes on a loaded machine
        while len(_workers(process.process.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.5)
        workers = _workers(process.process.pid)
        assert len(workers) == WORKERS  # the killed one was replaced
        process.process.kill()  # the supervisor itself, by SIGKILL: its workers must not serve on
        process.process.wait()
        while any(Path(f"/proc/{w}").exists() and _alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(Path(f"/proc/{w}").exists() and _alive(w) for w in workers)


def test_the_workers_configuration_leaves_no_file_behind(tmp_path: Path) -> None:
    """The supervisor wrote its configuration, admin key and pepper included, to a file in the
    temporary folder, which a SIGKILL of the supervisor left there."""
    before = set(Path(tempfile.gettempdir()).glob("outcrop-serve-*"))
    process = _server(tmp_path)
    with process:
        assert process.process is not None
        with httpx.Client(base_url=process.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
            admin.post("/v1/admin/tenants", json={"name": "acme"}).raise_for_status()
        leftover = set(Path(tempfile.gettempdir()).glob("outcrop-serve-*")) - before
        assert leftover == set()
        environ = Path(f"/proc/{process.process.pid}/environ")
        assert environ.stat().st_mode & 0o077 == 0  # the configuration's place: the owner's alone
