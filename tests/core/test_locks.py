import gc
import threading
import time
from collections.abc import Callable

from outcrop.core.locks import ScopeLocks

WAIT = 5.0


def _released() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def _hold(
    locks: ScopeLocks, tenant: str, user: str | None, entered: threading.Event, release: threading.Event
) -> threading.Thread:
    def run() -> None:
        with locks.writing(tenant, user):
            entered.set()
            release.wait(WAIT)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_other_users_and_tenants_write_at_once_and_the_same_user_waits() -> None:
    locks = ScopeLocks()
    first, release = threading.Event(), threading.Event()
    holder = _hold(locks, "acme", "u1", first, release)
    assert first.wait(WAIT)
    for tenant, user in (("acme", "u2"), ("globex", "u1")):
        entered = threading.Event()
        _hold(locks, tenant, user, entered, _released()).join(WAIT)
        assert entered.wait(WAIT), (tenant, user)  # not held up by acme/u1
    same = threading.Event()
    waiter = _hold(locks, "acme", "u1", same, _released())
    assert not same.wait(0.2)  # acme/u1 is held
    release.set()
    assert same.wait(WAIT)
    holder.join(WAIT)
    waiter.join(WAIT)


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_tenant_wide_write_waits_for_the_tenants_users_and_holds_them_off() -> None:
    locks = ScopeLocks()
    user_in, user_release = threading.Event(), threading.Event()
    user = _hold(locks, "acme", "u1", user_in, user_release)
    assert user_in.wait(WAIT)
    wide_in, wide_release = threading.Event(), threading.Event()
    wide = _hold(locks, "acme", None, wide_in, wide_release)
    assert not wide_in.wait(0.2)  # u1 is writing
    _until(lambda: locks._gates["acme"]._waiting == 1)  # the wide write queued, however slow its thread
    later_in = threading.Event()
    later = _hold(locks, "acme", "u2", later_in, _released())
    assert not later_in.wait(0.2)  # a waiting tenant-wide write lets no new user write in
    other_in = threading.Event()
    _hold(locks, "globex", None, other_in, _released()).join(WAIT)
    assert other_in.is_set()  # another tenant is never held
    user_release.set()
    assert wide_in.wait(WAIT) and not later_in.is_set()
    wide_release.set()
    assert later_in.wait(WAIT)
    for thread in (user, wide, later):
        thread.join(WAIT)


def test_locks_live_only_while_used() -> None:
    locks = ScopeLocks()
    for n in range(100):
        with locks.writing(f"t{n}", "u"):
            assert len(locks) >= 2
    gc.collect()
    assert len(locks) == 0
