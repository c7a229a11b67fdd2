"""Owners of claims: this process is alive, a finished one is gone, another machine's cannot be told."""

from __future__ import annotations

import os
import subprocess
import sys

from geowarn.store.lease import Owner, owner_alive, pid_alive, process_start, this_process


def test_this_process_is_alive_and_round_trips() -> None:
    me = this_process()
    assert me.pid == os.getpid() and Owner.parse(str(me)) == me
    assert owner_alive(str(me)) is True


def test_a_finished_process_is_gone_and_a_reused_pid_is_not_taken_for_it() -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(proc.stdout)
    assert not pid_alive(pid) or process_start(pid) != ""
    assert owner_alive(str(Owner(this_process().host, pid, "123"))) is False
    me = this_process()
    if me.start:  # where start times are known, the same pid with another start time is another process
        assert owner_alive(str(Owner(me.host, me.pid, str(int(me.start) + 1)))) is False


def test_other_machines_and_garbage_cannot_be_told() -> None:
    assert owner_alive(f"elsewhere:{os.getpid()}:1") is None
    assert owner_alive("not an owner") is None and Owner.parse("a:b:c") is None
