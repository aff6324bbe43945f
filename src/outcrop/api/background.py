"""The in-process consolidator of ``strata.mode: deferred``: a daemon thread that computes the strata
of the adds an engine noted, behind them.

``add`` writes its turns with a :class:`~outcrop.stores.base.StrataDue` record in the same
transaction and calls :meth:`StrataWorker.note`; the worker then reads the tenant's due records
(whoever wrote them) and consolidates them, many adds at once (:mod:`outcrop.strata.due`).
:meth:`StrataWorker.wait` returns once every add noted before the call is consolidated. A process
that stops first leaves the records, and the next open (or ``outcrop consolidate --follow``)
catches them up: nothing an add wrote is lost or left half-applied.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from outcrop.strata.due import DueReport

__all__ = ["StrataWorker"]

log = logging.getLogger("outcrop")


class StrataWorker:
    """Runs ``drain(tenant)`` in a background thread for each tenant noted, until it has caught up."""

    def __init__(self, drain: Callable[[str], DueReport]) -> None:
        self._drain = drain
        self._state = threading.Condition()
        self._tenants: set[str] = set()  # noted, not yet drained
        self._noted = 0  # notes so far
        self._done = 0  # notes whose drain has finished
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.report = DueReport()  # totals since start

    def note(self, tenant: str) -> None:
        """An add of ``tenant`` left its strata due: drain the tenant's records soon."""
        with self._state:
            if self._stopping:
                raise RuntimeError("the strata worker is stopped")
            self._tenants.add(tenant)
            self._noted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outcrop-strata", daemon=True)
                self._thread.start()
            self._state.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every add noted before this call has its strata (or their consolidation
        failed and was logged: its records stay due); False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._state:
            target = self._noted
            while self._done < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                if self._thread is None or not self._thread.is_alive():
                    return False  # nobody will catch up (stopped); the records stay due
                self._state.wait(left)
            return True

    @property
    def idle(self) -> bool:
        with self._state:
            return self._done >= self._noted

    def stop(self, *, drain: bool = True, timeout: float | None = None) -> bool:
        """Stop the thread, after catching up with every add noted when ``drain`` (the default);
        what is left stays due in the store. True when it stopped in time."""
        if drain:
            self.wait(timeout)
        with self._state:
            self._stopping = True
            self._state.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _run(self) -> None:
        while True:
            with self._state:
                while not self._tenants and not self._stopping:
                    self._state.wait()
                if self._stopping:
                    return
                tenants, target = sorted(self._tenants), self._noted
                self._tenants.clear()
            for tenant in tenants:
                try:
                    done = self._drain(tenant)
                except Exception:  # a bug or a store gone: logged; the records stay due for the next open
                    log.exception("background consolidation of tenant %r failed", tenant)
                    continue
                self.report.adds += done.adds
                self.report.turns += done.turns
                self.report.failed += done.failed
            with self._state:
                self._done = max(self._done, target)
                self._state.notify_all()
