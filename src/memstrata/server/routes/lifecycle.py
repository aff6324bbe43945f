"""``/v1/forget``: erase for good, with a receipt (export and import join it once the library has them)."""

from __future__ import annotations

from fastapi import APIRouter

from memstrata.lifecycle.receipts import ForgetReceipt
from memstrata.server.auth import TenantMemory
from memstrata.server.errors import ERROR_RESPONSES
from memstrata.server.routes.deps import State
from memstrata.server.schemas import ForgetRequest

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["lifecycle"], responses=ERROR_RESPONSES)


@router.post("/forget", response_model=ForgetReceipt)
def forget(body: ForgetRequest, tenant: TenantMemory, state: State) -> ForgetReceipt:
    """Erase turns (or the turns facts were made from), a session, or a whole user for good, with
    everything derived from them; the receipt lists the removed ids and the verification search.
    Unlike ``DELETE /v1/memories/{id}``, no history is kept. Ids of other tenants are 404."""
    with state.memories.write_lock:
        if body.ids is not None:
            return tenant.memory.forget(body.ids, user_id=body.user_id, scrub=body.scrub)
        return tenant.memory.forget(
            user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id, scrub=body.scrub
        )
