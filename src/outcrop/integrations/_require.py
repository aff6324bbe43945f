"""The check each adapter makes before importing its framework."""

from __future__ import annotations

import importlib.util

from outcrop.errors import ConfigError, install_hint

__all__ = ["require"]


def require(module: str, extra: str) -> None:
    """Raise :class:`ConfigError` naming the extra when ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"this adapter needs {module!r}: {install_hint(extra)}")
