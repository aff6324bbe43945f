"""``/v1/admin``: tenants and API keys, behind the admin key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from outcrop.server.auth import Admin
from outcrop.server.errors import ERROR_RESPONSES
from outcrop.server.keys import TENANT_PATTERN, ApiKey
from outcrop.server.routes.deps import State

__all__ = ["router"]

router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Admin], responses=ERROR_RESPONSES)

TenantName = Annotated[str, Field(pattern=TENANT_PATTERN, description="letters, digits, '.', '_', '-'; ≤ 64")]
TenantPath = Annotated[str, Path(pattern=TENANT_PATTERN)]


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TenantName


class TenantCreated(BaseModel):
    name: str
    created: bool = Field(description="false when the tenant already existed")


class TenantList(BaseModel):
    tenants: list[str]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(None, description="a label for the key")


class KeyInfo(BaseModel):
    key_id: str
    tenant: str
    name: str | None
    created_at: float
    revoked_at: float | None = None

    @classmethod
    def of(cls, key: ApiKey) -> KeyInfo:
        return cls(
            key_id=key.key_id, tenant=key.tenant, name=key.name, created_at=key.created_at, revoked_at=key.revoked_at
        )


class KeyCreated(KeyInfo):
    key: str = Field(description="the API key; shown only once")


class KeyList(BaseModel):
    keys: list[KeyInfo]


@router.post("/tenants", status_code=201, response_model=TenantCreated)
def create_tenant(body: TenantCreate, state: State) -> TenantCreated:
    return TenantCreated(name=body.name, created=state.keys.create_tenant(body.name))


@router.get("/tenants", response_model=TenantList)
def list_tenants(state: State) -> TenantList:
    return TenantList(tenants=state.keys.tenants())


@router.post("/tenants/{tenant}/keys", status_code=201, response_model=KeyCreated)
def create_key(tenant: TenantPath, body: KeyCreate, state: State) -> KeyCreated:
    """A new API key for the tenant (404 if the tenant does not exist)."""
    key, record = state.keys.create_key(tenant, body.name)
    return KeyCreated(key=key, **KeyInfo.of(record).model_dump())


@router.get("/tenants/{tenant}/keys", response_model=KeyList)
def list_keys(tenant: TenantPath, state: State) -> KeyList:
    return KeyList(keys=[KeyInfo.of(k) for k in state.keys.keys(tenant)])


@router.delete("/keys/{key_id}", status_code=204, response_class=Response)
def revoke_key(key_id: Annotated[str, Path(min_length=1, max_length=100)], state: State) -> Response:
    state.keys.revoke(key_id)
    return Response(status_code=204)
