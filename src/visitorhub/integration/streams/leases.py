"""Leases: one run at a time per subscription (or connector), across threads, processes and hosts.

A run writes its owner ("host/pid-namespace/pid/token") and an expiry on the subscription row, and renews
the expiry before every POST. Another run may take the subscription once the lease has expired, or at once
when the owner was a process of this host (same pid namespace) that no longer exists: a `kill -9`ed run is
resumed by the next one without waiting.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from typing import Protocol


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


_PROCESS = f"{socket.gethostname()}/{_pid_namespace()}/{os.getpid()}"


def new_owner() -> str:
    """A lease owner: this process (host, pid namespace, pid) and a token of its own."""
    return f"{_PROCESS}/{uuid.uuid4().hex[:8]}"


def _owner_is_gone(owner: str) -> bool:
    """True when the owner was a process on this host (same pid namespace) that no longer exists."""
    host, _, rest = owner.partition("/")
    namespace, _, rest = rest.partition("/")
    pid, _, _token = rest.partition("/")
    here_host, here_namespace, here_pid = _PROCESS.split("/")
    if (host, namespace) != (here_host, here_namespace) or not pid.isdigit() or pid == here_pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by another user
        return False
    return False


class Leased(Protocol):
    """A row that carries a lease: a stream subscription, a connector."""

    lease_owner: str | None
    lease_expires_at: datetime | None


def lease_free(sub: Leased, now: datetime) -> bool:
    if sub.lease_owner is None or sub.lease_expires_at is None or sub.lease_expires_at <= now:
        return True
    return _owner_is_gone(sub.lease_owner)
