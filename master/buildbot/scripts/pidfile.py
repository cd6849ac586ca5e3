"""The running master's process, as twistd records it in `<basedir>/twistd.pid`."""

from __future__ import annotations

import os

PIDFILE = "twistd.pid"
LOGFILE = "twistd.log"


def read_pid(basedir: str) -> int | None:
    """The pid in the basedir's pid file, or None when there is no usable one."""
    try:
        with open(os.path.join(basedir, PIDFILE), encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # it exists, but belongs to someone else
        return True
    return True
