"""Call-order sequencing of AsyncMemory writes: same user in order, other users beside, tenant-wide
writes between, and a cancelled write keeping its place."""

from __future__ import annotations

import asyncio

from outcrop.api.write_order import WriteOrder


async def _write(order: WriteOrder, log: list[str], name: str, user: str | None, pause: float) -> None:
    ticket = order.enter("t", user)
    try:
        if ticket.before:
            await asyncio.wait(ticket.before)
    except BaseException:
        order.leave_after_before(ticket)
        raise
    log.append(f"start {name}")
    await asyncio.sleep(pause)
    log.append(f"end {name}")
    order.leave(ticket)


def test_writes_of_one_user_run_in_call_order_one_at_a_time() -> None:
    async def main() -> list[str]:
        order, log = WriteOrder(), []
        await asyncio.gather(*(_write(order, log, str(i), "u", 0.01 * (5 - i)) for i in range(5)))
        assert len(order) == 0
        return log

    log = asyncio.run(main())
    assert log == [x for i in range(5) for x in (f"start {i}", f"end {i}")]


def test_other_users_run_beside_and_a_tenant_write_waits_for_all_before_it() -> None:
    async def main() -> list[str]:
        order, log = WriteOrder(), []
        await asyncio.gather(
            _write(order, log, "a", "u1", 0.05),
            _write(order, log, "b", "u2", 0.05),
            _write(order, log, "T", None, 0.01),
            _write(order, log, "c", "u1", 0.0),
            _write(order, log, "d", "u3", 0.0),
        )
        return log

    log = asyncio.run(main())
    assert log[:2] == ["start a", "start b"]  # two users at once
    assert log.index("start T") > max(log.index("end a"), log.index("end b"))
    assert log.index("start c") > log.index("end T")
    assert log.index("start d") > log.index("end T")  # a user not seen before still follows the tenant write


def test_a_write_cancelled_while_waiting_keeps_the_writes_after_it_behind_those_before() -> None:
    async def main() -> list[str]:
        order, log = WriteOrder(), []
        first = asyncio.create_task(_write(order, log, "1", "u", 0.05))
        second = asyncio.create_task(_write(order, log, "2", "u", 0.0))
        third = asyncio.create_task(_write(order, log, "3", "u", 0.0))
        await asyncio.sleep(0.01)
        second.cancel()
        await asyncio.gather(first, third, return_exceptions=True)
        assert second.cancelled()
        return log

    log = asyncio.run(main())
    assert log == ["start 1", "end 1", "start 3", "end 3"]
