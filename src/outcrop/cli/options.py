"""Global options in either place: ``outcrop search x --db f.db --json`` means what
``outcrop --db f.db --json search x`` means, for every subcommand (and group: ``outcrop keys --db
f.db list``).

The root group's options (``--db``, ``--embedder``, ``--config``, ``--json``) are copied onto each
subcommand that does not have its own (its help lists them under "Global options"), without an
environment variable and with no default: given after the subcommand, a copy sets the same :class:`~outcrop.cli.common.Settings` field the root option set (the root's callback
runs before the subcommand's options are parsed), so the later of two places wins, as for any
option given twice. A subcommand with its own option of that name keeps it: ``serve --db``,
``keys ... --db`` and ``eval ... --config`` mean the same as the global ones, ``reindex
--embedder`` names the new model (the store's current one goes before the subcommand); a
command's own ``--json`` also turns on when the global one was given.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from typer.core import TyperGroup

from outcrop.cli.common import settings

__all__ = ["GLOBAL_OPTIONS", "GlobalOptionsGroup", "commands_of"]

GLOBAL_OPTIONS = {"db": "db", "embedder": "embedder", "config": "config_file", "as_json": "json"}
"""The root's option parameters → the :class:`Settings` field each sets."""

Callback = Callable[[Any, Any, Any], Any]


def commands_of(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every subcommand and subgroup under ``group``, depth first, with its path of names."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if hasattr(command, "commands"):
            yield from commands_of(command, (*path, name))


def _setter(field: str) -> Callback:
    def store(ctx: Any, param: Any, value: Any) -> None:
        if value is not None and value is not False:  # given on the command line (no default, no envvar)
            setattr(settings(ctx), field, value)

    return store


def _or_global_json(own: Callback | None) -> Callback:
    def combined(ctx: Any, param: Any, value: Any) -> Any:
        value = value or settings(ctx).json
        return own(ctx, param, value) if own is not None else value

    return combined


def _copy_of(option: Any) -> Any:
    """``option`` for a subcommand: no envvar, no default, not passed to the command's function."""
    twin = copy.copy(option)
    twin.envvar, twin.show_envvar, twin.expose_value = None, False, False
    twin.default = False if option.is_flag else None
    twin.callback = _setter(GLOBAL_OPTIONS[option.name])
    twin.rich_help_panel = "Global options"
    return twin


def adopt(command: Any, shared: list[Any]) -> None:
    """Give ``command`` the ``shared`` root options it does not have under the same flag."""
    for option in shared:
        own = [p for p in command.params if set(getattr(p, "opts", ())) & set(option.opts)]
        if not own:
            command.params.append(_copy_of(option))
        elif option.name == "as_json":
            own[0].callback = _or_global_json(own[0].callback)


class GlobalOptionsGroup(TyperGroup):
    """The ``outcrop`` group: its global options are accepted after any subcommand too."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        shared = [p for p in self.params if p.name in GLOBAL_OPTIONS]
        for _path, command in commands_of(self):
            adopt(command, shared)
