"""What outcrop adds to a turn's metadata as it is written: who wrote it and, when screening
flags it, the flags (:mod:`outcrop.core.provenance`, :mod:`outcrop.core.screening`).

The keys ``writer`` and ``screening`` are outcrop's: a caller's metadata that uses them is refused
before anything is written, so what an item says about its writer is never the caller's text.
"""

from __future__ import annotations

from typing import Any

from outcrop.core.provenance import SCREENING_KEY, WRITER_KEY, Writer, check_reserved, writer_for_role
from outcrop.core.screening import screen
from outcrop.ingest.messages import IncomingTurn

__all__ = ["check_reserved", "turn_provenance"]


def turn_provenance(turn: IncomingTurn, default: Writer) -> dict[str, Any]:
    """The metadata a new turn gets: its writer (its role's, else ``default``, the path's) and,
    when the screening rules flag its text, the flags with the words that raised them."""
    stamped: dict[str, Any] = {WRITER_KEY: writer_for_role(turn.role, default).value}
    found = screen(turn.content)
    if found.flagged:
        stamped[SCREENING_KEY] = found.to_metadata()
    return stamped
