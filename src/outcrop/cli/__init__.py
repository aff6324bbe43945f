"""The ``outcrop`` command line."""

from __future__ import annotations

import sys

from outcrop.cli.app import app
from outcrop.core.legacy import adopt_legacy_environment
from outcrop.errors import OutcropError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning our errors into one line on stderr and exit code 2."""
    adopt_legacy_environment()
    try:
        app(standalone_mode=False)
    except OutcropError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's own usage errors arrive here with standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        raise
