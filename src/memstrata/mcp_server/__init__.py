"""The MCP server (``memstrata mcp``): tools remember, recall, context, forget and profile over
:class:`memstrata.Memory`, scoped to one configured user (and optionally agent).

Needs the ``server`` extra (the official ``mcp`` SDK).
"""

from memstrata.mcp_server.server import McpScope, build_server

__all__ = ["McpScope", "build_server"]
