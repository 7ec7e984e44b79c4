"""Small helpers shared by the core (time, identity of this process)."""

from __future__ import annotations

import getpass
import os
import socket
import time
from functools import cache


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@cache
def hostname() -> str:
    return socket.gethostname()


@cache
def user_name() -> str:
    for var in ("LIGHTTRACK_USER", "MLFLOW_TRACKING_USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): not worth failing a run over
        return "unknown"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True
