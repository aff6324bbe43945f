"""Search, context, profile, consolidate and stats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from memstrata.core.types import Context, Level
from memstrata.server.auth import TenantMemory
from memstrata.server.errors import ERROR_RESPONSES
from memstrata.server.routes.deps import AgentQuery, SessionQuery, State, UserQuery
from memstrata.server.schemas import (
    ConsolidateRequest,
    ConsolidateResponse,
    ContextRequest,
    HitList,
    ItemList,
    SearchRequest,
    StatsResponse,
    filters_dict,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["retrieval"], responses=ERROR_RESPONSES)


@router.post("/search", response_model=HitList)
def search(body: SearchRequest, tenant: TenantMemory) -> HitList:
    """Hybrid search; each hit carries an ``explain`` trace of the channels that found it."""
    hits = tenant.memory.search(
        body.query,
        user_id=body.user_id,
        agent_id=body.agent_id,
        session_id=body.session_id,
        limit=body.limit,
        filters=filters_dict(body.filters),
        channels=body.channels,
    )
    return HitList(hits=hits)


@router.post("/context", response_model=Context)
def context(body: ContextRequest, tenant: TenantMemory) -> Context:
    """A cited, token-budgeted block of the memories most relevant to the query."""
    return tenant.memory.context(
        body.query,
        user_id=body.user_id,
        agent_id=body.agent_id,
        session_id=body.session_id,
        max_tokens=body.max_tokens,
        filters=filters_dict(body.filters),
    )


@router.get("/profile", response_model=ItemList)
def profile(
    tenant: TenantMemory,
    user_id: UserQuery = None,
    agent_id: AgentQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ItemList:
    """The profile lines of a scope (one per participant and slot, with support)."""
    items = tenant.memory.list(user_id=user_id, agent_id=agent_id, level=Level.PROFILE, limit=limit)
    return ItemList(items=items, next_offset=None)


@router.post("/consolidate", response_model=ConsolidateResponse)
def consolidate(body: ConsolidateRequest, tenant: TenantMemory, state: State) -> ConsolidateResponse:
    """Build or refresh facts, episodes, topics and profile of a scope (idempotent)."""
    with state.memories.write_lock:
        report = tenant.memory.consolidate(user_id=body.user_id, agent_id=body.agent_id)
    return ConsolidateResponse(written=report.written, removed=report.removed)


@router.get("/stats", response_model=StatsResponse)
def stats(
    tenant: TenantMemory, user_id: UserQuery = None, agent_id: AgentQuery = None, session_id: SessionQuery = None
) -> StatsResponse:
    """Item counts per level in the tenant (or a narrower scope)."""
    found = tenant.memory.stats(user_id=user_id, agent_id=agent_id, session_id=session_id)
    return StatsResponse(tenant=found["tenant"], embedder=found["embedder"], counts=found["counts"])
