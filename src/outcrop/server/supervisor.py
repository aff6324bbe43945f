"""``outcrop serve --workers N``: the supervisor of N server processes on one listening socket.

Each worker is a spawned process that builds its app (``factory``), runs uvicorn's server on the
shared socket, and tells the supervisor over a pipe when it serves, or why it could not start.
uvicorn's own supervisor took a worker whose app factory raised (exit code 1) for a crash and
started another, for ever; and it pinged each worker with a blocking wait of up to the health-check
timeout (120 s here): a worker that died before answering held the supervisor, and a SIGTERM, that
long.

- Until a worker has served, a worker that cannot start (its app's factory or startup raises)
  stops the server: every replacement would fail the same way. The supervisor stops the other
  workers and raises :class:`WorkerStartError` with the worker's own message (the CLI prints it as
  one line, exit 2); the worker logs no traceback for one of outcrop's errors (a bug's traceback
  stays). A worker that dies before serving without saying why (a signal: the OOM killer while it
  loads the model; a crash) is replaced after a pause that doubles, up to
  :data:`MAX_FAILED_STARTS` times in a row; then the server stops the same way.
- Once a worker has served, the server runs on: a replacement that cannot start (the database
  down for a while) is logged with its error and tried again after a pause that doubles, up to
  :data:`MAX_PAUSE_S`, while the other workers serve.
- A worker that dies after it served is replaced at once.
- SIGHUP restarts the workers one at a time (each replaced once the one before serves again),
  as uvicorn's supervisor did.
- A worker that does not answer a ping within :data:`HEALTHCHECK_S` is killed (and replaced as above).
- SIGINT or SIGTERM stops the workers (SIGTERM; SIGKILL after :data:`STOP_GRACE_S`, or
  :data:`STARTING_STOP_GRACE_S` for one still starting; at once on a second signal) and returns.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

from outcrop.errors import OutcropError

__all__ = [
    "HEALTHCHECK_S",
    "MAX_FAILED_STARTS",
    "MAX_PAUSE_S",
    "STARTUP_FAILURE",
    "QuietFailure",
    "Supervisor",
    "WorkerStartError",
    "logger",
    "watch_startup",
]

logger = logging.getLogger("uvicorn.error")

STARTUP_FAILURE = 3  # a worker's exit code when it could not start (uvicorn's own, too)
# a worker that does not answer a ping within this is killed; uvicorn's default 5 s killed workers
# still loading the embedding model on a busy machine, again and again
HEALTHCHECK_S = 120.0
MAX_FAILED_STARTS = 5  # workers in a row dying before they serve, none serving in between
STOP_GRACE_S = 30.0  # for a serving worker to finish its requests once told to stop
STARTING_STOP_GRACE_S = 3.0  # for a worker that serves nothing yet
_PING_EVERY_S = 5.0
_TICK_S = 0.5
_FIRST_PAUSE_S = 0.5  # before replacing a worker that died while starting; doubles each time
MAX_PAUSE_S = 8.0


class WorkerStartError(OutcropError):
    """A server worker could not start, so the server stopped."""


def _reason(exc: BaseException) -> str:
    """An exception as one line: outcrop's own errors by their message, others with their type."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if isinstance(exc, OutcropError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


# -- in the worker process ---------------------------------------------------------------------


class _Channel:
    """The worker's end of its pipe: messages to the supervisor (from two threads), pings answered."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, *message: str) -> None:
        with self._lock:
            try:
                self._conn.send(message)
            except OSError:  # the supervisor is gone: the worker is told by its own signal
                pass

    def answer_pings(self) -> None:
        try:
            while True:
                self._conn.recv()
                self.send("pong")
        except (EOFError, OSError):
            return


class _Server(uvicorn.Server):
    """uvicorn's server, which says when it serves."""

    def __init__(self, config: uvicorn.Config, channel: _Channel) -> None:
        super().__init__(config)
        self._channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._channel.send("serving")


def watch_startup(app: Any, failures: list[BaseException], tell: Callable[[str], None] | None = None) -> None:
    """Collect in ``failures`` an exception of the app's startup (its lifespan, where the store
    opens), and ``tell`` it as one line (a worker: to its supervisor)."""
    router: Any = getattr(app, "router", None)
    lifespan = getattr(router, "lifespan_context", None)
    if lifespan is None:
        return

    @asynccontextmanager
    async def watched(app: Any) -> AsyncIterator[Any]:
        started = False
        try:
            async with lifespan(app) as state:
                started = True
                yield state
        except Exception as exc:
            if not started:
                failures.append(exc)
                if tell is not None:
                    tell(_reason(exc))
            raise

    router.lifespan_context = watched


class QuietFailure(logging.Filter):
    """Once the app's startup failed with one of outcrop's errors (reported to the supervisor as
    one line), uvicorn's traceback and "Application startup failed" are not logged."""

    def __init__(self, failures: list[BaseException]) -> None:
        super().__init__()
        self._failures = failures

    def filter(self, record: logging.LogRecord) -> bool:
        quiet = bool(self._failures) and isinstance(self._failures[0], OutcropError)
        return not (quiet and record.levelno >= logging.ERROR)


def _work(
    factory: Callable[[], Any], settings: dict[str, Any], sockets: list[socket.socket], conn: Connection
) -> None:  # pragma: no cover (runs in the worker process)
    try:
        _serve_worker(factory, settings, sockets, conn)
    except KeyboardInterrupt:  # Ctrl-C reaches the workers too (one process group): the supervisor stops them
        sys.exit(0)


def _serve_worker(
    factory: Callable[[], Any], settings: dict[str, Any], sockets: list[socket.socket], conn: Connection
) -> None:  # pragma: no cover (runs in the worker process)
    channel = _Channel(conn)
    threading.Thread(target=channel.answer_pings, name="outcrop-pong", daemon=True).start()
    config = uvicorn.Config(factory, **settings)  # logging is configured here; the app is built next
    try:
        config.app = factory()
    except Exception as exc:
        if not isinstance(exc, OutcropError):
            logger.error("The app could not be built", exc_info=exc)
        channel.send("failed", _reason(exc))
        sys.exit(STARTUP_FAILURE)
    failures: list[BaseException] = []
    watch_startup(config.app, failures, lambda reason: channel.send("failed", reason))
    logger.addFilter(QuietFailure(failures))
    server = _Server(config, channel)
    try:
        server.run(sockets=sockets)
    except KeyboardInterrupt:  # uvicorn raises a captured SIGINT again once it has stopped
        pass
    if failures and not server.started:
        sys.exit(STARTUP_FAILURE)


# -- in the supervisor -------------------------------------------------------------------------


@dataclass
class _Worker:
    slot: int
    process: BaseProcess
    conn: Connection
    last_ping: float
    serving: bool = False
    restarting: bool = False  # stopped by a SIGHUP's rolling restart
    failure: str | None = None
    ping_sent: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid or 0


class Supervisor:
    """Runs ``workers`` processes, each serving ``factory()``'s app with uvicorn's ``settings``
    (:class:`uvicorn.Config` arguments; picklable) on ``sockets``, until SIGINT or SIGTERM;
    :meth:`run` raises :class:`WorkerStartError` when the workers cannot start (module docstring)."""

    def __init__(
        self, factory: Callable[[], Any], settings: dict[str, Any], sockets: list[socket.socket], workers: int
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._sockets = sockets
        self._count = workers
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, _Worker] = {}
        self._due: dict[int, float] = {}  # slot → when its replacement starts
        self._failed_starts = 0
        self._served = False  # a worker has served since the supervisor started
        self._signals = 0
        self._restarts: list[int] = []  # slots a SIGHUP asked to restart, not yet restarted
        self._error: str | None = None

    def run(self) -> None:
        logger.info("Started parent process [%d]", os.getpid())
        with self._handling_signals():
            try:
                for slot in range(self._count):
                    self._start(slot)
                while not self._signals and self._error is None:
                    self._tick()
            finally:
                self._stop_all()
        logger.info("Stopping parent process [%d]", os.getpid())
        if self._error is not None:
            raise WorkerStartError(f"a server worker could not start: {self._error}")

    @contextmanager
    def _handling_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(signum: int, frame: FrameType | None) -> None:
            self._signals += 1

        def restart(signum: int, frame: FrameType | None) -> None:
            logger.info("Restarting the workers (SIGHUP)")
            self._restarts = sorted(set(self._restarts) | set(self._workers))

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        if hasattr(signal, "SIGHUP"):  # not on Windows
            previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, restart)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, slot: int) -> None:
        mine, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_work, args=(self._factory, self._settings, self._sockets, theirs), name=f"outcrop-worker-{slot}"
        )
        process.start()
        theirs.close()  # the worker has its own copy: its end closes when it dies
        self._workers[slot] = _Worker(slot, process, mine, last_ping=time.monotonic())

    def _tick(self) -> None:
        now = time.monotonic()
        for slot, due in list(self._due.items()):
            if now >= due:
                del self._due[slot]
                self._start(slot)
        workers = list(self._workers.values())
        wait([w.conn for w in workers] + [w.process.sentinel for w in workers], timeout=_TICK_S)
        for worker in workers:
            self._read(worker)
            if not worker.process.is_alive():
                self._reap(worker)
            elif self._error is None:
                self._ping(worker)
        self._restart_next()

    def _restart_next(self) -> None:
        """One worker of a SIGHUP's restart, once every other worker serves."""
        everyone = len(self._workers) == self._count and not self._due
        if not self._restarts or not everyone or not all(w.serving for w in self._workers.values()):
            return
        worker = self._workers.get(self._restarts.pop(0))
        if worker is not None and worker.process.is_alive():
            worker.restarting = True
            worker.process.terminate()  # it finishes its requests; the reaper starts its replacement

    def _read(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if message[0] == "serving":
                    worker.serving = self._served = True
                    self._failed_starts = 0
                elif message[0] == "failed":
                    worker.failure = worker.failure or message[1]
                elif message[0] == "pong":
                    worker.ping_sent = None
        except (EOFError, OSError):  # the worker is gone: its exit code tells the rest
            pass

    def _ping(self, worker: _Worker) -> None:
        now = time.monotonic()
        if worker.ping_sent is not None:
            if now - worker.ping_sent > HEALTHCHECK_S:
                logger.error("Worker [%d] did not answer for %d s: killing it", worker.pid, HEALTHCHECK_S)
                worker.process.kill()
            return
        if now - worker.last_ping >= _PING_EVERY_S:
            worker.last_ping = worker.ping_sent = now
            try:
                worker.conn.send("ping")
            except OSError:  # it is dying: the next tick reaps it
                pass

    def _reap(self, worker: _Worker) -> None:
        worker.process.join()
        worker.conn.close()
        del self._workers[worker.slot]
        if self._signals or self._error is not None:
            return
        exitcode = worker.process.exitcode
        if worker.serving:
            if worker.restarting:
                logger.info("Worker [%d] stopped; starting its replacement", worker.pid)
            else:
                logger.warning("Worker [%d] died (%s); starting another", worker.pid, _how(exitcode))
            self._start(worker.slot)
            return
        why = worker.failure or (f"exit code {exitcode}" if exitcode == STARTUP_FAILURE else None)
        self._failed_starts += 1
        if not self._served:  # nothing has served yet: a replacement would fail the same way
            if worker.failure is not None:
                self._error = worker.failure
                return
            if exitcode == STARTUP_FAILURE:
                self._error = f"its process ended with exit code {exitcode} (see the log above)"
                return
            if self._failed_starts >= MAX_FAILED_STARTS:
                self._error = f"{self._failed_starts} workers in a row died before serving (the last: {_how(exitcode)})"
                return
        pause = min(_FIRST_PAUSE_S * 2 ** min(self._failed_starts - 1, 10), MAX_PAUSE_S)  # retried for days
        logger.warning(
            "Worker [%d] could not start (%s); starting another in %.1f s", worker.pid, why or _how(exitcode), pause
        )
        self._due[worker.slot] = time.monotonic() + pause

    def _stop_all(self) -> None:
        self._due.clear()
        now = time.monotonic()
        deadlines = {}
        for worker in self._workers.values():
            if worker.process.is_alive():
                worker.process.terminate()
            deadlines[worker.slot] = now + (STOP_GRACE_S if worker.serving else STARTING_STOP_GRACE_S)
        signals = self._signals
        for worker in list(self._workers.values()):
            logger.info("Waiting for worker [%d]", worker.pid)
            while worker.process.is_alive() and time.monotonic() < deadlines[worker.slot]:
                if self._signals > signals:  # asked again: no more waiting
                    break
                worker.process.join(0.1)
            if worker.process.is_alive():
                logger.warning("Worker [%d] did not stop in time: killing it", worker.pid)
                worker.process.kill()
            worker.process.join()
            worker.conn.close()
        self._workers.clear()
