"""A tolerant JSON reader for model replies: code fences, prose around the object, trailing
commas, Python literals and a reply cut off at ``max_tokens`` are all read where that is safe."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["parse_json_reply"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PY_LITERALS = {"True": "true", "False": "false", "None": "null"}


def parse_json_reply(text: str) -> Any:
    """The JSON value in ``text``; raises ``ValueError`` saying what is wrong when there is none."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("the reply is empty")
    candidates = [stripped]
    fenced = _FENCE.search(stripped)
    if fenced:
        candidates.append(fenced.group(1).strip())
    start = min((i for i in (stripped.find("{"), stripped.find("[")) if i >= 0), default=-1)
    if start >= 0:
        candidates.append(_balanced(stripped[start:]))
    for candidate in candidates:
        for attempt in (candidate, _repair(candidate)):
            try:
                return json.loads(attempt)
            except ValueError:
                continue
            except RecursionError:
                raise ValueError("the reply's JSON is nested too deep") from None
    if start < 0:
        raise ValueError(f"no JSON object in the reply: {_clip(stripped)!r}")
    raise ValueError(f"the reply is not valid JSON: {_clip(stripped)!r}")


def _balanced(text: str) -> str:
    """The first complete JSON value at the start of ``text``, or all of it closed when cut off: a
    string the cut fell in is dropped with its key, not closed (a value cut mid-word, "Port" for
    "Portland", was kept as if the model had said it)."""
    stack: list[str] = []
    in_string = escaped = False
    opened = 0  # where the string being read began
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string, opened = True, index
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]":
            if stack:
                stack.pop()
            if not stack:
                return text[: index + 1]
    # cut off: drop the open string, then a dangling key or comma, and close the brackets
    tail = text[:opened] if in_string else text
    tail = re.sub(r'(,\s*)?"[^"]*"\s*:\s*$', "", tail.rstrip())
    tail = re.sub(r',\s*"[^"]*"\s*$', "", tail) if tail.rstrip().endswith('"') and stack[-1:] == ["}"] else tail
    tail = re.sub(r"[,:]\s*$", "", tail.rstrip())
    return tail + "".join(reversed(stack))


def _repair(text: str) -> str:
    text = _TRAILING_COMMA.sub(r"\1", text)
    return re.sub(r"\b(True|False|None)\b", lambda m: _PY_LITERALS[m.group(1)], text)


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
