"""Shared route parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from outcrop.server.state import ServerState, server_state

__all__ = ["AgentQuery", "ItemId", "SessionQuery", "State", "UserQuery"]

State = Annotated[ServerState, Depends(server_state)]
ItemId = Annotated[str, Path(min_length=1, max_length=200, description="a memory item id")]
UserQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"\S", description="user scope")]
AgentQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"\S", description="agent scope")]
SessionQuery = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"\S", description="session scope")]
