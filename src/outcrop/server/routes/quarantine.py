"""``/v1/memories/flagged`` and ``/v1/memories/{id}/release``: the items instruction screening
flagged, and letting one back into context and search (docs/reliability.md, "Memory poisoning")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from outcrop.server.auth import TenantMemory
from outcrop.server.errors import ERROR_RESPONSES
from outcrop.server.routes.deps import AgentQuery, ItemId, SessionQuery, State, UserQuery
from outcrop.server.schemas import ItemList

__all__ = ["router"]

router = APIRouter(prefix="/v1/memories", tags=["memories"], responses=ERROR_RESPONSES)


@router.get("/flagged", response_model=ItemList)
def flagged(
    tenant: TenantMemory,
    user_id: UserQuery = None,
    agent_id: AgentQuery = None,
    session_id: SessionQuery = None,
    released: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ItemList:
    """The turns and facts instruction screening flagged, oldest first (``metadata.screening`` says
    why); with ``released``, those released since too."""
    items = tenant.memory.flagged(
        user_id=user_id, agent_id=agent_id, session_id=session_id, released=released, limit=limit
    )
    return ItemList.from_library(items, next_offset=None)


@router.post("/{item_id}/release", response_model=ItemList)
def release(item_id: ItemId, tenant: TenantMemory, state: State, user_id: UserQuery = None) -> ItemList:
    """Let a flagged item (and the facts that inherited its flags) back into context and search;
    the items released. 422 for an item screening did not flag."""
    owner = user_id if user_id is not None else tenant.memory.get(item_id).scope.user_id
    with state.memories.writing(tenant.name, owner):
        released = tenant.memory.release(item_id, user_id=user_id)
    return ItemList.from_library(released, next_offset=None)
