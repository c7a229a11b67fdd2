"""Who holds a claim on a row, and whether that process still lives.

A claim names its owner as ``host:pid:start`` (:func:`this_process`): ``host`` is the host name with
the machine's boot id, ``start`` the process's start time (Linux ``/proc``; empty elsewhere), so a
pid reused after a crash is not taken for the process that crashed. A claim also has an expiry
time. A claim whose owner runs on this machine and is gone (:func:`owner_alive` is False) can be
taken over at once; one held on another machine only after it expires.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PROC = Path("/proc")


@cache
def _host() -> str:
    """``hostname`` plus the first 8 characters of the boot id, where the system has one."""
    name = socket.gethostname()[:100] or "localhost"
    try:
        boot = (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip().replace("-", "")[:8]
    except OSError:
        boot = ""
    return f"{name}+{boot}" if boot else name


def _stat(pid: int) -> list[str]:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first); empty when unknown."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return []
    return stat.rpartition(")")[2].split()  # the command name may hold spaces and brackets


def process_start(pid: int) -> str:
    """The start time of process ``pid`` (clock ticks since boot, Linux); empty when unknown."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Owner:
    """The process holding a claim."""

    host: str
    pid: int
    start: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.start}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner written by ``str(owner)``; None when ``text`` is not one."""
        host, sep, rest = text.rpartition(":")
        host, sep2, pid = host.rpartition(":")
        if not (sep and sep2 and pid.isdigit()):
            return None
        return cls(host, int(pid), rest)


def this_process() -> Owner:
    """The owner id of the calling process."""
    pid = os.getpid()
    return Owner(_host(), pid, process_start(pid))


def owner_alive(owner: str) -> bool | None:
    """True when the owner runs, False when it is known to be gone, None when this cannot be told here.

    Only a process on this machine can be checked: a pid that no longer exists, or that now belongs
    to a process started at another time, is gone.
    """
    parsed = Owner.parse(owner)
    if parsed is None or parsed.host != _host():
        return None
    if not pid_alive(parsed.pid):
        return False
    fields = _stat(parsed.pid)
    if fields and fields[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        return False
    return not (parsed.start and len(fields) > 19 and fields[19] != parsed.start)
