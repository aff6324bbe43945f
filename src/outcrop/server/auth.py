"""Authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``) names a tenant; the
admin key, from the server's configuration, manages tenants and keys."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from outcrop.api.memory import Memory
from outcrop.server.errors import ApiError
from outcrop.server.state import ServerState, server_state

__all__ = ["Admin", "Tenant", "TenantMemory", "require_admin", "require_tenant"]

_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer ock_...")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key, as an alternative header")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


def _presented(bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str:
    key = bearer.credentials if bearer is not None else header
    if not key:
        raise _unauthorized("an API key is required: Authorization: Bearer <key>")
    return key


@dataclass(frozen=True)
class Tenant:
    name: str
    memory: Memory


def require_tenant(
    state: Annotated[ServerState, Depends(server_state)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> Tenant:
    tenant = state.keys.tenant_of(_presented(bearer, header))
    if tenant is None:
        raise _unauthorized("invalid or revoked API key")
    return Tenant(tenant, state.memories.for_tenant(tenant))


def require_admin(
    state: Annotated[ServerState, Depends(server_state)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> None:
    key = _presented(bearer, header)
    admin = state.config.admin_key
    if admin is None or not hmac.compare_digest(key.encode(), admin.get_secret_value().encode()):
        raise _unauthorized("this endpoint needs the admin key")


TenantMemory = Annotated[Tenant, Depends(require_tenant)]
Admin = Depends(require_admin)
