"""The client configurations of docs/integrations/mcp.md, started as written: each snippet is read
out of the page (the fenced block after its ``<!-- check: CLIENT TRANSPORT -->`` mark) and turned
into what that client does with it: a stdio snippet's command, arguments and environment spawn the
server through the official ``mcp`` client; an HTTP snippet's URL is where the client connects, to a
server started with the page's own command. Each session lists the tools, stores a memory and finds
it again, and the memory lands in the default store under the snippet's user.

The test's own environment differs from a desktop's in two ways only: HOME is a temporary folder
(so the default store is a fresh file) with ``outcrop`` on PATH, and the HTTP server's port is a
free one instead of 8421, in the server command and the URL alike."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
import pytest

from mcp import Client, StdioServerParameters
from outcrop.server.launch import free_port
from tests.helpers import EXE

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "mcp.md"
MARK = re.compile(r"^<!-- check: (\S+) (\S+) -->\n```(\w+)\n(.*?)^```$", flags=re.S | re.M)
STDIO = ["claude-desktop", "claude-code", "claude-code-project", "cursor", "vscode"]
HTTP = ["claude-code", "cursor", "vscode"]
STREETS = {  # one street per client: each note is found by its own query
    "claude-desktop": "Lindenstrasse",
    "claude-code": "Kastanienallee",
    "claude-code-project": "Bergmannstrasse",
    "cursor": "Oranienstrasse",
    "vscode": "Torstrasse",
}


def snippets() -> dict[tuple[str, str], tuple[str, str]]:
    """(client, transport) → (language, text) for every marked block of the page."""
    found = {(client, transport): (lang, text) for client, transport, lang, text in MARK.findall(DOC.read_text())}
    assert len(found) == len(MARK.findall(DOC.read_text())), "a (client, transport) is marked twice"
    return found


@dataclass
class Launch:
    """What a client starts (stdio) or where it connects (http)."""

    command: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""


def _one_server(config: dict[str, object], key: str) -> dict[str, object]:
    servers = config[key]
    assert isinstance(servers, dict) and list(servers) == ["outcrop"], servers
    entry = servers["outcrop"]
    assert isinstance(entry, dict)
    return entry


def _claude_mcp_add(line: str) -> Launch:
    """``claude mcp add [--scope S] [-e K=V]... [--transport T] NAME (URL | -- COMMAND ARGS...)``."""
    words = shlex.split(line)
    assert words[:3] == ["claude", "mcp", "add"], line
    words, launch, transport, rest = words[3:], Launch(), "stdio", []
    while words:
        word = words.pop(0)
        if word == "--":
            launch.command, *launch.args = words
            break
        if word in ("-e", "--env"):
            key, _, value = words.pop(0).partition("=")
            launch.env[key] = value
        elif word in ("-s", "--scope", "-t", "--transport"):
            value = words.pop(0)
            transport = value if word in ("-t", "--transport") else transport
        else:
            rest.append(word)
    if transport == "http":
        [_name, launch.url] = rest
    else:
        assert rest == ["outcrop"] and launch.command, line
    return launch


def launch_of(client: str, transport: str) -> Launch:
    """What ``client`` does with its snippet for ``transport``."""
    lang, text = snippets()[(client, transport)]
    if lang == "bash":
        return _claude_mcp_add(text.strip())
    config = json.loads(text)
    entry = _one_server(config, "servers" if client == "vscode" else "mcpServers")
    if client == "vscode" or client == "claude-code-project":
        assert entry["type"] == transport, entry  # VS Code needs it; Claude Code's .mcp.json states it
    if transport == "http":
        assert isinstance(entry["url"], str)
        return Launch(url=entry["url"])
    assert isinstance(entry["command"], str)
    return Launch(command=entry["command"], args=list(entry.get("args", [])), env=dict(entry.get("env", {})))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HOME (so the default store is new), with ``outcrop`` on PATH; the test session's
    ``OUTCROP_*`` settings and XDG folders are not passed on."""
    for name in list(os.environ):
        if name.startswith(("OUTCROP_", "MEMSTRATA_", "XDG_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", f"{Path(EXE).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return tmp_path


def _held_by(home: Path) -> dict[str, list[str]]:
    """user id → texts of the turns in the default store under ``home``."""
    from outcrop import Memory

    [store] = home.rglob("memory.db")
    with Memory(f"sqlite:///{store}") as memory:
        return {user: [item.text for item in memory.list(user_id=user, level="turn")] for user in ("alice", "default")}


def _note(client: str) -> str:
    return f"The rye bread from the bakery on {STREETS[client]} is the best."


async def _check(client: Client, note: str) -> None:
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"remember", "recall", "add_memories", "search_memory", "delete_all_memories"} <= tools
    stored = await client.call_tool("remember", {"text": note, "speaker": "Alice"})
    assert not stored.is_error, stored.content
    street = next(word for word in STREETS.values() if word in note)
    found = await client.call_tool("recall", {"query": f"Which bakery on {street} sells rye bread?", "limit": 3})
    assert not found.is_error and isinstance(found.structured_content, dict)
    assert note in [hit["text"] for hit in found.structured_content["hits"]]


@pytest.mark.parametrize("client", STDIO)
def test_stdio_snippet_starts_a_working_server(client: str, home: Path) -> None:
    launch = launch_of(client, "stdio")
    assert launch.command == "outcrop" and launch.args[0] == "mcp"
    note = _note(client)
    # the environment a client gives: the snippet's env over the inherited one (the SDK merges them alike)
    params = StdioServerParameters(command=launch.command, args=launch.args, env={**os.environ, **launch.env})

    async def main() -> None:
        async with Client(params, read_timeout_seconds=120) as session:
            await _check(session, note)

    anyio.run(main)
    assert _held_by(home) == {"alice": [note], "default": []}  # the snippet's user, in the default store


@pytest.fixture
def http_server(home: Path) -> Iterator[int]:
    """``outcrop mcp --transport http ...`` exactly as the page's HTTP section says, plus ``--port``."""
    lang, text = snippets()[("server", "http")]
    words = shlex.split(text.strip())
    assert lang == "bash" and words[:2] == ["outcrop", "mcp"] and "--port" not in words
    port = free_port()
    with (home / "http.log").open("ab") as log:
        process = subprocess.Popen([*words, "--port", str(port)], stdout=log, stderr=log, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 300  # model loading on a loaded machine can take minutes
        while True:
            assert process.poll() is None, (home / "http.log").read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1.0)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the HTTP server did not listen"
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_http_snippets_reach_the_documented_server(http_server: int, home: Path) -> None:
    notes = []
    for client in HTTP:
        url = urlsplit(launch_of(client, "http").url)
        assert (url.scheme, url.hostname, url.port, url.path) == ("http", "127.0.0.1", 8421, "/mcp")
        moved = urlunsplit(url._replace(netloc=f"127.0.0.1:{http_server}"))  # the free port, not 8421
        note = _note(client)
        notes.append(note)

        async def main(target: str = moved, text: str = note) -> None:
            async with Client(target, read_timeout_seconds=120) as session:
                await _check(session, text)

        anyio.run(main)
    assert _held_by(home) == {"alice": notes, "default": []}


def test_every_marked_snippet_is_checked() -> None:
    marked = set(snippets())
    checked = {(c, "stdio") for c in STDIO} | {(c, "http") for c in HTTP} | {("server", "http")}
    assert marked == checked
