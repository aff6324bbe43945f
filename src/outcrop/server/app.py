"""The REST application: :func:`create_app` builds it from a :class:`ServerConfig`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI

from outcrop.api.memory import Memory
from outcrop.core.types import Scope
from outcrop.providers.base import Embedder
from outcrop.server.config import ServerConfig
from outcrop.server.errors import install_error_handlers
from outcrop.server.idempotency import SQLiteIdempotencyStore, erase_forgotten
from outcrop.server.json_body import one_value_per_key
from outcrop.server.keys import SQLiteKeyStore
from outcrop.server.limits import BodyLimitMiddleware
from outcrop.server.openapi import install_openapi
from outcrop.server.query_params import SingleQueryValuesMiddleware, known_query_parameters
from outcrop.server.routes import admin, health, lifecycle, memories, quarantine, retrieval
from outcrop.server.sidecar import SidecarDB
from outcrop.server.state import ServerState
from outcrop.server.tenancy import TenantMemories

__all__ = ["create_app", "open_state"]


def open_state(config: ServerConfig, *, embedder: Embedder | None = None) -> ServerState:
    """Open the store (once, shared by every tenant) and the server's key database."""
    sidecar = SidecarDB(config.resolved_keys_path)
    try:
        memory = Memory(config=config.memory, embedder=embedder)
    except BaseException:
        sidecar.close()
        raise
    idempotency = SQLiteIdempotencyStore(sidecar, ttl_s=config.idempotency_ttl_s)
    try:
        erase_forgotten(idempotency, lambda tenant, ids: memory.store.maintenance.forgotten_ids(_tenant(tenant), ids))
    except BaseException:
        memory.close()
        sidecar.close()
        raise
    return ServerState(
        config=config,
        memories=TenantMemories(memory, threads=config.threads),
        keys=SQLiteKeyStore(sidecar, pepper=config.key_pepper.get_secret_value()),
        idempotency=idempotency,
        sidecar=sidecar,
    )


def _tenant(name: str) -> Scope:
    return Scope(tenant=name, user_id=None)


def create_app(config: ServerConfig, *, embedder: Embedder | None = None) -> FastAPI:
    """The FastAPI app. The store opens when the app starts (lifespan) and closes when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        state = await anyio.to_thread.run_sync(lambda: open_state(config, embedder=embedder))
        app.state.outcrop = state
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="outcrop",
        summary="Long-term memory for LLM agents: add, search, cited context.",
        version=health._version(),
        lifespan=lifespan,
        dependencies=[Depends(known_query_parameters), Depends(one_value_per_key)],
    )
    install_openapi(app)
    for module in (health, quarantine, memories, retrieval, lifecycle, admin):  # /flagged before /{item_id}
        app.include_router(module.router)
    app.add_middleware(SingleQueryValuesMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    install_error_handlers(app)  # last: its middleware wraps the others
    return app
