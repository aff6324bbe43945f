"""OpenMemory's tool names on a real ``outcrop mcp`` process, through the official ``mcp`` client:
the same session over stdio and over streamable HTTP, OpenMemory's argument names and result shapes
(JSON text), and ``delete_memories``/``delete_all_memories`` confined to the server's own scope: a
user never erases another user's memories, an agent never another agent's."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import anyio

from mcp import Client
from tests.mcp.conftest import HttpMcp, stdio_params

ALIASES = {"add_memories", "search_memory", "list_memories", "delete_memories", "delete_all_memories"}
NATIVE = {"remember", "recall", "context", "forget", "profile", "timeline"}
NOTES = [
    "I am allergic to peanuts.",
    "My daughter Lea starts school in September.",
    "I prefer window seats on long flights.",
]


async def _text(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    [block] = result.content
    text: str = block.text  # type: ignore[union-attr]
    return text


async def _json(client: Client, tool: str, **arguments: Any) -> Any:
    return json.loads(await _text(client, tool, **arguments))


async def _error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.content
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def _memories(client: Client) -> list[str]:
    return [entry["memory"] for entry in await _json(client, "list_memories")]


async def _found(client: Client, query: str) -> list[str]:
    return [hit["memory"] for hit in (await _json(client, "search_memory", query=query))["results"]]


async def _session(client: Client) -> None:
    """One OpenMemory client's session against a server scoped to user alice."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) >= ALIASES | NATIVE
    assert set(tools["add_memories"].input_schema["properties"]) == {"text"}
    assert set(tools["search_memory"].input_schema["properties"]) == {"query"}
    assert set(tools["delete_memories"].input_schema["properties"]) == {"memory_ids"}
    assert tools["list_memories"].input_schema.get("properties", {}) == {}
    assert tools["delete_all_memories"].input_schema.get("properties", {}) == {}
    assert (
        tools["delete_all_memories"].annotations is not None
        and tools["delete_all_memories"].annotations.destructive_hint
    )

    ids = []
    for note in NOTES:
        added = await _json(client, "add_memories", text=note)
        [result] = added["results"]
        assert (result["memory"], result["event"]) == (note, "ADD") and result["id"].startswith("t_")
        ids.append(result["id"])
    assert await _json(client, "add_memories", text=NOTES[0]) == {"results": []}  # already held: nothing changed
    # said by the user under their name, so facts and the profile follow (without a speaker, none did)
    profile = (await client.call_tool("profile", {})).structured_content or {}
    assert any(line["text"] == "alice daughter: Lea" for line in profile["lines"]), profile

    found = (await _json(client, "search_memory", query="which seat on a long flight"))["results"]
    assert "window seats" in found[0]["memory"]
    assert set(found[0]) == {"id", "memory", "hash", "created_at", "updated_at", "score"}
    assert found[0]["hash"] == hashlib.md5(found[0]["memory"].encode()).hexdigest()
    assert [hit["score"] for hit in found] == sorted((hit["score"] for hit in found), reverse=True)

    listed = await _json(client, "list_memories")
    mine = [entry for entry in listed if entry["id"] in ids]
    assert [entry["memory"] for entry in mine] == NOTES[::-1]  # newest first
    assert all(entry["user_id"] == "alice" and entry["created_at"] and entry["metadata"] for entry in mine)
    assert {"id", "memory", "hash", "metadata", "created_at", "updated_at", "user_id"} <= set(mine[0])

    # a profile line's id is skipped as an id of nothing is (it failed the whole call)
    line = profile["lines"][0]["id"]
    assert await _text(client, "delete_memories", memory_ids=[ids[0], line]) == "Successfully deleted 1 memories"
    assert not any("peanut" in text for text in await _found(client, "allergic to peanuts"))
    assert NOTES[0] not in await _memories(client)
    missing = await _error(client, "delete_memories", memory_ids=["t_does_not_exist", ids[0]])
    assert missing == "Error: No accessible memories found with provided IDs"
    assert "query" in await _error(client, "search_memory")  # a missing argument is a tool error


def test_openmemory_tools_over_stdio_stay_in_their_scope(db_url: str) -> None:
    async def main() -> None:
        async with Client(stdio_params(db_url, "bob"), read_timeout_seconds=120) as bob:
            [bees] = (await _json(bob, "add_memories", text="I keep bees on my roof in Porto."))["results"]
        for agent, note in (("travel", "Book the night train to Porto for May."), ("cooking", "Soak chickpeas.")):
            async with Client(stdio_params(db_url, "alice", "--agent-id", agent), read_timeout_seconds=120) as c:
                await _json(c, "add_memories", text=note)
        async with Client(stdio_params(db_url, "alice"), read_timeout_seconds=120) as alice:
            await _session(alice)
            # bob's id is not alice's to delete, and nothing of bob's shows up for her
            denied = await _error(alice, "delete_memories", memory_ids=[bees["id"]])
            assert denied == "Error: No accessible memories found with provided IDs"
            assert not any("bees" in text for text in await _found(alice, "bees on the roof in Porto"))
            assert {"Book the night train to Porto for May.", "Soak chickpeas."} <= set(await _memories(alice))
        # an agent's delete_all erases that agent's memories only
        async with Client(stdio_params(db_url, "alice", "--agent-id", "travel"), read_timeout_seconds=120) as travel:
            assert await _text(travel, "delete_all_memories") == "Successfully deleted all memories"
            assert await _memories(travel) == []
        async with Client(stdio_params(db_url, "alice"), read_timeout_seconds=120) as alice:
            left = await _memories(alice)
            assert "Soak chickpeas." in left and "Book the night train to Porto for May." not in left
            assert NOTES[1] in left
            # the user's delete_all erases all of alice (every agent of hers), and nothing of bob's
            assert await _text(alice, "delete_all_memories") == "Successfully deleted all memories"
            assert await _memories(alice) == []
            assert await _text(alice, "delete_all_memories") == "Successfully deleted all memories"  # again: no-op
        async with Client(stdio_params(db_url, "bob"), read_timeout_seconds=120) as bob:
            assert await _memories(bob) == ["I keep bees on my roof in Porto."]
            assert "bees" in (await _found(bob, "bees Porto"))[0]

    anyio.run(main)


def test_openmemory_tools_over_streamable_http(http_mcp: HttpMcp) -> None:
    async def main() -> None:
        async with Client(http_mcp.url, read_timeout_seconds=120) as client:
            await _session(client)
        async with Client(http_mcp.url, read_timeout_seconds=120) as client:  # a second connection sees the first's
            assert NOTES[2] in await _memories(client)
            assert await _text(client, "delete_all_memories") == "Successfully deleted all memories"
            assert await _memories(client) == []

    anyio.run(main)
