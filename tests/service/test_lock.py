"""One service per database: the service lock."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from geowarn.service import lock
from geowarn.store.db import default_url, open_store
from geowarn.store.lease import this_process

pytestmark = pytest.mark.usefixtures("db_backend")


def test_a_second_service_is_refused_until_the_first_stops_or_its_lock_expires(tmp_path: Path) -> None:
    store = open_store(default_url(tmp_path))
    now = datetime.now(UTC)
    first, second = "elsewhere+1:100:1", "elsewhere+1:200:1"  # another machine: liveness unknown
    lock.acquire(store, first, now=now)
    lock.acquire(store, first, now=now)  # its own lock again: fine
    with pytest.raises(lock.LockHeldError, match=r"another geowarn service .* holds this database's service lock"):
        lock.acquire(store, second, now=now)
    assert lock.renew(store, first, now=now + timedelta(seconds=30))
    with pytest.raises(lock.LockHeldError):
        lock.acquire(store, second, now=now + timedelta(seconds=60))  # renewed: still held
    lock.acquire(store, second, now=now + timedelta(seconds=30 + lock.LOCK_SECONDS + 1))  # expired: taken over
    assert not lock.renew(store, first, now=now)  # the first learns it lost the lock
    lock.release(store, first)  # not its lock: nothing happens
    assert lock.holder(store) == second
    lock.release(store, second)
    assert lock.holder(store) is None
    store.close()


def test_the_lock_of_a_killed_service_on_this_machine_is_taken_over_at_once(tmp_path: Path) -> None:
    store = open_store(default_url(tmp_path))
    me = this_process()
    dead = f"{me.host}:{2**22 + 12345}:1"  # no such pid
    lock.acquire(store, dead)
    lock.acquire(store, str(me))
    assert lock.holder(store) == str(me)
    store.close()
