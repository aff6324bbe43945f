"""What requests and responses share: the level names the ``/v1`` API speaks."""

from __future__ import annotations

from enum import StrEnum

from outcrop.core.types import Level as LibraryLevel

__all__ = ["Level", "level_of"]


class Level(StrEnum):
    """Resolution of a memory item, finest first (DESIGN.md §2)."""

    TURN = "turn"  # L0: a verbatim record from the log
    FACT = "fact"  # L1: one atomic statement
    EPISODE = "episode"  # L2: a session or stretch of time
    TOPIC = "topic"  # L3: a cluster across time
    PROFILE = "profile"  # L4: stable traits per participant


def level_of(level: LibraryLevel | str) -> Level:
    """The REST level of a library level, by name (a ValueError for one the API does not know)."""
    return Level(str(level))
