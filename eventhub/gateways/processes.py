"""Whether a process of this machine still runs: how a worker, a lease or a lock tells a crashed holder
from a live one."""

from __future__ import annotations

import os
import socket


def process_alive(pid: int) -> bool:
    """Whether `pid` runs here; a zombie (killed, not yet reaped, as under a container's PID 1) is dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return True


def holder_alive(hostname: str, pid: int) -> bool:
    """Whether the process `pid` of `hostname` may still run: one of another host is assumed alive (its
    hold lapses with its term), one of this host is looked up."""
    if hostname != socket.gethostname():
        return True
    return process_alive(pid)
