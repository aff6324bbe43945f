"""The ``outcrop`` command line."""

from __future__ import annotations

import sys

from outcrop.cli.app import app
from outcrop.cli.common import plain
from outcrop.core.legacy import adopt_legacy_environment
from outcrop.errors import OutcropError

__all__ = ["app", "main"]


def _is(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is click's ``name`` exception, from click itself or typer (which vendors click)."""
    return any(cls.__name__ == name and cls.__module__.split(".")[0] in ("click", "typer") for cls in type(exc).__mro__)


def one_line(message: str) -> str:
    """An error's message as one line: its lines joined, control characters written as ``\\x1b``
    (a tenant named with an escape sequence was echoed raw to the terminal; PostgreSQL's
    connection errors run over several lines)."""
    return plain(" ".join(part.strip() for part in message.splitlines() if part.strip()))


def main() -> None:
    """Entry point: run the app; our errors and usage errors are one line on stderr and exit code 2,
    Ctrl-C exits 130, and a command's own exit code (``forget``: 1 when verification failed) is kept."""
    adopt_legacy_environment()
    try:
        code = app(standalone_mode=False)
    except OutcropError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click's own exceptions arrive here with standalone_mode=False
        if _is(exc, "Abort"):
            interrupted = isinstance(exc.__context__, KeyboardInterrupt)
            print("interrupted" if interrupted else "aborted", file=sys.stderr)
            sys.exit(130 if interrupted else 1)
        if _is(exc, "NoArgsIsHelpError"):
            exc.show()  # type: ignore[attr-defined]  # no command at all: the help, and exit 2
            sys.exit(2)
        if _is(exc, "ClickException"):
            command = getattr(getattr(exc, "ctx", None), "command_path", "outcrop")
            print(f"error: {exc.format_message()} (see {command} -h)", file=sys.stderr)  # type: ignore[attr-defined]
            sys.exit(2 if _is(exc, "UsageError") else int(getattr(exc, "exit_code", 1)))
        raise
    sys.exit(code if isinstance(code, int) else 0)
