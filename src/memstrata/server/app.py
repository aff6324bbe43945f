"""The REST application: :func:`create_app` builds it from a :class:`ServerConfig`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from memstrata.api.memory import Memory
from memstrata.providers.base import Embedder
from memstrata.server.config import ServerConfig
from memstrata.server.errors import install_error_handlers
from memstrata.server.idempotency import SQLiteIdempotencyStore
from memstrata.server.keys import SQLiteKeyStore
from memstrata.server.limits import BodyLimitMiddleware
from memstrata.server.openapi import install_openapi
from memstrata.server.query_params import SingleQueryValuesMiddleware
from memstrata.server.routes import admin, health, lifecycle, memories, retrieval
from memstrata.server.sidecar import SidecarDB
from memstrata.server.state import ServerState
from memstrata.server.tenancy import TenantMemories

__all__ = ["create_app", "open_state"]


def open_state(config: ServerConfig, *, embedder: Embedder | None = None) -> ServerState:
    """Open the store (once, shared by every tenant) and the server's key database."""
    sidecar = SidecarDB(config.resolved_keys_path)
    try:
        memory = Memory(config=config.memory, embedder=embedder)
    except BaseException:
        sidecar.close()
        raise
    return ServerState(
        config=config,
        memories=TenantMemories(memory),
        keys=SQLiteKeyStore(sidecar, pepper=config.key_pepper.get_secret_value()),
        idempotency=SQLiteIdempotencyStore(sidecar, ttl_s=config.idempotency_ttl_s),
        sidecar=sidecar,
    )


def create_app(config: ServerConfig, *, embedder: Embedder | None = None) -> FastAPI:
    """The FastAPI app. The store opens when the app starts (lifespan) and closes when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = config.threads
        state = await anyio.to_thread.run_sync(lambda: open_state(config, embedder=embedder))
        app.state.memstrata = state
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="memstrata",
        summary="Long-term memory for LLM agents: add, search, cited context.",
        version=health._version(),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_openapi(app)
    for module in (health, memories, retrieval, lifecycle, admin):
        app.include_router(module.router)
    app.add_middleware(SingleQueryValuesMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes)
    return app
