"""The MCP server (``outcrop mcp``): tools remember, recall, context, forget, profile and timeline over
:class:`outcrop.Memory`, scoped to one configured user (and optionally agent), and OpenMemory's tool
names (add_memories, search_memory, list_memories, delete_memories, delete_all_memories) beside them.

Needs the ``server`` extra (the official ``mcp`` SDK).
"""

from outcrop.mcp_server.server import McpScope, build_server

__all__ = ["McpScope", "build_server"]
