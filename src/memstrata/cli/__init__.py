"""The ``memstrata`` command line."""

from __future__ import annotations

import sys

from memstrata.cli.app import app
from memstrata.errors import MemstrataError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning our errors into one line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except MemstrataError as exc:
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
