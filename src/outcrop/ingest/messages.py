"""Validate and normalise the ``messages`` argument of ``Memory.add``.

Accepted shapes: a string; a message dict; a list of strings and message dicts. A message dict
has ``content`` (or ``text``), optional ``role`` (default ``"user"``), optional ``name`` (or
``speaker``: who said it), optional ``timestamp`` (overrides the call's), optional ``metadata``.
Anything else is refused with :class:`InvalidInputError` naming the offending message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outcrop.core.provenance import check_reserved
from outcrop.core.text import validate_text
from outcrop.core.time.clock import memory_time
from outcrop.core.types import Messages
from outcrop.core.values import validate_metadata, validate_name
from outcrop.errors import InvalidInputError

__all__ = ["IncomingTurn", "normalize_messages"]

_KNOWN_KEYS = {"role", "name", "speaker", "content", "text", "timestamp", "metadata"}


@dataclass(frozen=True)
class IncomingTurn:
    role: str
    speaker: str | None
    content: str
    timestamp: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)


def normalize_messages(messages: Messages, *, timestamp: datetime | None, max_chars: int) -> list[IncomingTurn]:
    if isinstance(messages, str | bytes | bytearray | Mapping):
        messages = [messages]
    if not isinstance(messages, list | tuple):
        raise InvalidInputError(
            f"messages must be a string, a message dict or a list of them, got {type(messages).__name__}"
        )
    if not messages:
        raise InvalidInputError("messages is empty")
    turns = []
    for index, message in enumerate(messages):
        where = f"message {index}"
        if isinstance(message, str | bytes | bytearray):
            turns.append(IncomingTurn("user", None, validate_text(message, max_chars=max_chars, what=where), timestamp))
            continue
        if not isinstance(message, Mapping):
            raise InvalidInputError(f"{where} must be a string or a dict, got {type(message).__name__}")
        unknown = set(message) - _KNOWN_KEYS
        if unknown:
            named = sorted(repr(key) for key in unknown)  # any key: a non-string one sorts too
            raise InvalidInputError(f"{where} has unknown keys [{', '.join(named)}]; allowed: {sorted(_KNOWN_KEYS)}")
        content = message.get("content", message.get("text"))
        if content is None:
            raise InvalidInputError(f"{where} has no 'content'")
        role = message.get("role", "user")
        speaker = message.get("name", message.get("speaker"))
        metadata = message.get("metadata")
        metadata = {} if metadata is None else metadata  # 0, "" or [] are not metadata: refused below
        role = validate_name(role, f"{where}: 'role'")
        if speaker is not None:
            speaker = validate_name(speaker, f"{where}: 'name'")
        metadata = validate_metadata(metadata, f"{where}: 'metadata'")
        check_reserved(metadata, f"{where}: 'metadata'")
        turns.append(
            IncomingTurn(
                role=role.strip(),
                speaker=speaker.strip() if speaker else None,
                content=validate_text(content, max_chars=max_chars, what=where),
                timestamp=memory_time(message["timestamp"]) if message.get("timestamp") is not None else timestamp,
                metadata=metadata,
            )
        )
    return turns
