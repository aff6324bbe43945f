"""A corpus of bad input, as data: every case is one call of one operation (``add``, ``search``,
``forget``, ``import``, ...) with the arguments a caller might send, and what must happen to it.

The cases are face-neutral: :mod:`tests.reliability.faces` turns each into a Python call, a CLI
command line, a REST request and an MCP tool call where that face can express it (a NUL byte
cannot be a command-line argument; a Python ``set`` cannot be JSON). ``expect`` is

* ``refused``: the face refuses it with its error (Python: an ``OutcropError``; CLI: one line and
  exit 2; REST: a 4xx JSON error; MCP: a tool error) and nothing is written;
* ``accepted``: valid input at an edge (an emoji, a 200-character name, depth-16 metadata): it must
  succeed;
* ``either``: defensible both ways, but never a crash, a 5xx or a partial write.

A face may loosen ``refused`` to ``either`` where its own parsing makes the input valid (JSON has
no integer/float distinction for ``5.0``): :data:`LENIENT` lists those.

Arguments may name the seeded items: ``"@turn"`` is the id of a turn the runner stored first,
``"@fact"`` a fact's. File payloads (``ingest``, ``import``) are bytes under ``"file"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["CASES", "FACES", "LENIENT", "Case", "cases_for"]

FACES = ("python", "cli", "rest", "mcp")
REFUSED, ACCEPTED, EITHER = "refused", "accepted", "either"
MAX_TEXT = 32_000  # MemoryConfig.max_text_chars


@dataclass(frozen=True)
class Case:
    name: str
    op: str
    args: Mapping[str, Any] = field(default_factory=dict)
    expect: str = REFUSED

    @property
    def writes(self) -> bool:
        return self.op in {"add", "update", "delete", "forget", "consolidate", "import", "ingest", "raw"}


def nest(depth: int, leaf: object = 1, *, lists: bool = False) -> object:
    """``depth`` levels of objects (or lists) around ``leaf``: depth 1 is ``{"k": leaf}``."""
    value = leaf
    for _ in range(depth):
        value = [value] if lists else {"k": value}
    return value


# -- bad values, by kind ------------------------------------------------------------------
BAD_NAMES: dict[str, object] = {
    "empty": "",
    "blank": "   ",
    "nul": "\x00",
    "nul-inside": "ann\x00bob",
    "newline": "ann\nbob",
    "tab": "\t",
    "escape": "a\x1b[31mred",
    "lone-surrogate": "\ud800",
    "lone-low-surrogate": "x\udfffy",
    "201-chars": "n" * 201,
    "10k-chars": "n" * 10_000,
    "int": 123,
    "float": 1.5,
    "bool": True,
    "list": ["a"],
    "dict": {"a": 1},
}
BAD_TEXTS: dict[str, object] = {
    "empty": "",
    "blank": " \n\t ",
    "nul": "\x00",
    "nul-inside": "hello\x00world",
    "lone-surrogate": "\ud800",
    "surrogate-inside": "caf\udce9 au lait",
    "over-limit": "w " * (MAX_TEXT // 2 + 1),
    "int": 42,
    "float-nan": float("nan"),
    "bool": False,
    "list-of-int": [1, 2],
    "dict": {"text": "x"},
    "bad-utf8-bytes": b"\xff\xfe\xfd",
}
BAD_METADATA: dict[str, object] = {
    "nan": {"score": float("nan")},
    "infinity": {"score": float("inf")},
    "-infinity": {"score": float("-inf")},
    "nan-in-list": {"scores": [1.0, float("nan")]},
    "lone-surrogate-value": {"note": "\ud800"},
    "lone-surrogate-key": {"\udfff": 1},
    "int-key": {1: "one"},
    "none-key": {None: "x"},
    "tuple-key": {(1, 2): "x"},
    "depth-17": nest(17),
    "depth-256": nest(256),
    "list-depth-256": {"k": nest(256, lists=True)},
    "over-64k": {"blob": "x" * (64 * 1024 + 10)},
    "string": "source=chat",
    "list": [1, 2, 3],
    "int": 5,
    "bytes-value": {"raw": b"\x00\x01"},
    "set-value": {"tags": {"a", "b"}},
    "datetime-value": {"when": datetime(2024, 1, 1)},
    "object-value": {"thing": object()},
}
EDGE_METADATA: dict[str, object] = {  # valid JSON at an edge: stored and read back
    "depth-16": nest(16),
    "empty-key": {"": 1},
    "nul-in-value": {"note": "a\x00b"},
    "nul-in-key": {"a\x00b": 1},
    "huge-int": {"big": 10**400},
    "negative-huge-int": {"big": -(10**40)},
    "tiny-float": {"x": 5e-324},
    "big-float": {"x": 1.7976931348623157e308},
    "sql-quote-key": {"'; DROP TABLE items; --": 1},
    "json-path-key": {"$.a[0]": "x"},
    "quote-key": {'"': "q"},
    "emoji": {"mood": "\U0001f600"},
}
BAD_TIMESTAMPS: dict[str, object] = {
    "true": True,
    "false": False,
    "word": "tomorrow",
    "garbage": "not a date",
    "empty": "",
    "blank": "   ",
    "feb-30": "2023-02-30",
    "month-13": "2023-13-01",
    "year-1": "0001-01-01",
    "year-9999": "9999-12-31T23:00",
    "year-1-positive-offset": "0001-01-01T00:00:00+01:00",
    "year-9999-negative-offset": "9999-12-31T23:00:00-05:00",
    "epoch-1e300": 1e300,
    "epoch--1e300": -1e300,
    "epoch-nan": float("nan"),
    "epoch-inf": float("inf"),
    "epoch-10e30": 10**30,
    "nul": "2023-01-01\x00",
    "lone-surrogate": "2023-01-01\ud800",
    "list": ["2023-01-01"],
    "dict": {"date": "2023-01-01"},
}
BAD_AS_OF: dict[str, object] = {
    "word": "yesterday",
    "garbage": "not a date",
    "bool": True,
    "epoch-1e300": 1e300,
    "epoch-nan": float("nan"),
    "year-1-positive-offset": "0001-01-01T00:00:00+01:00",
    "empty": "",
    "list": ["2024-01-01"],
    "nul": "2024\x00",
    "month-13": "2024-13-01",
    "time-only": "T10:00",
    "zero-date": "0000-00-00",
    "digits-as-text": "1700000000",
}
EDGE_AS_OF: dict[str, object] = {  # the calendar's edges: what memory held then (nothing, or all)
    "year-1": "0001-01-01T00:00:00",
    "year-9999": "9999-12-31T23:59:59",
    "zulu": "2024-01-01T00:00:00Z",
}
BAD_IDS: dict[str, object] = {
    "empty": "",
    "blank": " ",
    "nul": "t_\x00",
    "lone-surrogate": "t_\ud800",
    "10k-chars": "t_" + "x" * 10_000,
    "int": 5,
    "none": None,
    "list": ["t_x"],
    "path-traversal": "../../etc/passwd",
    "sql": "' OR 1=1 --",
    "like-wildcard": "t_%",
    "unknown": "t_0000000000000000",
}
BAD_FILTERS: dict[str, object] = {
    "empty-key": {"": 1},
    "blank-key": {" ": "x"},
    "unknown-key": {"bogus": 1},
    "since-true": {"since": True},
    "since-garbage": {"since": "whenever"},
    "until-list": {"until": ["2024-01-01"]},
    "until-nan": {"until": float("nan")},
    "since-year-1-offset": {"since": "0001-01-01T00:00:00+01:00"},
    "speaker-int": {"speaker": 5},
    "speakers-list-of-int": {"speakers": [1, 2]},
    "speaker-nul": {"speaker": "ann\x00"},
    "speaker-surrogate": {"speakers": ["\ud800"]},
    "session-int": {"session_id": 5},
    "session-nul": {"session_id": "s\x00"},
    "metadata-string": {"metadata": "source=chat"},
    "metadata-list": {"metadata": [1]},
    "metadata-nan": {"metadata": {"score": float("nan")}},
    "metadata-surrogate-key": {"metadata": {"\ud800": 1}},
    "metadata-int-key": {"metadata": {1: 1}},
    "metadata-deep": {"metadata": {"a": nest(256)}},
    "level-unknown": {"level": "paragraph"},
    "levels-mixed": {"levels": ["turn", 5]},
    "level-int": {"level": 3},
    "not-an-object": "speaker=ann",
    "a-list": [["speaker", "ann"]],
    "an-int": 7,
}
EDGE_FILTERS: dict[str, object] = {  # odd but valid: they match nothing or everything, never crash
    "metadata-empty-key": {"metadata": {"": 1}},
    "metadata-odd-keys": {"metadata": {"a.b": 1, "$": 2, "[0]": 3, '"': 4, "'": 5}},
    "metadata-sql-key": {"metadata": {"'; DROP TABLE items; --": 1}},
    "metadata-nested-value": {"metadata": {"a": {"b": [1, None]}}},
    "metadata-huge-int": {"metadata": {"a": 10**400}},
    "metadata-nul-value": {"metadata": {"a": "x\x00"}},
    "whole-calendar": {"since": "0001-01-01", "until": "9999-12-31"},
    "since-after-until": {"since": "2025-01-01", "until": "2020-01-01"},
}
BAD_CHANNELS: dict[str, object] = {
    "unknown-channel": {"telepathy": 1.0},
    "negative": {"bm25": -1.0},
    "nan": {"bm25": float("nan")},
    "infinity": {"dense": float("inf")},
    "string-weight": {"bm25": "high"},
    "huge": {"bm25": 1e308},
    "bool": {"bm25": True},
    "int-key": {1: 1.0},
    "empty": {},
    "all-zero": {"bm25": 0.0, "dense": 0.0},
    "not-an-object": "bm25",
    "list": [["bm25", 1.0]],
}
BAD_COUNTS: dict[str, object] = {
    "negative": -1,
    "zero": 0,
    "huge": 10**18,
    "string": "10",
    "word": "ten",
    "float": 2.5,
    "whole-float": 5.0,
    "bool": True,
    "nan": float("nan"),
    "list": [10],
}
LENIENT = {  # (face, case name prefix): JSON and argv cannot tell these from the valid value
    ("rest", "search-limit-whole-float"),
    ("rest", "context-max_tokens-whole-float"),
    ("mcp", "search-limit-whole-float"),
    ("mcp", "context-max_tokens-whole-float"),
    ("rest", "list-limit-string"),  # a URL query parameter is text
    ("rest", "list-limit-whole-float"),
    ("rest", "list-offset-string"),
    ("rest", "raw-search-utf-16"),  # JSON in UTF-16 is read as such (RFC 8259 asks for UTF-8)
    ("rest", "raw-context-utf-16"),
    ("cli", "search-limit-whole-float"),  # an argument is text: "5.0" reads as 5
    ("cli", "list-limit-whole-float"),
    ("cli", "search-limit-string"),
    ("cli", "context-max_tokens-string"),
    ("cli", "list-limit-string"),
    ("cli", "list-offset-string"),
}

MESSAGE = {"role": "user", "name": "Ann", "content": "I moved to Lisbon in May."}
BAD_MESSAGES: dict[str, object] = {
    "empty-list": [],
    "empty-dict": {},
    "nested-list": [[]],
    "int-in-list": [5],
    "none-in-list": [None],
    "none": None,
    "int": 5,
    "set": {"a"},
    "unknown-key": {**MESSAGE, "mood": "happy"},
    "content-none": {"content": None},
    "content-int": {"content": 5},
    "content-dict": {"content": {"text": "x"}},
    "text-and-content-none": {"text": None},
    "role-empty": {**MESSAGE, "role": ""},
    "role-int": {**MESSAGE, "role": 5},
    "role-nul": {**MESSAGE, "role": "us\x00er"},
    "role-surrogate": {**MESSAGE, "role": "\ud800"},
    "role-10k": {**MESSAGE, "role": "r" * 10_000},
    "speaker-alias-nul": {"speaker": "A\x00", "content": "x"},
    "metadata-list": {**MESSAGE, "metadata": [1]},
    "timestamp-true": {**MESSAGE, "timestamp": True},
    "second-bad": [MESSAGE, {"content": ""}],
    "1001-messages": [f"note {n}" for n in range(1001)],
    "bad-utf8-bytes": b"\xc3\x28",
}


# -- files: ingest and import -------------------------------------------------------------
def _jsonl(*rows: object) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


_HEADER = {"format": "outcrop", "projections": False, "tenant": "default", "user_id": None, "version": 1}


def _log(**change: object) -> dict[str, Any]:
    record: dict[str, Any] = {
        "agent_id": None,
        "content_hash": "0" * 64,
        "id": "l_01m8958hawdt4zkja9",
        "kind": "message",
        "payload": {
            "content": "I live in Boston.",
            "metadata": {},
            "role": "user",
            "speaker": "Ann",
            "timestamp": "2023-01-10T00:00:00",
        },
        "recorded_at": "2026-11-25T10:50:42",
        "session_id": "s1",
        "turn_id": "t_01m8958hax368nbsm3",
        "type": "log",
        "user_id": "ann",
    }
    if "payload" in change:
        payload = change.pop("payload")
        record["payload"] = {**record["payload"], **payload} if isinstance(payload, dict) else payload
    return {**record, **change}


BAD_IMPORTS: dict[str, bytes] = {
    "empty": b"",
    "blank-lines": b"\n\n\n",
    "not-json": b"this is not json\n",
    "binary": bytes(range(256)),
    "bad-utf8": b'{"format": "outcrop", "version": 1}\n\xff\xfe\n',
    "json-array": b"[1, 2, 3]\n",
    "header-only-wrong-format": _jsonl({**_HEADER, "format": "mem0"}),
    "version-99": _jsonl({**_HEADER, "version": 99}),
    "version-string": _jsonl({**_HEADER, "version": "1"}),
    "no-header": _jsonl(_log()),
    "unknown-line-type": _jsonl(_HEADER, {**_log(), "type": "virus"}),
    "unknown-kind": _jsonl(_HEADER, _log(kind="telepathy")),
    "payload-string": _jsonl(_HEADER, _log(payload="x")),
    "content-nul": _jsonl(_HEADER, _log(payload={"content": "a\x00b"})),
    "content-surrogate": b'{"format":"outcrop","version":1,"tenant":"default","projections":false,"user_id":null}\n'
    + json.dumps(_log()).replace("I live in Boston.", "\\ud800").encode(),
    "content-empty": _jsonl(_HEADER, _log(payload={"content": ""})),
    "speaker-nul": _jsonl(_HEADER, _log(payload={"speaker": "A\x00"})),
    "metadata-nan": _jsonl(_HEADER, _log(payload={"metadata": {"x": float("nan")}})),
    "metadata-deep": _jsonl(_HEADER, _log(payload={"metadata": nest(256)})),
    "timestamp-true": _jsonl(_HEADER, _log(payload={"timestamp": True})),
    "timestamp-year-9999": _jsonl(_HEADER, _log(payload={"timestamp": "9999-12-31T23:00:00"})),
    "recorded-at-garbage": _jsonl(_HEADER, _log(recorded_at="whenever")),
    "user-nul": _jsonl(_HEADER, _log(user_id="u\x00")),
    "user-int": _jsonl(_HEADER, _log(user_id=5)),
    "session-surrogate": _jsonl(_HEADER, _log(session_id="\ud800")),
    "id-empty": _jsonl(_HEADER, _log(id="")),
    "id-int": _jsonl(_HEADER, _log(id=7)),
    "second-line-truncated": _jsonl(_HEADER) + json.dumps(_log()).encode()[:40],
    "good-then-bad": _jsonl(_HEADER, _log(), _log(id="l_2", turn_id="t_2", kind="nope")),
    "depth-10000": _jsonl(_HEADER) + b"[" * 10_000 + b"]" * 10_000 + b"\n",
}
_MSG = {"name": "Ann", "content": "I moved to Lisbon."}
BAD_INGESTS: dict[str, tuple[str, bytes]] = {  # (file name, content)
    "empty-json": ("chat.json", b""),
    "empty-jsonl": ("chat.jsonl", b""),
    "not-json": ("chat.json", b"hello there"),
    "binary": ("chat.json", bytes(range(256))),
    "bad-utf8": ("chat.jsonl", b'{"content": "\xff"}\n'),
    "json-number": ("chat.json", b"42"),
    "messages-not-list": ("chat.json", json.dumps({"messages": "x"}).encode()),
    "sessions-not-list": ("chat.json", json.dumps({"sessions": {"a": 1}}).encode()),
    "session-no-messages": ("chat.json", json.dumps({"sessions": [{"session_id": "s"}]}).encode()),
    "jsonl-line-array": ("chat.jsonl", b"[1]\n"),
    "jsonl-bad-third-line": ("chat.jsonl", _jsonl(_MSG, _MSG) + b"{oops\n"),
    "late-nul-speaker": ("chat.jsonl", _jsonl(_MSG, {**_MSG, "content": "b"}, {"name": "A\x00", "content": "c"})),
    "late-nan-metadata": ("chat.jsonl", _jsonl(_MSG, {"content": "z", "metadata": {"x": float("nan")}})),
    "late-timestamp-true": ("chat.json", json.dumps([_MSG, {**_MSG, "timestamp": True}]).encode()),
    "late-year-9999": (
        "chat.json",
        json.dumps([_MSG, {"content": "see you tomorrow", "timestamp": "9999-12-31"}]).encode(),
    ),
    "user-id-int": ("chat.json", json.dumps({"user_id": 5, "messages": [_MSG]}).encode()),
    "session-id-nul": ("chat.json", json.dumps({"session_id": "s\x00", "messages": [_MSG]}).encode()),
    "session-timestamp-garbage": (
        "chat.json",
        json.dumps({"sessions": [{"timestamp": "whenever", "messages": [_MSG]}]}).encode(),
    ),
    "deep-metadata": ("chat.jsonl", _jsonl({**_MSG, "metadata": nest(256)})),
    "depth-10000": ("chat.json", b"[" * 10_000 + b"]" * 10_000),
    "locomo-no-conversation": ("chat.json", json.dumps([{"conversation": 5}]).encode()),
    "locomo-bad-date": (
        "chat.json",
        json.dumps(
            [{"conversation": {"session_1": [{"speaker": "A", "text": "hi"}], "session_1_date_time": "whenever"}}]
        ).encode(),
    ),
}


# -- the corpus ---------------------------------------------------------------------------
def _generate() -> Iterator[Case]:
    add = {"messages": "I moved to Lisbon in May.", "user_id": "u1", "session_id": "s9"}
    for key, value in BAD_MESSAGES.items():
        expect = EITHER if key == "1001-messages" else REFUSED  # the REST server takes 1000 at most
        yield Case(f"add-messages-{key}", "add", {**add, "messages": value}, expect)
    for key, value in BAD_TEXTS.items():
        yield Case(f"add-content-{key}", "add", {**add, "messages": [{**MESSAGE, "content": value}]})
    for field_name in ("user_id", "agent_id", "session_id"):
        for key, value in BAD_NAMES.items():
            yield Case(f"add-{field_name}-{key}", "add", {**add, field_name: value})
    for key, value in BAD_NAMES.items():
        yield Case(f"add-speaker-{key}", "add", {**add, "messages": [{**MESSAGE, "name": value}]})
    for key, value in BAD_METADATA.items():
        yield Case(f"add-metadata-{key}", "add", {**add, "metadata": value})
        yield Case(f"add-message-metadata-{key}", "add", {**add, "messages": [{**MESSAGE, "metadata": value}]})
    for key, value in EDGE_METADATA.items():
        yield Case(f"add-metadata-edge-{key}", "add", {**add, "metadata": value}, EITHER)
    for key, value in BAD_TIMESTAMPS.items():
        yield Case(f"add-timestamp-{key}", "add", {**add, "timestamp": value})
        yield Case(f"add-message-timestamp-{key}", "add", {**add, "messages": [{**MESSAGE, "timestamp": value}]})
    yield Case("add-tomorrow-at-9999", "add", {**add, "messages": "See you tomorrow!", "timestamp": "9999-12-31T23:00"})
    yield Case("add-next-year-at-0001", "add", {**add, "messages": "Next year I retire.", "timestamp": "0001-01-01"})
    yield Case("add-run-and-session-differ", "add", {**add, "run_id": "other"})

    yield from _reads()
    yield from _by_id()
    yield from _lifecycle()
    yield from _accepted()


def _reads() -> Iterator[Case]:
    search = {"query": "Where does Ann live?", "user_id": "u1"}
    for op in ("search", "context"):
        for key, value in BAD_TEXTS.items():
            yield Case(f"{op}-query-{key}", op, {**search, "query": value})
        for key, value in BAD_FILTERS.items():
            yield Case(f"{op}-filters-{key}", op, {**search, "filters": value})
        for key, value in EDGE_FILTERS.items():
            yield Case(f"{op}-filters-edge-{key}", op, {**search, "filters": value}, EITHER)
        for key, value in BAD_AS_OF.items():
            yield Case(f"{op}-as_of-{key}", op, {**search, "as_of": value})
        for key, value in EDGE_AS_OF.items():
            yield Case(f"{op}-as_of-edge-{key}", op, {**search, "as_of": value}, ACCEPTED)
        for key in ("nul", "lone-surrogate", "201-chars", "int", "empty"):
            yield Case(f"{op}-user_id-{key}", op, {**search, "user_id": BAD_NAMES[key]})
            yield Case(f"{op}-session_id-{key}", op, {**search, "session_id": BAD_NAMES[key]})
        count = "limit" if op == "search" else "max_tokens"
        for key, value in BAD_COUNTS.items():
            yield Case(f"{op}-{count}-{key}", op, {**search, count: value})
    for key, value in BAD_CHANNELS.items():
        yield Case(f"search-channels-{key}", "search", {**search_defaults(), "channels": value})
    for key, value in {"unknown": "telepathic", "empty": "", "int": 5, "none": None}.items():
        yield Case(f"search-recipe-{key}", "search", {**search_defaults(), "recipe": value})
    yield Case(
        "search-plain-hybrid-with-filters",
        "search",
        {**search_defaults(), "recipe": "plain-hybrid", "filters": {"speaker": "Ann"}},
    )
    yield Case("context-max_tokens-15", "context", {**search_defaults(), "max_tokens": 15})

    for key, value in {**BAD_COUNTS, "10001": 10_001}.items():
        if key not in ("huge",):
            yield Case(f"list-limit-{key}", "list", {"user_id": "u1", "limit": value})
    for key in ("negative", "huge", "string", "float", "bool"):
        yield Case(f"list-offset-{key}", "list", {"user_id": "u1", "offset": BAD_COUNTS[key]})
    yield Case("list-offset-past-the-end", "list", {"user_id": "u1", "offset": 10**9}, ACCEPTED)
    for key, value in {"unknown": "paragraph", "upper": "TURN", "empty": "", "int": 3, "list": ["turn"]}.items():
        yield Case(f"list-level-{key}", "list", {"user_id": "u1", "level": value})
    for key in ("nul", "lone-surrogate", "10k-chars", "int"):
        yield Case(f"list-user_id-{key}", "list", {"user_id": BAD_NAMES[key]})
        yield Case(f"stats-user_id-{key}", "stats", {"user_id": BAD_NAMES[key]})

    timeline = {"subject": "Ann", "user_id": "u1"}
    for key, value in BAD_TEXTS.items():
        if key not in ("over-limit",):
            yield Case(f"timeline-subject-{key}", "timeline", {**timeline, "subject": value})
    for key in ("empty", "nul", "lone-surrogate", "int", "10k-chars"):
        yield Case(f"timeline-attribute-{key}", "timeline", {**timeline, "attribute": BAD_NAMES[key]})
    for key, value in BAD_AS_OF.items():
        yield Case(f"timeline-as_of-{key}", "timeline", {**timeline, "as_of": value})


def search_defaults() -> dict[str, Any]:
    return {"query": "Where does Ann live?", "user_id": "u1"}


def _by_id() -> Iterator[Case]:
    for op in ("get", "history", "delete", "update"):
        for key, value in BAD_IDS.items():
            args: dict[str, Any] = {"item_id": value}
            if op == "update":
                args["text"] = "a new text"
            yield Case(f"{op}-id-{key}", op, args)
    for key, value in BAD_TEXTS.items():
        yield Case(f"update-text-{key}", "update", {"item_id": "@turn", "text": value})
    for key in ("nul", "lone-surrogate", "int"):
        yield Case(f"get-user_id-{key}", "get", {"item_id": "@turn", "user_id": BAD_NAMES[key]})
        yield Case(f"delete-user_id-{key}", "delete", {"item_id": "@turn", "user_id": BAD_NAMES[key]})
    yield Case("get-other-user", "get", {"item_id": "@turn", "user_id": "somebody-else"})
    yield Case("delete-other-user", "delete", {"item_id": "@turn", "user_id": "somebody-else"})


def _lifecycle() -> Iterator[Case]:
    for key, value in BAD_IDS.items():
        yield Case(f"forget-id-{key}", "forget", {"ids": [value], "user_id": "u1"})
    bad_lists: dict[str, object] = {
        "empty-list": [],
        "a-string": "t_0000000000000000",
        "a-dict": {"id": "x"},
        "an-int": 5,
        "known-and-unknown": ["@turn", "t_0000000000000000"],
        "1001-ids": [f"t_{n:016d}" for n in range(1001)],
    }
    for key, value in bad_lists.items():
        yield Case(f"forget-ids-{key}", "forget", {"ids": value, "user_id": "u1"})
    yield Case("forget-ids-and-session", "forget", {"ids": ["@turn"], "session_id": "s1"})
    yield Case("forget-nothing-named", "forget", {})
    for key in ("empty", "nul", "lone-surrogate", "int", "201-chars"):
        yield Case(f"forget-scope-user_id-{key}", "forget", {"user_id": BAD_NAMES[key]})
        yield Case(f"forget-scope-session_id-{key}", "forget", {"session_id": BAD_NAMES[key], "user_id": "u1"})
        yield Case(f"consolidate-user_id-{key}", "consolidate", {"user_id": BAD_NAMES[key]})
    for key, payload in BAD_IMPORTS.items():
        yield Case(f"import-{key}", "import", {"file": payload})
    for key, (name, payload) in BAD_INGESTS.items():
        expect = EITHER if key == "empty-jsonl" else REFUSED  # no message: nothing to add
        yield Case(f"ingest-{key}", "ingest", {"file": payload, "file_name": name}, expect)
    yield Case("ingest-unknown-format", "ingest", {"file": b"[]", "file_name": "chat.json", "format": "yaml"})
    yield Case("ingest-missing-file", "ingest", {"path": "/nonexistent/chat.json"})
    yield Case("ingest-a-directory", "ingest", {"path": "/"})
    yield Case("import-missing-file", "import", {"path": "/nonexistent/export.jsonl"})
    yield Case("export-into-missing-folder", "export", {"path": "/nonexistent/folder/out.jsonl"})
    yield Case("export-onto-a-directory", "export", {"path": "/tmp"})
    yield Case("export-user_id-nul", "export", {"path": "@tmp/out.jsonl", "user_id": "u\x00"})


def _accepted() -> Iterator[Case]:
    add = {"user_id": "u1", "session_id": "s-edge"}
    yield Case(
        "accept-emoji", "add", {**add, "messages": "I \U0001f499 Lisbon \u2014 caf\u00e9 \u4e2d\u6587"}, ACCEPTED
    )
    yield Case("accept-200-char-speaker", "add", {**add, "messages": [{**MESSAGE, "name": "n" * 200}]}, ACCEPTED)
    yield Case("accept-text-at-limit", "add", {**add, "messages": "w" * MAX_TEXT}, ACCEPTED)
    yield Case(
        "accept-tomorrow-at-9998",
        "add",
        {**add, "messages": "See you tomorrow!", "timestamp": "9998-12-31T23:00"},
        ACCEPTED,
    )
    yield Case(
        "accept-next-year-at-0002",
        "add",
        {**add, "messages": "Next year I retire.", "timestamp": "0002-01-01"},
        ACCEPTED,
    )
    yield Case("accept-epoch-seconds", "add", {**add, "messages": "epoch note", "timestamp": 1_700_000_000}, ACCEPTED)
    yield Case("accept-search-after-edges", "search", {"query": "tomorrow retire next year", "user_id": "u1"}, ACCEPTED)
    yield Case("accept-consolidate-after-edges", "consolidate", {"user_id": "u1"}, ACCEPTED)
    yield Case(
        "accept-dated-search-after-edges",
        "search",
        {"query": "what happens tomorrow?", "user_id": "u1", "filters": {"since": "2000-01-01"}},
        ACCEPTED,
    )
    yield Case("accept-forget-unknown-id-reports", "forget", {"ids": ["t_0000000000000000"], "user_id": "u1"}, EITHER)


CASES: list[Case] = list(_generate())

# -- bodies only a REST client can send -----------------------------------------------------
_RAW: dict[str, bytes] = {
    "empty": b"",
    "truncated": b'{"query": "x"',
    "null": b"null",
    "array": b"[]",
    "string": b'"x"',
    "number": b"5",
    "trailing-comma": b'{"query": "x",}',
    "single-quotes": b"{'query': 'x'}",
    "bad-utf8": b'{"query": "\xff"}',
    "utf-16": '{"query": "x"}'.encode("utf-16"),
    "raw-control-char": b'{"query": "a\x01b"}',
    "5000-digit-number": b'{"query": "x", "limit": ' + b"9" * 5000 + b"}",
    "exponent-1e999": b'{"query": "x", "limit": 1e999}',
    "infinity-literal": b'{"query": "x", "limit": Infinity}',
    "nan-literal": b'{"query": "x", "limit": NaN}',
    "array-depth-20000": b"[" * 20_000 + b"]" * 20_000,
    "object-depth-5000": b'{"query": "x", "filters": {"metadata": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5002,
}
RAW_REQUESTS: dict[str, tuple[str, bytes, str]] = {  # name: (path, body, expect)
    f"{path.rsplit('/', 1)[1]}-{name}": (path, body, REFUSED)
    for path in ("/v1/memories", "/v1/search", "/v1/context", "/v1/forget", "/v1/consolidate")
    for name, body in _RAW.items()
}
RAW_REQUESTS.update(
    {
        "memories-nan-metadata": ("/v1/memories", b'{"messages": "x", "metadata": {"a": NaN}}', REFUSED),
        "memories-escaped-nul": ("/v1/memories", b'{"messages": "a\\u0000b"}', REFUSED),
        "memories-escaped-surrogate": ("/v1/memories", b'{"messages": "\\ud800"}', REFUSED),
        "memories-duplicate-keys": ("/v1/memories", b'{"messages": "x", "messages": ""}', REFUSED),
        "memories-bom": ("/v1/memories", b'\xef\xbb\xbf{"messages": "bom note"}', EITHER),
        "import-json-object": ("/v1/import", b'{"format": "outcrop"}', REFUSED),
        "import-utf-16": ("/v1/import", "{}\n".encode("utf-16"), REFUSED),
    }
)


def cases_for(names: set[str] | None = None) -> list[Case]:
    """The corpus, or the cases called ``names``."""
    return [c for c in CASES if names is None or c.name in names]


if __name__ == "__main__":
    print(len(CASES), "cases")
