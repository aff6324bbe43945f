"""What to tell a newcomer whose search came back empty because the scope holds nothing: which
users the store does hold (within the caller's tenant only: another tenant's users are never named)."""

from __future__ import annotations

from outcrop.api.memory import Memory
from outcrop.core.types import DEFAULT_USER

__all__ = ["SHOWN_USERS", "empty_scope_hint", "held_users"]

SHOWN_USERS = 20


def held_users(memory: Memory, limit: int) -> list[str]:
    """Up to ``limit`` user ids the memory's tenant holds items for, sorted; never another tenant's."""
    return memory.store.records.users(memory.config.tenant, limit)


def empty_scope_hint(
    memory: Memory, user_id: str | None, agent_id: str | None = None, session_id: str | None = None
) -> str | None:
    """``None`` when the scope holds any memory; else one line naming the scope and the users this
    tenant holds memories for, e.g. ``no memories for user 'bob'; this store holds: alice, carol``."""
    if memory.list(user_id=user_id, agent_id=agent_id, session_id=session_id, limit=1):
        return None
    scope = f"user {user_id or DEFAULT_USER!r}"
    for name, value in (("agent", agent_id), ("session", session_id)):
        if value is not None:
            scope += f", {name} {value!r}"
    tenant = memory.config.tenant
    holder = "this store" if tenant == "default" else f"tenant {tenant!r}"
    users = held_users(memory, SHOWN_USERS + 1)
    if not users:
        return f"no memories for {scope}; {holder} holds none yet"
    shown = ", ".join(users[:SHOWN_USERS]) + (", ..." if len(users) > SHOWN_USERS else "")
    return f"no memories for {scope}; {holder} holds: {shown}"
