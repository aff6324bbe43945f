"""What still answers to the project's former name, ``memstrata``, for a deprecation period.

outcrop was called memstrata until its rename (``memstrata`` on PyPI is another project). What a
user set up under the old name keeps working, with a :class:`LegacyNameWarning` that says what to
rename:

* environment variables ``MEMSTRATA_*`` are read as ``OUTCROP_*`` when the new name is unset
  (the new name wins when both are set);
* the default store ``<user data dir>/memstrata/memory.db`` is opened when no store exists at the
  new default ``<user data dir>/outcrop/memory.db``;
* export files whose header says ``"format": "memstrata"`` import like ``"outcrop"`` ones;
* a PostgreSQL store in the ``memstrata`` schema is renamed in place on open
  (:mod:`outcrop.stores.postgres_schema`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = [
    "ENV_PREFIX",
    "EXPORT_FORMATS",
    "LEGACY_ENV_PREFIX",
    "LEGACY_NAME",
    "NAME",
    "LegacyNameWarning",
    "adopt_legacy_environment",
    "default_data_dir",
    "getenv",
    "with_current_names",
]

NAME = "outcrop"
LEGACY_NAME = "memstrata"
ENV_PREFIX = "OUTCROP_"
LEGACY_ENV_PREFIX = "MEMSTRATA_"
EXPORT_FORMATS = (NAME, LEGACY_NAME)  # header "format" values an import accepts; exports write NAME


class LegacyNameWarning(FutureWarning):
    """Something was found under the former name ``memstrata``; it still works, rename it.
    (A ``FutureWarning``, so Python shows it to end users by default.)"""


def _legacy_keys(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(legacy name, current name) of each ``MEMSTRATA_*`` variable whose ``OUTCROP_*`` twin is unset."""
    return [
        (key, ENV_PREFIX + key[len(LEGACY_ENV_PREFIX) :])
        for key in env
        if key.startswith(LEGACY_ENV_PREFIX) and ENV_PREFIX + key[len(LEGACY_ENV_PREFIX) :] not in env
    ]


def _warn_env(legacy: str, current: str) -> None:
    warnings.warn(
        f"{legacy} is read as {current}: memstrata is now outcrop, rename the variable", LegacyNameWarning, stacklevel=3
    )


def with_current_names(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``env`` in which each ``MEMSTRATA_X`` with no ``OUTCROP_X`` is renamed ``OUTCROP_X``
    (one warning per variable) and no ``MEMSTRATA_*`` name is left, so reading it twice warns once."""
    renamed = dict(_legacy_keys(env))
    for legacy, current in renamed.items():
        _warn_env(legacy, current)
    out = {k: v for k, v in env.items() if not k.startswith(LEGACY_ENV_PREFIX)}
    out.update({current: env[legacy] for legacy, current in renamed.items()})
    return out


def adopt_legacy_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """At a process entry point (the CLI), copy each ``MEMSTRATA_X`` with no ``OUTCROP_X`` to
    ``OUTCROP_X`` in place, so option parsers and child processes see the new names; returns
    the new names set."""
    environ = os.environ if environ is None else environ
    adopted = []
    for legacy, current in _legacy_keys(environ):
        _warn_env(legacy, current)
        environ[current] = environ[legacy]
        adopted.append(current)
    return adopted


def getenv(name: str) -> str | None:
    """``OUTCROP_<name>`` from the process environment, else ``MEMSTRATA_<name>`` (with a warning)."""
    value = os.environ.get(ENV_PREFIX + name)
    if value is None and (value := os.environ.get(LEGACY_ENV_PREFIX + name)) is not None:
        _warn_env(LEGACY_ENV_PREFIX + name, ENV_PREFIX + name)
    return value or None


def default_data_dir(user_data_dir: Path | None = None, *, marker: str = "memory.db") -> Path:
    """``<user data dir>/outcrop``, unless only ``<user data dir>/memstrata`` holds ``marker``
    (a store written before the rename): then that folder, with a warning."""
    if user_data_dir is None:
        import platformdirs

        user_data_dir = Path(platformdirs.user_data_dir())
    current, legacy = user_data_dir / NAME, user_data_dir / LEGACY_NAME
    if not (current / marker).exists() and (legacy / marker).exists():
        warnings.warn(
            f"opening {legacy / marker}, written under outcrop's former name; move it to {current / marker}",
            LegacyNameWarning,
            stacklevel=2,
        )
        return legacy
    return current
