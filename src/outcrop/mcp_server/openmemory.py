"""OpenMemory's tool names over the same memory, for MCP clients set up for mem0's local server
(removed from mem0): ``add_memories``, ``search_memory``, ``list_memories``, ``delete_memories``
and ``delete_all_memories``, with OpenMemory's argument names and its results, JSON (or a sentence)
in one text block.

What each does here (docs/integrations/mcp.md has the table):

* ``add_memories(text)`` stores the text verbatim as one turn said by the user (named by the
  server's user id; "User" for the default user), so outcrop derives its facts, profile and timeline
  from it (no LLM extraction), and answers mem0's add result, ``{"results": [{"id", "memory", "event": "ADD"}]}``;
  a text already stored adds nothing and answers ``{"results": []}``, as mem0 does when nothing changed.
* ``search_memory(query)`` answers ``{"results": [{"id", "memory", "hash", "created_at",
  "updated_at", "score"}]}``, the 10 best, as OpenMemory did.
* ``list_memories()`` answers a JSON array of mem0 items (the 100 newest stored turns).
* ``delete_memories(memory_ids)`` and ``delete_all_memories()`` erase for good (outcrop's
  ``forget``: verified by search, nothing kept, not even history) and answer OpenMemory's sentences.

Every tool acts on the server's one scope (its user, and its agent when it has one) and takes no
scope argument: ``delete_all_memories`` erases that scope only, never another user's or agent's,
and ``delete_memories`` skips ids outside it. Errors are tool errors whose text is OpenMemory's
(``Error: ...``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from outcrop.api.memory import Memory
from outcrop.core.ids import new_id
from outcrop.core.locks import ScopeLocks
from outcrop.core.provenance import Writer
from outcrop.core.types import DEFAULT_USER, Item, Level
from outcrop.mcp_server.calls import call, in_scope

__all__ = ["OPENMEMORY_TOOLS", "register_openmemory_tools"]

OPENMEMORY_TOOLS = ("add_memories", "search_memory", "list_memories", "delete_memories", "delete_all_memories")
SEARCH_LIMIT = 10  # OpenMemory's
LIST_LIMIT = 100  # mem0's get_all default


def _hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()  # mem0's content hash


def _failed(message: str) -> CallToolResult:
    """A tool error whose text is ``message`` exactly (OpenMemory's wording), not the SDK's prefixed one."""
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _listed(item: Item) -> dict[str, Any]:
    """``item`` as a mem0 item: id, memory, hash, metadata, dates, and its scope's ids."""
    scope = item.scope
    entry: dict[str, Any] = {
        "id": item.id,
        "memory": item.text,
        "hash": _hash(item.text),
        "metadata": item.metadata,
        "created_at": _iso(item.timestamp or item.recorded_at),
        "updated_at": _iso(item.updated_at) if item.version > 1 else None,
        "user_id": scope.user_id,
    }
    for key, value in (("agent_id", scope.agent_id), ("run_id", scope.session_id), ("role", item.role)):
        if value is not None:
            entry[key] = value
    return entry


def register_openmemory_tools(
    server: MCPServer, memory: Memory, user: str, agent: str | None, locks: ScopeLocks
) -> None:
    """Add OpenMemory's five tools to ``server``, acting on ``memory`` within (``user``, ``agent``);
    writes take ``locks`` like the server's own tools."""
    tenant = memory.config.tenant

    @server.tool(structured_output=False)
    def add_memories(text: Annotated[str, Field(min_length=1, description="what to remember")]) -> str:
        """Add a new memory: anything the user tells about themselves, their preferences, or asks
        you to remember. (OpenMemory's name for `remember`.)"""
        with locks.writing(tenant, user):
            # said by the user, under their name: facts are drawn from a turn with a speaker, and
            # without one an OpenMemory client's memories never reached the profile or timeline
            message = {"role": "user", "name": user if user != DEFAULT_USER else "User", "content": text}
            mark = new_id(Level.TURN.prefix)  # ids sort by when they were made, strictly in a process
            [item_id] = call(memory.add, [message], user_id=user, agent_id=agent, writer=Writer.AGENT)
        # new when its turn was made by this call, after the mark; a text already held keeps its
        # older id (the scope's count before and after, compared, was wrong whenever another
        # process wrote or deleted in the scope meanwhile)
        added = item_id > mark
        results = [{"id": item_id, "memory": text, "event": "ADD"}] if added else []
        return json.dumps({"results": results})

    @server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
    def search_memory(query: Annotated[str, Field(min_length=1)]) -> str:
        """Search through stored memories (keywords and meaning), best first. Call it whenever the
        user asks anything. (OpenMemory's name for `recall`.)"""
        hits = call(memory.search, query, user_id=user, agent_id=agent, limit=SEARCH_LIMIT)
        results = [
            {
                "id": hit.id,
                "memory": hit.text,
                "hash": _hash(hit.text),
                "created_at": _iso(hit.timestamp),
                "updated_at": None,
                "score": round(hit.score, 6),
            }
            for hit in hits
        ]
        return json.dumps({"results": results}, indent=2)

    @server.tool(structured_output=False, annotations=ToolAnnotations(read_only_hint=True))
    def list_memories() -> str:
        """List the memories stored (the 100 newest), newest first."""
        items = call(memory.list, user_id=user, agent_id=agent, level=Level.TURN, limit=LIST_LIMIT, newest_first=True)
        return json.dumps([_listed(item) for item in items], indent=2)

    destructive = ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=False)

    @server.tool(structured_output=False, annotations=destructive)
    def delete_memories(
        memory_ids: Annotated[list[str], Field(min_length=1, max_length=100, description="ids of memories to delete")],
    ) -> str | CallToolResult:
        """Delete specific memories by their ids, for good (with what was derived from them)."""
        with locks.writing(tenant, user):
            # a turn, or a fact (which forgets its turns); an episode, topic or profile line is
            # forgotten through what it was made from, so it is skipped as an id of nothing is
            # (it failed the whole call, nothing deleted)
            ids = in_scope(memory, memory_ids, user, agent, levels=(Level.TURN, Level.FACT))
            if not ids:
                return _failed("Error: No accessible memories found with provided IDs")
            receipt = call(memory.forget, ids, user_id=user)
        if not receipt.ok:
            return _failed("Error deleting memories: the verification search still finds some of them")
        return f"Successfully deleted {len(ids)} memories"

    @server.tool(structured_output=False, annotations=destructive)
    def delete_all_memories() -> str | CallToolResult:
        """Delete all of this user's memories (of this agent, when the server has one), for good.
        Other users' and agents' memories are never touched."""
        with locks.writing(tenant, user):
            receipt = call(memory.forget, user_id=user, agent_id=agent)
        if not receipt.ok:
            return _failed("Error deleting memories: the verification search still finds some")
        return "Successfully deleted all memories"
