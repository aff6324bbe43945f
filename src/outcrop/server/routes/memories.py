"""``/v1/memories``: add (with ``Idempotency-Key``), list, get, update, delete, history."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from outcrop.core.types import DEFAULT_USER
from outcrop.server.auth import Tenant, TenantMemory
from outcrop.server.errors import ERROR_RESPONSES, ErrorResponse, error_response
from outcrop.server.idempotency import PENDING, StoredResponse, fingerprint
from outcrop.server.routes.deps import AgentQuery, ItemId, SessionQuery, State, UserQuery
from outcrop.server.schemas import AddRequest, AddResponse, ItemList, ItemOut, Level, UpdateRequest, VersionList
from outcrop.server.state import ServerState

__all__ = ["router"]

router = APIRouter(prefix="/v1/memories", tags=["memories"], responses=ERROR_RESPONSES)

_CLAIM_WAIT = 30.0  # seconds a request waits for another worker running it under the same key

IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        description="replays the first response for the same key and body; 409 for the same key with another body",
    ),
]


@router.post(
    "",
    status_code=201,
    response_model=AddResponse,
    responses={409: {"model": ErrorResponse, "description": "Idempotency-Key reused with a different body"}},
)
def add(
    body: AddRequest, tenant: TenantMemory, state: State, request: Request, idempotency_key: IdempotencyKey = None
) -> Response:
    """Append messages to the tenant's memory; one turn id per message."""
    payload = body.model_dump(mode="json")
    owner = body.user_id if body.user_id is not None else DEFAULT_USER
    digest = fingerprint("POST", request.url.path, payload)
    with state.memories.holding_key(tenant.name, idempotency_key):
        if idempotency_key is not None:
            stored = _claim(state, tenant.name, idempotency_key, digest)
            if stored is not None:
                if stored.fingerprint != digest:
                    return error_response(409, "idempotency_conflict", "Idempotency-Key was used with another request")
                if stored.status == PENDING:
                    return error_response(
                        409, "idempotency_conflict", "a request with this Idempotency-Key is still running: retry later"
                    )
                return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})
        with state.memories.writing(tenant.name, owner):
            try:
                ids = tenant.memory.add(
                    payload["messages"],
                    user_id=body.user_id,
                    agent_id=body.agent_id,
                    session_id=body.session_id,
                    timestamp=body.timestamp,
                    metadata=body.metadata,
                )
            except BaseException:
                if idempotency_key is not None:
                    state.idempotency.release(tenant.name, idempotency_key)  # a failed request frees its key
                raise
            result = AddResponse(ids=ids).model_dump(mode="json")
            if idempotency_key is not None:  # under the scope's lock: a forget of these turns waits for it
                state.idempotency.save(tenant.name, idempotency_key, StoredResponse(digest, 201, result))
    return JSONResponse(result, status_code=201)


def _claim(state: ServerState, tenant: str, key: str, digest: str) -> StoredResponse | None:
    """Claim ``key`` (None: this request runs), waiting up to :data:`_CLAIM_WAIT` seconds while
    another worker runs the same request under it, so that it can replay that one's response."""
    deadline = time.monotonic() + _CLAIM_WAIT
    while True:
        stored = state.idempotency.claim(tenant, key, digest)
        if stored is None or stored.status != PENDING or stored.fingerprint != digest:
            return stored
        if time.monotonic() > deadline:
            return stored
        time.sleep(0.05)


def _owner(tenant: Tenant, item_id: str, user_id: str | None) -> str | None:
    """The user whose scope a write of ``item_id`` holds (an item never changes owner; one not
    found raises the 404 the write would have)."""
    return user_id if user_id is not None else tenant.memory.get(item_id).scope.user_id


@router.get("", response_model=ItemList)
def list_items(
    tenant: TenantMemory,
    user_id: UserQuery = None,
    agent_id: AgentQuery = None,
    session_id: SessionQuery = None,
    level: Level | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    newest_first: bool = False,
) -> ItemList:
    """A page of items, oldest first unless ``newest_first``; follow ``next_offset`` for the next page."""
    items = tenant.memory.list(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        level=None if level is None else level.value,
        limit=limit + 1,
        offset=offset,
        newest_first=newest_first,
    )
    more = len(items) > limit
    return ItemList.from_library(items[:limit], next_offset=offset + limit if more else None)


@router.get("/{item_id}", response_model=ItemOut)
def get(item_id: ItemId, tenant: TenantMemory, user_id: UserQuery = None) -> ItemOut:
    return ItemOut.from_library(tenant.memory.get(item_id, user_id=user_id))


@router.patch("/{item_id}", response_model=ItemOut)
def update(
    item_id: ItemId, body: UpdateRequest, tenant: TenantMemory, state: State, user_id: UserQuery = None
) -> ItemOut:
    """Replace an item's text; the old text stays in its history."""
    with state.memories.writing(tenant.name, _owner(tenant, item_id, user_id)):
        item = tenant.memory.update(item_id, body.text, user_id=user_id)
    return ItemOut.from_library(item)


@router.delete("/{item_id}", status_code=204, response_class=Response)
def delete(item_id: ItemId, tenant: TenantMemory, state: State, user_id: UserQuery = None) -> Response:
    """Remove an item from every index; its history stays readable."""
    with state.memories.writing(tenant.name, _owner(tenant, item_id, user_id)):
        tenant.memory.delete(item_id, user_id=user_id)
    return Response(status_code=204)


@router.get("/{item_id}/history", response_model=VersionList)
def history(item_id: ItemId, tenant: TenantMemory, user_id: UserQuery = None) -> VersionList:
    return VersionList.from_library(tenant.memory.history(item_id, user_id=user_id))
