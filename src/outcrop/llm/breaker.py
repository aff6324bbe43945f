"""A circuit breaker for one LLM endpoint: after a call finds the server unreachable (its
retries spent), calls fail at once for a cool-down instead of each paying the whole retry budget
again (a dead endpoint cost ``(max_retries + 1) × timeout`` per call: eight minutes with the
defaults, for every turn of an ``add``). When the cool-down is over, one call goes through as a
probe while the others keep failing at once; its success closes the breaker, its failure opens it
again for twice as long, up to :data:`MAX_COOLDOWN_FACTOR` times the configured cool-down.

The strata producers already fall back to their rule-based counterparts on an ``LLMError``, so an
open breaker turns an outage into rule-based strata at rule-based speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from outcrop.errors import LLMCircuitOpenError

__all__ = ["MAX_COOLDOWN_FACTOR", "BreakerState", "CircuitBreaker"]

MAX_COOLDOWN_FACTOR = 8


@dataclass(frozen=True)
class BreakerState:
    """What ``stats()["llm"]["breaker"]`` shows."""

    state: str  # "closed", "open" (failing at once) or "probing" (one call let through)
    opened: int  # times the breaker has opened since the client was made
    refused: int  # calls failed at once while it was open
    retry_in: float  # seconds until the next probe may go (0 when closed)
    last_error: str | None


class CircuitBreaker:
    """Thread-safe. ``cooldown`` 0 turns it off (every call tries the server)."""

    def __init__(self, cooldown: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until: float | None = None  # None: closed
        self._current = cooldown
        self._probing = False
        self._opened = 0
        self._refused = 0
        self._last_error: str | None = None

    def admit(self, where: str) -> bool:
        """Before a call: returns whether this call is the probe of a half-open breaker; raises
        :class:`~outcrop.errors.LLMCircuitOpenError` without calling when the breaker is open."""
        with self._lock:
            if self._open_until is None:
                return False
            wait = self._open_until - self._clock()
            if wait <= 0 and not self._probing:
                self._probing = True
                return True
            self._refused += 1
            again = f"the next try in {wait:.0f}s" if wait > 0 else "a probe call is under way"
            raise LLMCircuitOpenError(
                f"LLM at {where} is unreachable (failing at once: {again}); last error: {self._last_error}"
            )

    def succeeded(self, probe: bool) -> None:
        with self._lock:
            if probe or self._open_until is not None:
                self._open_until = None
                self._current = self.cooldown
            self._probing = False if probe else self._probing

    def failed(self, probe: bool, error: str) -> None:
        """A call ended unreachable (after its retries): open, or stay open for longer."""
        with self._lock:
            self._last_error = error
            if probe:
                self._probing = False
            if self.cooldown <= 0:
                return
            if self._open_until is not None and probe:
                self._current = min(self._current * 2, self.cooldown * MAX_COOLDOWN_FACTOR)
            if self._open_until is None or probe:
                self._opened += 1
                self._open_until = self._clock() + self._current

    def released(self, probe: bool) -> None:
        """A probe that ended neither way (the server answered, but not usefully): let the next
        call probe again."""
        if probe:
            with self._lock:
                self._probing = False

    def state(self) -> BreakerState:
        with self._lock:
            if self._open_until is None:
                return BreakerState("closed", self._opened, self._refused, 0.0, self._last_error)
            wait = max(0.0, self._open_until - self._clock())
            name = "probing" if self._probing else "open"
            return BreakerState(name, self._opened, self._refused, round(wait, 1), self._last_error)
