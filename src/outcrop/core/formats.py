"""Conversation files → batches for ``Memory.add``.

Formats (``--format auto`` picks by content):

* ``locomo``: the LoCoMo ``locomo10.json`` layout: a list of samples (or one sample) with
  ``conversation.session_N`` turn lists and ``session_N_date_time`` strings. Each sample goes to
  its own user (its ``sample_id`` unless a user is given), each session to ``session_N``; a
  turn's ``dia_id`` and image caption are kept in metadata, and the caption is appended to the
  text as ``[shared an image: …]`` (the answer is sometimes only there).
* ``jsonl``: one message object per line, with optional ``session_id``, ``user_id`` and
  ``timestamp``; consecutive lines of one session form one batch.
* ``json``: a list of messages; or ``{"messages": [...]}``; or ``{"sessions": [{"session_id",
  "timestamp", "messages": [...]}]}``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from outcrop.core.jsontext import parse_json
from outcrop.core.time.clock import memory_time
from outcrop.errors import InvalidInputError

__all__ = ["Batch", "detect_format", "iter_batches", "read_batches"]

FORMATS = ("auto", "json", "jsonl", "locomo")
_SESSION_KEY = re.compile(r"^session_(\d+)$")


@dataclass
class Batch:
    messages: list[dict[str, Any]]
    user_id: str | None = None
    session_id: str | None = None
    timestamp: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _load_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not UTF-8 text (byte {exc.start})") from None


def _parse_json(text: str, path: Path) -> Any:
    return parse_json(text, str(path))


def detect_format(path: Path, text: str) -> str:
    if path.suffix == ".jsonl":
        return "jsonl"
    data = _parse_json(text, path)
    samples = data if isinstance(data, list) else [data]
    if samples and all(isinstance(s, dict) and "conversation" in s for s in samples):
        return "locomo"
    return "json"


def read_batches(path: str | os.PathLike[str], fmt: str = "auto", *, user_id: str | None = None) -> list[Batch]:
    """All batches of a file, validated before anything is written."""
    path = Path(path)
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    text = _load_text(path)
    if fmt == "auto":
        fmt = detect_format(path, text)
    if fmt == "jsonl":
        return list(_jsonl(text.splitlines(), path, user_id))
    data = _parse_json(text, path)
    if fmt == "locomo":
        return list(_locomo(data, user_id))
    return list(_json(data, user_id))


def iter_batches(path: str | os.PathLike[str], fmt: str = "auto", *, user_id: str | None = None) -> Iterator[Batch]:
    """The batches of a file one by one. A JSONL file (``--format jsonl``, or ``auto`` and a
    ``.jsonl`` name) is streamed line by line, so a file of any size is read in bounded memory and
    can be iterated twice (checked, then written) without being held; the other formats are one
    JSON document, parsed whole (:func:`read_batches`)."""
    path = Path(path)
    if fmt == "jsonl" or (fmt == "auto" and path.suffix == ".jsonl"):
        return _jsonl(_file_lines(path), path, user_id)
    return iter(read_batches(path, fmt, user_id=user_id))


def _file_lines(path: Path) -> Iterator[str]:
    try:
        with path.open("rb") as lines:
            for number, raw in enumerate(lines, start=1):
                try:
                    yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise InvalidInputError(f"{path} is not UTF-8 text (line {number})") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None


def _jsonl(lines: Iterable[str], path: Path, user_id: str | None) -> Iterator[Batch]:
    current: Batch | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{path} line {number} is not valid JSON: {exc.msg}") from None
        except RecursionError:
            raise InvalidInputError(f"{path} line {number} is JSON nested too deep") from None
        if not isinstance(row, dict):
            raise InvalidInputError(f"{path} line {number} must be a JSON object")
        session = row.pop("session_id", None)
        user = row.pop("user_id", None) or user_id
        if current is None or (current.session_id, current.user_id) != (session, user):
            if current is not None:
                yield current
            current = Batch(messages=[], user_id=user, session_id=session)
        current.messages.append(row)
    if current is not None:
        yield current


def _json(data: Any, user_id: str | None) -> Iterator[Batch]:
    if isinstance(data, list):
        yield Batch(messages=data, user_id=user_id)
        return
    if not isinstance(data, dict):
        raise InvalidInputError("a JSON conversation file must hold a list of messages or an object")
    if "sessions" in data:
        sessions = data["sessions"]
        if not isinstance(sessions, list):
            raise InvalidInputError("'sessions' must be a list")
        for index, session in enumerate(sessions):
            if not isinstance(session, dict) or not isinstance(session.get("messages"), list):
                raise InvalidInputError(f"session {index} must be an object with a 'messages' list")
            yield Batch(
                messages=session["messages"],
                user_id=session.get("user_id", data.get("user_id", user_id)),
                session_id=session.get("session_id"),
                timestamp=session.get("timestamp"),
            )
        return
    if isinstance(data.get("messages"), list):
        yield Batch(
            messages=data["messages"],
            user_id=data.get("user_id", user_id),
            session_id=data.get("session_id"),
            timestamp=data.get("timestamp"),
        )
        return
    raise InvalidInputError("a JSON conversation object needs 'messages' or 'sessions'")


def locomo_sessions(conversation: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]], str | None]]:
    """``(number, turns, date string)`` for every ``session_N`` that has turns, in order."""
    sessions = []
    for key, turns in conversation.items():
        match = _SESSION_KEY.match(key)
        if match and isinstance(turns, list) and turns:
            number = int(match.group(1))
            sessions.append((number, turns, conversation.get(f"session_{number}_date_time")))
    return sorted(sessions, key=lambda s: s[0])


def locomo_message(turn: dict[str, Any]) -> dict[str, Any]:
    text = str(turn.get("text", ""))
    metadata: dict[str, Any] = {"dia_id": turn.get("dia_id")}
    caption = turn.get("blip_caption")
    if caption:
        metadata["image_caption"] = caption
        text = f"{text} [shared an image: {caption}]".strip()
    return {"role": "user", "name": turn.get("speaker"), "content": text, "metadata": metadata}


def _locomo(data: Any, user_id: str | None) -> Iterator[Batch]:
    samples = data if isinstance(data, list) else [data]
    for index, sample in enumerate(samples):
        if not isinstance(sample, dict) or not isinstance(sample.get("conversation"), dict):
            raise InvalidInputError(f"LoCoMo sample {index} has no 'conversation' object")
        user = user_id or str(sample.get("sample_id") or f"sample-{index}")
        for number, turns, date in locomo_sessions(sample["conversation"]):
            memory_time(date)  # validate before anything is written
            yield Batch(
                messages=[locomo_message(t) for t in turns],
                user_id=user,
                session_id=f"session_{number}",
                timestamp=date,
            )
