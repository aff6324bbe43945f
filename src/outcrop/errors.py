"""The exceptions outcrop raises.

Every error the library raises on purpose derives from :class:`OutcropError`, so a caller
can catch by layer::

    OutcropError
    ├── ConfigError            bad or inconsistent configuration (unknown store URL, model mismatch)
    ├── InvalidInputError      bad input from the caller: empty, oversized or non-UTF-8 text,
    │                          malformed messages or files, bad timestamps (also a ValueError)
    ├── NotFoundError          an id that does not exist in the caller's scope (also a KeyError)
    ├── StoreError             the storage backend failed; nothing partial was written
    │   └── WriteConflict      a concurrent writer got there first; retried, then raised
    └── ProviderError          an embedding model or LLM failed or is not installed
        └── LLMError           an LLM call failed (the ledger records it)
            ├── LLMUnavailableError  connection failed or timed out, after the retries
            │   └── LLMCircuitOpenError  not tried: a recent call found the server unreachable
            ├── LLMStatusError       the server answered with an HTTP error status, after the retries
            └── LLMOutputError       the reply is unusable after one repair round: invalid JSON,
                                     a schema violation, an empty reply, the schema echoed back
    └── BulkWorkError          bulk work over many tenants (or evaluation cases) failed for some
                               of them; names each with its error and carries the others' results

The CLI maps each to a one-line message and a non-zero exit code; the REST server maps each to
one HTTP status in a single handler.
"""

from __future__ import annotations

__all__ = [
    "BulkWorkError",
    "ConfigError",
    "InvalidInputError",
    "LLMCircuitOpenError",
    "LLMError",
    "LLMOutputError",
    "LLMStatusError",
    "LLMUnavailableError",
    "NotFoundError",
    "OutcropError",
    "ProviderError",
    "StoreError",
    "WriteConflict",
    "install_hint",
]


class OutcropError(Exception):
    """Root of every error outcrop raises on purpose."""

    code = "outcrop_error"


class ConfigError(OutcropError):
    """The configuration is invalid or does not match the store it opens."""

    code = "config_error"


class InvalidInputError(OutcropError, ValueError):
    """The caller's input cannot be accepted; nothing was written."""

    code = "invalid_input"


class NotFoundError(OutcropError, KeyError):
    """No item with this id exists in the caller's scope."""

    code = "not_found"

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain message
        return str(self.args[0]) if self.args else "not found"


class StoreError(OutcropError):
    """The storage backend failed; the operation was rolled back."""

    code = "store_error"


class WriteConflict(StoreError):
    """Another writer changed what this write was computed from (a concurrent add to the same
    session took its positions, or wrote the same input or derived item first); the write was
    rolled back whole and can be computed again. ``Memory`` retries it before raising this."""

    code = "write_conflict"


class ProviderError(OutcropError):
    """An embedding model or LLM is missing or failed."""

    code = "provider_error"


class LLMError(ProviderError):
    """An LLM call failed; callers with a zero-LLM fallback use it and record the error."""

    code = "llm_error"


class LLMUnavailableError(LLMError):
    """The LLM server could not be reached or did not answer in time (after retries)."""

    code = "llm_unavailable"


class LLMCircuitOpenError(LLMUnavailableError):
    """Not sent: a recent call found the server unreachable, and the breaker
    (``llm.breaker_cooldown``) fails calls at once until a probe call gets through."""

    code = "llm_unavailable"


class LLMStatusError(LLMError):
    """The LLM server answered with an HTTP error status (after retries for 429/5xx)."""

    code = "llm_status"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class LLMOutputError(LLMError):
    """The model's reply could not be used, even after one repair round."""

    code = "llm_output"

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class BulkWorkError(OutcropError):
    """Bulk work mapped over keys (tenants, evaluation cases; :mod:`outcrop.distributed`) failed
    for some of them. ``failures`` maps each failed key to its error (``"TypeName: message"``);
    ``results`` holds the results of the keys that succeeded, whose work is done and kept."""

    code = "bulk_work_error"

    def __init__(self, what: str, failures: dict[str, str], results: dict[str, object]) -> None:
        self.what = what
        self.failures = dict(failures)
        self.results = dict(results)
        named = "; ".join(f"{key}: {error}" for key, error in sorted(self.failures.items()))
        total = len(self.failures) + len(self.results)
        super().__init__(
            f"{len(self.failures)} of {total} {what}(s) failed ({named}); the other {len(self.results)} done"
        )

    def __reduce__(self) -> tuple[type[BulkWorkError], tuple[str, dict[str, str], dict[str, object]]]:
        return (BulkWorkError, (self.what, self.failures, self.results))


def install_hint(extra: str) -> str:
    """How to install one of outcrop's extras: from a clone of the repository, since no release
    is published yet (``outcrop`` on PyPI is not this project until one is)."""
    return f'pip install ".[{extra}]" from a clone of outcrop'
