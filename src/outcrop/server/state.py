"""What one server process holds: its configuration, the shared memory, keys and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from outcrop.server.config import ServerConfig
from outcrop.server.idempotency import IdempotencyStore
from outcrop.server.keys import KeyStore
from outcrop.server.sidecar import SidecarDB
from outcrop.server.tenancy import TenantMemories

__all__ = ["ServerState", "server_state"]


@dataclass
class ServerState:
    config: ServerConfig
    memories: TenantMemories
    keys: KeyStore
    idempotency: IdempotencyStore
    sidecar: SidecarDB

    def close(self) -> None:
        self.memories.close()
        self.sidecar.close()


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.outcrop
    return state
