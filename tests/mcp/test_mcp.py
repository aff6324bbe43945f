"""The MCP server end to end through the official ``mcp`` client SDK: the same session of tool
calls over stdio (the client spawns ``outcrop mcp --transport stdio``) and over streamable HTTP
(``outcrop mcp --transport http`` on a loopback port); a server scoped to one user (or one agent
of a user) never shows another scope's memories."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp import Client
from tests.helpers import run_cli
from tests.mcp.conftest import HttpMcp, stdio_params

TOOLS = {"remember", "recall", "context", "forget", "profile", "timeline"}
NOTES = [
    ("Alice", "I am a vegetarian and I live in Lisbon.", "2024-03-01T10:00:00"),
    ("Alice", "My sister Ana plays the piano every Sunday.", "2024-03-01T10:01:00"),
    ("Bruno", "I adopted a grey cat called Pixel last spring.", "2024-03-02T18:30:00"),
    ("Alice", "I work as a nurse at the city hospital.", "2024-03-03T09:00:00"),
]


async def _call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    content = result.structured_content
    assert isinstance(content, dict), result.content
    return content


async def _error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def _session(client: Client) -> None:
    """One agent's session: every tool, checked against what it stored."""
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert tools >= TOOLS

    ids = []
    for speaker, text, when in NOTES:
        stored = await _call(client, "remember", text=text, speaker=speaker, session_id="s1", timestamp=when)
        assert len(stored["ids"]) == 1
        ids.append(stored["ids"][0])
    again = await _call(client, "remember", text=NOTES[0][1], speaker="Alice", session_id="s1", timestamp=NOTES[0][2])
    assert again["ids"] == [ids[0]]  # the same message is stored once

    hits = (await _call(client, "recall", query="What is the name of the cat?", limit=5))["hits"]
    assert "Pixel" in hits[0]["text"] and hits[0]["speaker"] == "Bruno"  # the turn or the fact made from it
    assert hits[0]["timestamp"].startswith("2024-03-02")

    found = await _call(client, "context", query="Where does Alice live?", max_tokens=400)
    assert "Lisbon" in found["text"] and ids[0] in found["ids"]

    lines = (await _call(client, "profile"))["lines"]
    assert any(line["subject"] == "Alice" and "Lisbon" in line["text"] for line in lines), lines

    receipt = await _call(client, "forget", ids=[ids[2]])
    assert receipt["verified"] is True and receipt["removed"]["turn"] == 1
    after = (await _call(client, "recall", query="grey cat Pixel", limit=10))["hits"]
    assert all("Pixel" not in hit["text"] for hit in after)
    assert "not_found" in await _error(client, "forget", ids=["t_does_not_exist"])
    missing = await _error(client, "recall")  # a missing argument is a tool error of one line, not a crash
    assert missing.startswith("invalid_input: query") and "\n" not in missing, missing
    wrong = await _error(client, "recall", query="cat", limit="many")
    assert wrong.startswith("invalid_input: limit") and "\n" not in wrong, wrong
    # an argument the tool does not take is refused, not ignored (this stored under the server's user)
    refused = await _error(client, "remember", text="Note for Bob: the code is 4411.", user_id="bob")
    assert refused.startswith("invalid_input: unknown argument 'user_id'"), refused
    assert all("4411" not in text for text in await _recall_texts(client, "code for Bob"))


async def _recall_texts(client: Client, query: str) -> list[str]:
    return [hit["text"] for hit in (await _call(client, "recall", query=query, limit=20))["hits"]]


def test_stdio_session_and_user_scope(db_url: str) -> None:
    async def main() -> None:
        async with Client(stdio_params(db_url, "alice"), read_timeout_seconds=120) as client:
            await _session(client)
        # another user on the same store sees none of alice's memories, and its own only
        async with Client(stdio_params(db_url, "bob"), read_timeout_seconds=120) as bob:
            assert await _recall_texts(bob, "Where does Alice live? Lisbon vegetarian") == []
            assert (await _call(bob, "profile"))["lines"] == []
            await _call(bob, "remember", text="Bob keeps bees on his roof in Porto.", speaker="Bob")
            assert "not_found" in await _error(bob, "forget", ids=[await _first_id(db_url, "alice")])
        # an agent scope narrows further: one agent of alice does not see another agent's notes
        async with Client(stdio_params(db_url, "alice", "--agent-id", "travel"), read_timeout_seconds=120) as travel:
            await _call(travel, "remember", text="Book the night train to Porto for May.", speaker="Alice")
            assert any("night train" in t for t in await _recall_texts(travel, "night train to Porto"))
        async with Client(stdio_params(db_url, "alice", "--agent-id", "cooking"), read_timeout_seconds=120) as cook:
            assert not any("night train" in t for t in await _recall_texts(cook, "night train to Porto"))
            # nor forgets them: another agent's id is refused as an id of nothing is
            train, missing = await _first_id(db_url, "alice", agent_id="travel"), "t_0000000000missing1"
            refused = await _error(cook, "forget", ids=[train])
            assert refused.endswith(f"not_found: no memory item {train!r} in this scope")
            assert await _error(cook, "forget", ids=[missing]) == refused.replace(train, missing)
        async with Client(stdio_params(db_url, "alice", "--agent-id", "travel"), read_timeout_seconds=120) as travel:
            assert any("night train" in t for t in await _recall_texts(travel, "night train to Porto"))
        # alice's memories outlive the process; bob's are not in them
        async with Client(stdio_params(db_url, "alice"), read_timeout_seconds=120) as alice:
            texts = await _recall_texts(alice, "Lisbon bees Porto roof")
            assert any("Lisbon" in t for t in texts) and not any("bees" in t for t in texts)

    anyio.run(main)


async def _first_id(db_url: str, user_id: str, agent_id: str | None = None) -> str:
    """An id of ``user_id``'s memories (of ``agent_id``'s, when given), read through the library (not
    through the MCP server)."""
    from outcrop import Memory

    def read() -> str:
        with Memory(db_url) as memory:
            return memory.list(user_id=user_id, agent_id=agent_id, level="turn", limit=1)[0].id

    return await anyio.to_thread.run_sync(read)


def test_streamable_http_session(http_mcp: HttpMcp) -> None:
    async def main() -> None:
        async with Client(http_mcp.url, read_timeout_seconds=120) as client:
            await _session(client)
        # a second connection to the same server sees what the first stored
        async with Client(http_mcp.url, read_timeout_seconds=120) as client:
            assert any("Lisbon" in t for t in await _recall_texts(client, "Where does Alice live?"))

    anyio.run(main)


def test_as_of_and_timeline_over_stdio(db_url: str) -> None:
    """Ann lives in Boston, then moves to Paris: recall and context as of a moment between the two
    say Boston, now they say Paris; the timeline tool shows both, the first superseded."""

    async def main() -> None:
        async with Client(stdio_params(db_url, "ann"), read_timeout_seconds=120) as client:
            await _call(
                client, "remember", text="I live in Boston.", speaker="Ann", session_id="s1", timestamp="2023-01-10"
            )
            await anyio.sleep(1.1)  # recorded_at is to the second
            between = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            await anyio.sleep(1.1)
            moved = "I moved to Paris last week."
            await _call(client, "remember", text=moved, speaker="Ann", session_id="s2", timestamp="2023-05-10")

            question = "Where does Ann live?"
            then = " ".join(await _recall_texts_as_of(client, question, between))
            assert "Boston" in then and "Paris" not in then
            assert "Paris" in " ".join(await _recall_texts(client, question))
            context = await _call(client, "context", query=question, as_of=between)
            assert "Boston" in context["text"] and "Paris" not in context["text"]
            assert "Paris" in (await _call(client, "context", query=question))["text"]

            history = (await _call(client, "timeline", subject="Ann", attribute="lives_in"))["values"]
            assert [(v["value"], v["current"]) for v in history] == [("Boston", False), ("Paris", True)]
            assert history[0]["superseded_by"] == history[1]["fact_id"] and all(v["sources"] for v in history)
            past = (await _call(client, "timeline", subject="Ann", as_of=between))["values"]
            assert [v["value"] for v in past] == ["Boston"]
            assert "invalid_input" in await _error(client, "recall", query=question, as_of="not a date")

    anyio.run(main)


async def _recall_texts_as_of(client: Client, query: str, as_of: str) -> list[str]:
    hits = (await _call(client, "recall", query=query, limit=20, as_of=as_of))["hits"]
    return [hit["text"] for hit in hits]


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ([], {"OUTCROP_AGENT_ID": ""}, "OUTCROP_AGENT_ID is set but empty"),
        ([], {"OUTCROP_USER_ID": " "}, "OUTCROP_USER_ID is set but empty"),
        (["--user-id", ""], {}, "--user-id must be a non-empty string"),
        (["--agent-id", "a\tb"], {}, "--agent-id contains a control character"),
        (["--transport", "http", "--port", "99999"], {}, "Invalid value for '--port'"),
    ],
)
def test_a_scope_or_port_the_server_cannot_use_is_refused_at_start(
    tmp_path: Path, args: list[str], env: dict[str, str], says: str
) -> None:
    """An empty OUTCROP_AGENT_ID read as unset (a server over every agent of the user, whose
    delete_all_memories erased them all); an empty --user-id started a server whose
    add_memories crashed; a port out of range ended in a traceback."""
    result = run_cli("mcp", "--db", f"sqlite:///{tmp_path / 'm.db'}", *args, env=env, check=False, timeout=60)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr


def test_a_line_that_is_no_json_rpc_message_is_answered_over_stdio(db_url: str) -> None:
    """The SDK only logged a line it could not read: a client that sent a malformed request waited
    for ever. Each now gets its JSON-RPC error, and the session goes on."""
    params = stdio_params(db_url, "alice")
    process = subprocess.Popen(
        [params.command, *params.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=params.env,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    replies: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=lambda: [replies.put(json.loads(line)) for line in process.stdout], daemon=True).start()

    def ask(line: str) -> dict[str, Any]:
        process.stdin.write(line + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        return replies.get(timeout=120)  # the first waits for the model to load

    try:
        process.stdin.write("\n   \n")  # blank lines between messages ask nothing: no answer
        not_json = ask('{"jsonrpc": "2.0", "id": 1, "method": "initialize"')
        assert not_json == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
        not_a_request = ask('{"jsonrpc": "2.0", "id": 7, "method": 5}')
        assert not_a_request["id"] == 7 and not_a_request["error"]["code"] == -32600
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
        started = ask(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": hello}))
        assert started["id"] == 2 and started["result"]["serverInfo"]["name"] == "outcrop"
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        process.stdout.close()
