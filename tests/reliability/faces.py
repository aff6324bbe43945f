"""The four faces a corpus case goes through, and what each did with it.

:func:`python_call`, :func:`cli_argv`, :func:`rest_request` and :func:`mcp_call` translate a
:class:`~tests.reliability.corpus.Case` (``None`` where the face cannot express it); the
``run_*`` functions run it and classify the outcome as ``accepted``, ``refused`` (the face's own
error: an ``OutcropError``, one line and exit 2, a 4xx JSON error, a tool error) or ``crash``
(anything else: another exception, a traceback, a 5xx, a dropped connection). :func:`footprint`
counts what a store file holds, to tell that a refused write wrote nothing.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from outcrop import Memory, OutcropError
from outcrop.stores.sqlite.driver import sqlite3
from tests.reliability.corpus import ACCEPTED, EITHER, LENIENT, REFUSED, Case

__all__ = [
    "Outcome",
    "cli_argv",
    "expected",
    "footprint",
    "judge",
    "mcp_call",
    "resolve",
    "rest_request",
    "run_cli_case",
    "run_python",
    "run_rest",
]

SKIP = object()  # a value the face cannot express


@dataclass(frozen=True)
class Outcome:
    kind: str  # accepted | refused | crash
    detail: str = ""


def expected(face: str, case: Case) -> str:
    if case.expect == REFUSED and any(face == f and case.name.startswith(p) for f, p in LENIENT):
        return EITHER
    return case.expect


def judge(face: str, case: Case, outcome: Outcome, before: Mapping[str, int], after: Mapping[str, int]) -> str | None:
    """What is wrong with ``outcome`` for ``case`` on ``face`` (``None``: nothing)."""
    want = expected(face, case)
    if outcome.kind == "crash":
        return f"crash: {outcome.detail}"
    if want == ACCEPTED and outcome.kind != "accepted":
        return f"refused valid input: {outcome.detail}"
    if want == REFUSED and outcome.kind != "refused":
        return f"accepted bad input: {outcome.detail}"
    if outcome.kind == "refused" and case.writes and dict(before) != dict(after):
        return f"partial write: {dict(before)} -> {dict(after)}"
    return None


def footprint(db: Path) -> dict[str, int]:
    """Rows of the log and the items table of a SQLite store file (read beside its writer)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for table in ("log", "items")}


def resolve(value: Any, seeds: Mapping[str, str]) -> Any:
    """``value`` with ``"@turn"``-style placeholders replaced by the seeded ids and paths."""
    if isinstance(value, str) and value.startswith("@"):
        head, _, rest = value.partition("/")
        return seeds[head] + ("/" + rest if rest else "") if head in seeds else value
    if isinstance(value, list):
        return [resolve(v, seeds) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, seeds) for k, v in value.items()}
    return value


def _file(case: Case, folder: Path | None) -> Path:
    """The file a case reads: its ``path``, or its ``file`` bytes written into ``folder`` (with no
    folder, only the name: to tell whether a face can express the case)."""
    if "path" in case.args:
        return Path(case.args["path"])
    if folder is None:
        return Path(case.args.get("file_name", "file"))
    path = folder / case.args.get("file_name", f"{case.name}.jsonl")
    path.write_bytes(case.args["file"])
    return path


# -- Python ----------------------------------------------------------------------------------
def python_call(memory: Memory, case: Case, args: dict[str, Any], folder: Path) -> Callable[[], object]:
    op = case.op
    if op in ("add", "search", "context"):
        first = args.pop("messages" if op == "add" else "query")
        return lambda: getattr(memory, op)(first, **args)
    if op in ("get", "history", "delete"):
        item = args.pop("item_id")
        return lambda: getattr(memory, op)(item, **args)
    if op == "update":
        item, text = args.pop("item_id"), args.pop("text")
        return lambda: memory.update(item, text, **args)
    if op == "timeline":
        subject = args.pop("subject")
        return lambda: memory.timeline(subject, args.pop("attribute", None), **args)
    if op == "forget":
        ids = args.pop("ids", None)
        return lambda: memory.forget(ids, **args) if "ids" in case.args else memory.forget(**args)
    if op == "import":
        return lambda: memory.import_(_file(case, folder))
    if op == "ingest":
        return lambda: memory.ingest(_file(case, folder), format=args.get("format", "auto"))
    if op == "export":
        return lambda: memory.export(args["path"], user_id=args.get("user_id"))
    return lambda: getattr(memory, op)(**args)


def run_python(memory: Memory, case: Case, seeds: Mapping[str, str], folder: Path) -> Outcome:
    call = python_call(memory, case, resolve(dict(case.args), seeds), folder)
    try:
        call()
    except OutcropError as exc:
        return Outcome("refused", f"{type(exc).__name__}: {exc}"[:300])
    except Exception as exc:
        return Outcome("crash", f"{type(exc).__name__}: {exc}"[:300])
    return Outcome("accepted")


# -- CLI -------------------------------------------------------------------------------------
def _argv_text(value: object, *, number: bool = False) -> str | object:
    """A command-line argument: strings that can be one (no NUL, encodable), numbers where
    the option is a number; everything else cannot be typed."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return SKIP
        return SKIP if "\x00" in value else value
    if number and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if number and isinstance(value, bool):
        return str(value)
    return SKIP


def _options(args: Mapping[str, Any], flags: Mapping[str, str], numbers: tuple[str, ...] = ()) -> list[str] | None:
    out: list[str] = []
    for key, value in args.items():
        if key not in flags:
            return None
        text = _argv_text(value, number=key in numbers)
        if text is SKIP:
            return None
        out += [flags[key], str(text)]
    return out


_SCOPE = {"user_id": "-u", "agent_id": "--agent-id", "session_id": "-s"}


def _cli_add(args: dict[str, Any]) -> list[str] | None:
    messages = args.pop("messages")
    if isinstance(messages, list) and len(messages) == 1:
        messages = messages[0]
    message = {"content": messages} if isinstance(messages, str) else messages
    if not isinstance(message, dict) or set(message) - {"content", "name", "role", "timestamp", "metadata"}:
        return None
    if "timestamp" in message:
        if "timestamp" in args:
            return None
        args["timestamp"] = message["timestamp"]
    for key in ("metadata",):
        if key in message:
            if key in args:
                return None
            args[key] = message[key]
    if "metadata" in args:
        if not _json_value(args["metadata"]):
            return None  # JSON text cannot hold an int key or a set
        try:  # the CLI takes metadata as JSON text; NaN and Infinity are what Python writes for them
            args["metadata"] = json.dumps(args["metadata"])
        except (TypeError, ValueError):
            return None
    text = _argv_text(message.get("content"))
    options = _options(
        {**args, **{k: message[k] for k in ("name", "role") if k in message}},
        {**_SCOPE, "timestamp": "-t", "metadata": "--metadata", "name": "--speaker", "role": "--role"},
    )
    return None if text is SKIP or options is None else ["add", str(text), *options]


def cli_argv(case: Case, args: dict[str, Any], folder: Path | None) -> list[str] | None:
    """The ``outcrop`` command line for ``case`` (after its global options), or ``None``."""
    op = case.op
    if op == "add":
        return _cli_add(args)
    if op in ("search", "context"):
        query = _argv_text(args.pop("query"))
        filters = args.pop("filters", {})
        if query is SKIP or "channels" in args or "recipe" in args or not isinstance(filters, dict):
            return None
        flags = {**_SCOPE, "as_of": "--as-of", "limit": "--limit", "max_tokens": "--max-tokens"}
        options = _options(args, flags, numbers=("limit", "max_tokens"))
        for key, value in filters.items():  # the filters the CLI has options for
            if key in ("since", "until", "speaker") and _argv_text(value) is not SKIP and options is not None:
                options += [f"--{key}", str(value)]
            else:
                return None
        return None if options is None else [op, str(query), *options]
    if op in ("list", "stats", "consolidate"):
        flags = {"user_id": "-u", "limit": "--limit", "offset": "--offset", "level": "--level"}
        options = _options(args, flags if op == "list" else {"user_id": "-u"}, numbers=("limit", "offset"))
        return None if options is None else [op, *options]
    if op in ("get", "history", "delete"):
        item = _argv_text(args.pop("item_id"))
        options = _options(args, {"user_id": "-u"})
        command = "show" if op == "get" else op
        return None if item is SKIP or options is None or item == "" else [command, str(item), *options]
    if op == "timeline":
        options = _options(
            args, {"subject": "--subject", "attribute": "--attribute", "user_id": "-u", "as_of": "--as-of"}
        )
        return None if options is None else ["timeline", *options]
    if op == "forget":
        ids = args.pop("ids", [])
        if "ids" in case.args and not ids:
            return None  # no id on the command line is a forget by scope, another input
        if not isinstance(ids, list) or any(_argv_text(i) is SKIP for i in ids) or len(ids) > 200:
            return None
        options = _options(args, {"user_id": "-u", "session_id": "-s", "agent_id": "--agent-id"})
        return None if options is None else ["forget", *ids, *options, "--yes", "--no-scrub"]
    if op == "ingest":
        options = _options({k: v for k, v in args.items() if k == "format"}, {"format": "--format"})
        return None if options is None else ["ingest", str(_file(case, folder)), *options]
    if op == "import":
        return ["import", str(_file(case, folder))]
    if op == "export":
        path = _argv_text(args["path"])
        options = _options({k: v for k, v in args.items() if k == "user_id"}, {"user_id": "-u"})
        return None if path is SKIP or options is None else ["export", str(path), *options]
    return None


def run_cli_case(result: subprocess.CompletedProcess[str]) -> Outcome:
    err = result.stderr.strip()
    if "Traceback" in result.stderr or "Traceback" in result.stdout:
        return Outcome("crash", f"traceback (exit {result.returncode}): {err[-400:]}")
    if result.returncode == 0:
        return Outcome("accepted")
    if result.returncode == 2 and err and "\n" not in err:
        return Outcome("refused", err[:300])
    return Outcome("crash", f"exit {result.returncode}, stderr {err[:300]!r}")


# -- REST ------------------------------------------------------------------------------------
def _json_value(value: object) -> bool:
    """Whether ``value`` has a JSON form that means the same (string keys, JSON types only)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list):
        return all(_json_value(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_value(v) for k, v in value.items())
    return False


_COUNTS = ("limit", "offset")


def _query(args: Mapping[str, Any]) -> dict[str, str] | None:
    """URL query parameters: strings, and numbers for the counts; a URL cannot say ``5`` for a
    name (it would be the name "5"), so such cases are not expressible."""
    params = {}
    for key, value in args.items():
        text = str(value) if key in _COUNTS and isinstance(value, int | float) else value
        if not isinstance(text, str):
            return None
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return None
        params[key] = text
    return params


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str] | None = None
    body: bytes | None = None


def rest_request(case: Case, args: dict[str, Any]) -> Request | None:
    op = case.op

    def post(path: str) -> Request | None:
        if not _json_value(args):
            return None
        return Request("POST", path, body=json.dumps(args).encode("utf-8", "surrogatepass"))

    if op == "add":
        return post("/v1/memories")
    if op in ("search", "context", "consolidate"):
        return post(f"/v1/{op}")
    if op == "forget":
        return post("/v1/forget")
    if op in ("list", "stats", "timeline"):
        params = _query(args)
        path = {"list": "/v1/memories", "stats": "/v1/stats", "timeline": "/v1/timeline"}[op]
        return None if params is None else Request("GET", path, params=params)
    if op in ("get", "history", "delete", "update"):
        item = args.pop("item_id")
        if not isinstance(item, str) or not item:
            return None  # an empty or non-string path segment is another URL, not a bad id
        try:
            quoted = urllib.parse.quote(item, safe="")
        except UnicodeEncodeError:
            return None
        path = f"/v1/memories/{quoted}" + ("/history" if op == "history" else "")
        text = args.pop("text", None)
        params = _query(args)
        if params is None:
            return None
        if op == "update":
            return (
                None
                if not _json_value(text)
                else Request("PATCH", path, params, json.dumps({"text": text}).encode("utf-8", "surrogatepass"))
            )
        return Request({"get": "GET", "history": "GET", "delete": "DELETE"}[op], path, params)
    if op == "import":
        return None if "path" in args else Request("POST", "/v1/import", body=args["file"])
    if op == "export":
        params = _query({k: v for k, v in args.items() if k == "user_id"})
        return None if not params else Request("GET", "/v1/export", params=params)
    return None


def run_rest(client: httpx.Client, request: Request) -> Outcome:
    try:
        response = client.request(
            request.method,
            request.path,
            params=request.params,
            content=request.body,
            headers={"Content-Type": "application/json"} if request.body is not None else None,
        )
    except httpx.HTTPError as exc:
        return Outcome("crash", f"connection: {type(exc).__name__}: {exc}")
    if response.status_code < 300:
        return Outcome("accepted", str(response.status_code))
    try:
        error = response.json()["error"]
        shaped = isinstance(error["code"], str) and isinstance(error["message"], str)
    except (ValueError, KeyError, TypeError):
        shaped = False
    if 400 <= response.status_code < 500 and shaped:
        return Outcome("refused", f"{response.status_code} {error['code']}: {error['message'][:200]}")
    return Outcome("crash", f"{response.status_code}: {response.text[:300]}")


# -- MCP -------------------------------------------------------------------------------------
def _mcp_sendable(value: object) -> bool:
    """What the official client sends as given: it cannot serialize a lone surrogate, and writes
    NaN and infinities as null (another input)."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def mcp_call(case: Case, args: dict[str, Any], user: str) -> tuple[str, dict[str, Any]] | None:
    """The tool and its arguments for ``case`` on a server bound to ``user``, or ``None``."""
    if args.pop("user_id", user) != user or not _json_value(args) or not _mcp_sendable(args):
        return None
    op = case.op
    if op == "add":
        messages = args.pop("messages")
        if isinstance(messages, list) and len(messages) == 1:
            messages = messages[0]
        message = {"content": messages} if not isinstance(messages, dict) else messages
        if set(message) - {"content", "name", "role", "timestamp"} or set(args) - {"session_id", "timestamp"}:
            return None
        if "timestamp" in message and "timestamp" in args:
            return None
        tool = {"text": message.get("content"), **args}
        for key, name in (("name", "speaker"), ("role", "role"), ("timestamp", "timestamp")):
            if key in message:
                tool[name] = message[key]
        if isinstance(tool.get("timestamp"), int | float) and case.expect != REFUSED:
            return None  # the tool takes times as ISO-8601 text only: epoch seconds are not valid there
        return "remember", tool
    if op == "search" and not set(args) - {"query", "limit", "session_id", "as_of"}:
        return "recall", args
    if op == "context" and not set(args) - {"query", "max_tokens", "as_of"}:
        return "context", args
    if op == "forget" and set(args) == {"ids"}:
        return "forget", args
    if op == "timeline":
        return "timeline", args
    return None
