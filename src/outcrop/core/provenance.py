"""Provenance shared by every layer: which verbatim turns an item stands for, and who wrote it.

Who wrote an item is one of a closed set (:class:`Writer`), stored in the item's metadata under
``writer`` when the item is written: a turn's from its message's role, or, for a role that names
none of them, from the path it came in by (``add``/REST: user, MCP: agent, a conversation file:
document, an import: import); a fact takes its turn's. An item stored before writers were recorded
reads as the writer its role names (:func:`writer_of`), or as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from outcrop.core.types import Hit, Item, Level
from outcrop.errors import InvalidInputError

__all__ = [
    "RESERVED_KEYS",
    "SCREENING_KEY",
    "WRITER_KEY",
    "Writer",
    "carried_turns",
    "check_reserved",
    "derived_provenance",
    "flags_of",
    "is_quarantined",
    "parse_writer",
    "read_turns",
    "writer_for_role",
    "writer_of",
    "writer_of_metadata",
]

WRITER_KEY = "writer"  # metadata key: the item's writer
SCREENING_KEY = "screening"  # metadata key: what screening flagged, present only when it flagged something
RESERVED_KEYS = (WRITER_KEY, SCREENING_KEY)


def check_reserved(metadata: Mapping[str, Any], what: str = "metadata") -> None:
    """Refuse caller metadata that names outcrop's own keys (what an item says about its writer
    is never the caller's text)."""
    taken = [key for key in RESERVED_KEYS if key in metadata]
    if taken:
        raise InvalidInputError(f"{what} may not use the reserved keys {taken}: outcrop records them itself")


class Writer(StrEnum):
    """Who wrote a stored item."""

    USER = "user"  # the user (role user or human; a plain text added through the API)
    AGENT = "agent"  # the agent: the assistant's own words, a system or developer message
    TOOL = "tool"  # a tool's or function's output
    IMPORT = "import"  # loaded from an export that does not say who wrote it
    DOCUMENT = "document"  # a message of a conversation file whose role names none of the above


_WRITERS = frozenset(w.value for w in Writer)
_ROLES = {
    **dict.fromkeys(("user", "human"), Writer.USER),
    **dict.fromkeys(("assistant", "agent", "ai", "model", "bot", "system", "developer"), Writer.AGENT),
    **dict.fromkeys(("tool", "function", "tool_result", "function_result", "ipython", "observation"), Writer.TOOL),
}


def writer_for_role(role: str | None, default: Writer = Writer.USER) -> Writer:
    """The writer a message role names (case and spaces ignored), else ``default`` (the path's)."""
    return _ROLES.get((role or "").strip().casefold(), default)


def parse_writer(value: object) -> Writer:
    """A :class:`Writer` as a caller names it; anything else is refused."""
    if isinstance(value, str) and value in _WRITERS:
        return Writer(value)
    raise InvalidInputError(f"unknown writer {value!r}; writers: {[w.value for w in Writer]}")


def writer_of_metadata(metadata: Mapping[str, Any]) -> Writer | None:
    """The writer recorded in ``metadata``, if it names one."""
    recorded = metadata.get(WRITER_KEY)
    return Writer(recorded) if isinstance(recorded, str) and recorded in _WRITERS else None


def writer_of(item: Hit | Item) -> Writer | None:
    """Who wrote ``item``: as recorded, else as its role names (items stored before writers were
    recorded; a fact carries its turn's role), else None (unknown: an older episode, topic or
    profile line)."""
    recorded = writer_of_metadata(item.metadata)
    if recorded is not None:
        return recorded
    if item.role is not None and item.level in (Level.TURN, Level.FACT):
        return writer_for_role(item.role)
    return None


def flags_of(item: Hit | Item) -> list[str]:
    """The screening flags stored on ``item`` (empty when screening flagged nothing, or for an
    item stored before screening)."""
    screening = item.metadata.get(SCREENING_KEY)
    if not isinstance(screening, dict):
        return []
    flags = screening.get("flags")
    return [f for f in flags if isinstance(f, str)] if isinstance(flags, list) else []


def is_quarantined(item: Hit | Item) -> bool:
    """Flagged at write time (or derived from a flagged turn) and not released since."""
    screening = item.metadata.get(SCREENING_KEY)
    return bool(flags_of(item)) and isinstance(screening, dict) and not screening.get("released")


def derived_provenance(source: Item) -> dict[str, Any]:
    """The metadata an item derived from the one turn ``source`` inherits: its writer and, when
    screening flagged the turn, its flags (naming the turn they came from)."""
    inherited: dict[str, Any] = {}
    writer = writer_of(source)
    if writer is not None:
        inherited[WRITER_KEY] = writer.value
    flags = flags_of(source)
    if flags:
        screening = source.metadata[SCREENING_KEY]
        inherited[SCREENING_KEY] = {
            "flags": flags,
            "by": screening.get("by", ""),
            "from": source.id,
            **({"released": screening["released"]} if screening.get("released") else {}),
        }
    return inherited


def read_turns(hit: Hit | Item) -> frozenset[str]:
    """The turns whose text went into ``hit``: those it carries, and for a model's summary every
    turn the model read (``metadata.session_turns[:read_turns]``), whatever words the summary
    shares with them. What quarantine keeps out by: an injected turn can steer a summary that
    quotes none of its words (it wrote the summary in French)."""
    carried = carried_turns(hit)
    session, read = hit.metadata.get("session_turns"), hit.metadata.get("read_turns")
    if not isinstance(session, list) or not isinstance(read, int) or isinstance(read, bool):
        return carried
    return carried | frozenset(t for t in session[: max(read, 0)] if isinstance(t, str))


def carried_turns(hit: Hit | Item) -> frozenset[str]:
    """The L0 turns ``hit`` carries: a turn itself; a derived item's turn sources (a fact its source
    turn, an episode, topic or profile line the turns whose content its text carries)."""
    if hit.level == Level.TURN:
        return frozenset({hit.id})
    return frozenset(s for s in hit.sources if s.startswith(Level.TURN.prefix + "_"))
