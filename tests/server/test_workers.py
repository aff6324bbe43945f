"""``outcrop serve --workers N``: N processes on one port over one store, on a real SQLite file.
Each worker opens the store itself; a write acknowledged by one is found through every other,
and a worker killed with SIGKILL is replaced while the others keep serving. A worker that cannot
start stops the server with its error (exit code 2) instead of being replaced for ever, and a stop
while workers fail to start is prompt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from outcrop.server.launch import ServerProcess, free_port
from outcrop.server.supervisor import MAX_FAILED_STARTS
from tests.server.conftest import ADMIN_KEY

WORKERS = 2
_MAIN = "from outcrop.cli import main; main()"


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
        if b"resource_tracker" not in command and _alive(child):  # a zombie is no worker
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
    with _serving_workers(tmp_path) as (process, admin, workers):
        assert process.process is not None
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


@contextmanager
def _serving(tmp_path: Path, db_url: str, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``outcrop serve --workers 2`` started (not waited for), its output in ``tmp_path/server.log``;
    killed at the end if still running (its workers follow it: PR_SET_PDEATHSIG)."""
    port = free_port()
    command = [sys.executable, "-c", _MAIN, "serve", "--db", db_url, "--port", str(port), "--workers", str(WORKERS)]
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen([*command, "--log-level", "warning", *args], stdout=log, stderr=log)
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _errors(tmp_path: Path) -> tuple[list[str], str]:
    log = (tmp_path / "server.log").read_text(errors="replace")
    return [line for line in log.splitlines() if line.startswith("error:")], log


def _exit(process: subprocess.Popen[bytes], within: float) -> tuple[int | None, float]:
    """The server's exit code (None: still running after ``within`` seconds) and how long it took."""
    started = time.monotonic()
    try:
        code: int | None = process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        code = None
    return code, time.monotonic() - started


def _spawned(pid: int) -> bool:
    """A worker process is running Python's multiprocessing (it has been exec'd)."""
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill_starting_workers(process: subprocess.Popen[bytes], killed: set[int], *, until: int, within: float) -> None:
    """SIGKILL each worker as soon as it runs (long before it loads the model and serves), as
    the OOM killer would, until ``until`` are killed or the supervisor has exited. A child not yet
    exec'd is left alone: between fork and exec multiprocessing's resource tracker reads as the
    supervisor's own command line, and killing it counted a sixth "worker" the supervisor never had."""
    deadline = time.monotonic() + within
    while process.poll() is None and len(killed) < until and time.monotonic() < deadline:
        for worker in _workers(process.pid) - killed:
            if not _spawned(worker):
                continue
            try:
                os.kill(worker, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.add(worker)
        time.sleep(0.02)


def test_a_worker_that_cannot_open_its_database_stops_the_server_with_its_error(tmp_path: Path) -> None:
    """The keys database is a folder: each worker fails its startup. The server stopped with exit
    code 0 and each worker's traceback (older uvicorn releases replaced them for ever); now exit code 2 and
    the worker's error as one line."""
    keys = tmp_path / "keys-is-a-folder"
    keys.mkdir()
    with _serving(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", "--keys", str(keys)) as (process, _):
        code, took = _exit(process, 30)
    errors, log = _errors(tmp_path)
    assert code == 2, (code, log[-2000:])
    assert took < 30
    assert len(errors) == 1, log[-2000:]
    assert errors[0].startswith(f"error: a server worker could not start: cannot open the server database {keys}")
    assert "Traceback" not in log


def test_a_worker_that_cannot_build_its_app_is_not_replaced_for_ever(tmp_path: Path) -> None:
    """A store path that is not UTF-8 serves with one process, but its configuration, handed down
    to the workers as JSON, does not validate there: each worker's app factory raised (exit code 1),
    and uvicorn's supervisor replaced it for ever (a SIGTERM then took up to 120 s: a blocking ping
    of a worker that died before answering). Should the workers one day take that path over, the
    server serves, which is fine too; what it must not do is neither serve nor stop."""
    store = tmp_path / os.fsdecode(b"m\xff.db")
    with _serving(tmp_path, f"sqlite:///{store}", "--keys", str(tmp_path / "keys.db")) as (process, url):
        deadline = time.monotonic() + 30
        served = False
        while process.poll() is None and time.monotonic() < deadline and not served:
            try:
                served = httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)
        code = process.poll()
    if served:
        return
    errors, log = _errors(tmp_path)
    assert code == 2, (code, log[-2000:])
    assert len(errors) == 1, log[-2000:]
    assert errors[0].startswith("error: a server worker could not start: the configuration handed down to the worker")
    assert "Traceback" not in log


def test_workers_killed_while_starting_are_replaced_a_bounded_number_of_times(tmp_path: Path) -> None:
    """Workers that die before serving without saying why (killed while loading the model) are
    replaced after a growing pause, a bounded number of times; then the server stops (exit code 2)."""
    killed: set[int] = set()
    with _serving(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", "--keys", str(tmp_path / "keys.db")) as (process, _):
        _kill_starting_workers(process, killed, until=10 * MAX_FAILED_STARTS, within=30)
        code, _ = _exit(process, 5)
    errors, log = _errors(tmp_path)
    assert code == 2, (code, len(killed), log[-2000:])
    assert len(killed) == MAX_FAILED_STARTS
    assert errors == [
        f"error: a server worker could not start: {MAX_FAILED_STARTS} workers in a row died before serving"
        " (the last: killed by SIGKILL)"
    ]


def test_a_stop_while_workers_fail_to_start_is_prompt(tmp_path: Path) -> None:
    """SIGTERM while workers fail to start (two killed as they started, the next one stuck: SIGSTOP)
    stops the server in seconds: uvicorn's supervisor sat up to 120 s (its health-check timeout)
    in a blocking ping of a worker that did not answer, the signal waiting meanwhile."""
    killed: set[int] = set()
    stuck: int | None = None
    with _serving(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", "--keys", str(tmp_path / "keys.db")) as (process, _):
        try:
            _kill_starting_workers(process, killed, until=2, within=30)
            deadline = time.monotonic() + 30
            while stuck is None and process.poll() is None and time.monotonic() < deadline:
                for worker in _workers(process.pid) - killed:
                    if _spawned(worker):  # not between fork and exec, where the supervisor waits for it
                        stuck = worker
                        os.kill(stuck, signal.SIGSTOP)
                        break
                time.sleep(0.02)
            assert stuck is not None and process.poll() is None
            time.sleep(1.5)  # the supervisor pings its workers meanwhile
            process.send_signal(signal.SIGTERM)
            code, took = _exit(process, 15)
        finally:
            if stuck is not None:  # a stopped process acts on no signal but SIGKILL
                try:
                    os.kill(stuck, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert code == 0, (code, took)
    assert took < 10


@contextmanager
def _serving_workers(tmp_path: Path) -> Iterator[tuple[ServerProcess, httpx.Client, set[int]]]:
    """``outcrop serve --workers 2`` with both workers up, an admin client and the workers' pids."""
    process = _server(tmp_path)
    with process, httpx.Client(base_url=process.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
        assert process.process is not None
        deadline = time.monotonic() + 300
        while len(_workers(process.process.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.5)
        workers = _workers(process.process.pid)
        assert len(workers) == WORKERS
        yield process, admin, workers


def test_sighup_restarts_the_workers_one_at_a_time(tmp_path: Path) -> None:
    """uvicorn's supervisor restarted its workers on SIGHUP; outcrop's first one died of it,
    silently, its workers with it."""
    with _serving_workers(tmp_path) as (process, admin, first):
        assert process.process is not None
        process.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            now = _workers(process.process.pid)
            if len(now) == WORKERS and not now & first:
                break
            assert process.process.poll() is None
            time.sleep(0.5)
        assert not _workers(process.process.pid) & first  # every worker replaced
        assert admin.get("/v1/admin/tenants").status_code == 200  # and the server serves on


def test_a_replacement_that_cannot_start_leaves_the_serving_workers_serving(tmp_path: Path) -> None:
    """Once the server served, a replacement worker that could not start (its database away for
    a while) stopped the whole server, the healthy worker too; now it is retried while the others
    serve, and comes back when it can."""
    keys = tmp_path / "keys.db"
    with _serving_workers(tmp_path) as (process, admin, workers):
        assert process.process is not None
        keys.rename(tmp_path / "keys.away")
        keys.mkdir()  # a new worker's keys database cannot be opened
        os.kill(next(iter(workers)), signal.SIGKILL)
        deadline = time.monotonic() + 120
        while "could not start" not in (tmp_path / "server.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "could not start" in (tmp_path / "server.log").read_text()
        assert process.process.poll() is None and admin.get("/v1/admin/tenants").status_code == 200
        keys.rmdir()
        (tmp_path / "keys.away").rename(keys)
        # the same two workers for 5 s: a replacement started before the keys came back may still fail
        deadline, back, since = time.monotonic() + 300, set(), time.monotonic()
        while time.monotonic() < deadline:
            now = _workers(process.process.pid)
            if now != back:
                back, since = now, time.monotonic()
            elif len(back) == WORKERS and time.monotonic() - since >= 5:
                break
            time.sleep(0.5)
        failures = (tmp_path / "server.log").read_text().count("could not start")
        time.sleep(10)  # a replacement that failed would have ended by now (it fails at its startup)
        assert _workers(process.process.pid) == back and len(back) == WORKERS
        assert (tmp_path / "server.log").read_text().count("could not start") == failures
        assert process.process.poll() is None
