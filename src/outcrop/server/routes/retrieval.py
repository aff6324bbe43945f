"""Search, context (both with ``as_of``), timeline, profile, consolidate and stats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from outcrop.core.types import DEFAULT_USER
from outcrop.server.asof import AS_OF_DESCRIPTION, AS_OF_PATTERN, parse_as_of
from outcrop.server.auth import TenantMemory
from outcrop.server.errors import ERROR_RESPONSES
from outcrop.server.routes.deps import AgentQuery, SessionQuery, State, UserQuery
from outcrop.server.schemas import (
    ConsolidateRequest,
    ConsolidateResponse,
    ContextOut,
    ContextRequest,
    HitList,
    ItemList,
    Level,
    SearchRequest,
    StatsResponse,
    TimelineResponse,
    filters_dict,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["retrieval"], responses=ERROR_RESPONSES)


@router.post("/search", response_model=HitList)
async def search(body: SearchRequest, tenant: TenantMemory, state: State) -> HitList:
    """Hybrid search; each hit carries an ``explain`` trace of the channels that found it. With
    ``as_of``, only what memory held then, its slots resolved as they were (400 for a bad value)."""
    moment = parse_as_of(body.as_of)
    hits = await state.memories.async_for_tenant(tenant.name).search(
        body.query,
        user_id=body.user_id,
        agent_id=body.agent_id,
        session_id=body.session_id,
        limit=body.limit,
        filters=filters_dict(body.filters),
        channels=body.channels,
        as_of=moment,
    )
    return HitList.from_library(hits)


@router.post("/context", response_model=ContextOut)
async def context(body: ContextRequest, tenant: TenantMemory, state: State) -> ContextOut:
    """A cited, token-budgeted block of the memories most relevant to the query; ``as_of`` as in search."""
    moment = parse_as_of(body.as_of)
    found = await state.memories.async_for_tenant(tenant.name).context(
        body.query,
        user_id=body.user_id,
        agent_id=body.agent_id,
        session_id=body.session_id,
        max_tokens=body.max_tokens,
        filters=filters_dict(body.filters),
        as_of=moment,
    )
    return ContextOut.from_library(found)


@router.get("/timeline", response_model=TimelineResponse)
def timeline(
    tenant: TenantMemory,
    subject: Annotated[str, Query(min_length=1, max_length=200, pattern=r"\S", description="who, e.g. Ann")],
    attribute: Annotated[
        str | None, Query(min_length=1, max_length=200, pattern=r"\S", description="one slot, e.g. lives_in")
    ] = None,
    user_id: UserQuery = None,
    agent_id: AgentQuery = None,
    as_of: Annotated[
        str | None, Query(description=AS_OF_DESCRIPTION, json_schema_extra={"pattern": AS_OF_PATTERN})
    ] = None,
) -> TimelineResponse:
    """A subject's slot values over time (one ``attribute`` or all), oldest first: each with its
    validity, the turns it came from and the fact that superseded it."""
    moment = parse_as_of(as_of)
    values = tenant.memory.timeline(subject, attribute, user_id=user_id, agent_id=agent_id, as_of=moment)
    return TimelineResponse.from_library(values)


@router.get("/profile", response_model=ItemList)
def profile(
    tenant: TenantMemory,
    user_id: UserQuery = None,
    agent_id: AgentQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ItemList:
    """The profile lines of a scope (one per participant and slot, with support)."""
    items = tenant.memory.list(user_id=user_id, agent_id=agent_id, level=Level.PROFILE.value, limit=limit)
    return ItemList.from_library(items, next_offset=None)


@router.post("/consolidate", response_model=ConsolidateResponse)
def consolidate(body: ConsolidateRequest, tenant: TenantMemory, state: State) -> ConsolidateResponse:
    """Build or refresh facts, episodes, topics and profile of a scope (idempotent)."""
    with state.memories.writing(tenant.name, body.user_id if body.user_id is not None else DEFAULT_USER):
        report = tenant.memory.consolidate(user_id=body.user_id, agent_id=body.agent_id)
    return ConsolidateResponse.from_library(report)


@router.get("/stats", response_model=StatsResponse)
def stats(
    tenant: TenantMemory, user_id: UserQuery = None, agent_id: AgentQuery = None, session_id: SessionQuery = None
) -> StatsResponse:
    """Item counts per level in the tenant (or a narrower scope)."""
    found = tenant.memory.stats(user_id=user_id, agent_id=agent_id, session_id=session_id)
    return StatsResponse.from_library(found)
