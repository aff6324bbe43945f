"""``/v1/forget`` (erase for good, with a receipt), ``/v1/export`` and ``/v1/import`` (JSONL)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from outcrop.core.types import DEFAULT_USER, Scope
from outcrop.errors import InvalidInputError, StoreError
from outcrop.server.auth import TenantMemory
from outcrop.server.errors import ERROR_RESPONSES, ApiError, ErrorResponse
from outcrop.server.idempotency import erase_forgotten
from outcrop.server.routes.deps import State, UserQuery
from outcrop.server.schemas import ForgetReceiptOut, ForgetRequest, ImportResult
from outcrop.server.transfer import prepare_import

__all__ = ["NDJSON", "router"]

router = APIRouter(prefix="/v1", tags=["lifecycle"], responses=ERROR_RESPONSES)

NDJSON = "application/x-ndjson"
_SPOOL = 8 << 20  # exports up to this size stay in memory, larger ones go to a temporary file
_CHUNK = 64 << 10

_EXAMPLE = (
    '{"format":"outcrop","projections":false,"tenant":"acme","user_id":null,"version":1}\n'
    '{"agent_id":null,"content_hash":"0d5c0c7f3b1e4b8a9f2c6d7e8a9b0c1d2e3f405162738495a6b7c8d9e0f1a2b3",'
    '"id":"l_01m8958hawdt4zkja9","kind":"message","payload":{"content":"I live in Boston.","metadata":{},'
    '"role":"user","speaker":"Ann","timestamp":"2023-01-10T00:00:00"},"recorded_at":"2026-11-25T10:50:42",'
    '"session_id":"s1","turn_id":"t_01m8958hax368nbsm3","type":"log","user_id":"ann"}\n'
)


class NdjsonResponse(StreamingResponse):
    media_type = NDJSON


@router.post("/forget", response_model=ForgetReceiptOut)
def forget(body: ForgetRequest, tenant: TenantMemory, state: State) -> ForgetReceiptOut:
    """Erase turns (or the turns facts were made from), a session, or a whole user for good, with
    everything derived from them; the receipt lists the removed ids and the verification search.
    Unlike ``DELETE /v1/memories/{id}``, no history is kept. Ids of other tenants are 404."""
    # forgetting ids of any user spans the tenant; a scope is one user's (the default one unless named)
    owner = body.user_id if body.user_id is not None or body.ids is not None else DEFAULT_USER
    with state.memories.writing(tenant.name, owner):
        if body.ids is not None:
            receipt = tenant.memory.forget(  # ids with a session or agent: refused, as in Python
                body.ids, user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id, scrub=body.scrub
            )
        else:
            receipt = tenant.memory.forget(
                user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id, scrub=body.scrub
            )
        # the Idempotency-Key records of adds that returned a forgotten turn hold a digest of its text
        state.idempotency.forget(tenant.name, [*receipt.removed.get("turn", []), *receipt.already_forgotten])
        if receipt.resumed:  # forgets another process cut short, completed now: their ids are not listed
            maintenance = tenant.memory.store.maintenance
            erase_forgotten(
                state.idempotency,
                lambda name, ids: maintenance.forgotten_ids(Scope(tenant=name, user_id=None), ids),
                tenant.name,
            )
    return ForgetReceiptOut.from_library(receipt)


def _stream(spool: IO[str]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(_CHUNK):
            yield chunk.encode("utf-8")
    finally:
        spool.close()


@router.get(
    "/export",
    response_class=NdjsonResponse,
    responses={
        200: {
            "description": "the export, one JSON object per line",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        }
    },
)
def export(
    tenant: TenantMemory,
    state: State,
    user_id: UserQuery = None,
    projections: Annotated[bool, Query(description="also one line per stored item (turns, facts, ...)")] = False,
) -> NdjsonResponse:
    """The caller's tenant (or one user of it) as JSONL: a header line, then the log in append
    order, then with ``projections`` every item. Only ever the key's own tenant. Deterministic:
    importing it and exporting again gives the same bytes."""
    # closed by _stream once sent (or below on failure)
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL, mode="w+", encoding="utf-8", newline="\n")  # noqa: SIM115
    try:
        tenant.memory.export(spool, user_id=user_id, projections=projections)  # one store snapshot
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return NdjsonResponse(
        _stream(spool), headers={"Content-Disposition": 'attachment; filename="outcrop-export.jsonl"'}
    )


async def _raw_body(request: Request) -> bytes:
    return await request.body()


_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "an outcrop JSONL export (GET /v1/export); any content type is read as such",
        "content": {NDJSON: {"schema": {"type": "string"}, "example": _EXAMPLE}},
    }
}


@router.post(
    "/import",
    response_model=ImportResult,
    openapi_extra=_IMPORT_BODY,
    responses={409: {"model": ErrorResponse, "description": "the file's ids are already taken in this tenant"}},
)
def import_(tenant: TenantMemory, state: State, body: Annotated[bytes, Depends(_raw_body)]) -> ImportResult:
    """Load a JSONL export into the caller's tenant, always: a header or records naming another
    tenant are re-scoped to this one (ids re-minted), user/agent/session names are kept inside it.
    Records already held are skipped, so importing a file twice adds nothing; projections are
    recomputed. A malformed line is a 400 naming it, and then nothing is written. The request body
    limit applies."""
    with state.memories.writing(tenant.name, None):  # it may write to every user of the tenant
        try:
            memory = tenant.memory
            prepared = prepare_import(body, tenant.name, memory.store, max_chars=memory.config.max_text_chars)
            report = memory.import_(io.StringIO(prepared.text, newline="\n"))
        except InvalidInputError as exc:
            raise ApiError(400, exc.code, str(exc)) from None
        except StoreError as exc:
            if "write rejected" not in str(exc):
                raise
            message = "the file's log or turn ids are already taken in this tenant; nothing was imported"
            raise ApiError(409, "import_conflict", message) from None
    return ImportResult.from_library(report, dropped=prepared.dropped, reminted=prepared.reminted)
