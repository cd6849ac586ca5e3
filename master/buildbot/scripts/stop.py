"""`buildbot stop`: signal the running master to stop, and wait until it has."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from buildbot.scripts import base, pidfile

# seconds to wait for the process to go away after SIGTERM
STOP_TIMEOUT = 10.0


class StopOptions(base.BasedirOptions):
    synopsis = "Usage:    buildbot stop [options] [<basedir>]"
    optFlags = [
        ["quiet", "q", "Do not print what happens"],
        ["clean", "c", "Stop once the running builds have finished (SIGUSR1)"],
        ["no-wait", None, "Do not wait for the master to have stopped"],
    ]


def stop(
    config: dict[str, Any],
    out: Any = None,
    err: Any = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    quiet = config.get("quiet")
    basedir = config["basedir"]
    if not base.is_buildmaster_dir(basedir, err):
        return 1
    pid = pidfile.read_pid(basedir)
    if pid is None:
        if not quiet:
            print("buildmaster not running", file=out)
        return 0
    clean = bool(config.get("clean"))
    signum = signal.SIGUSR1 if clean else signal.SIGTERM
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        if not quiet:
            print(f"buildmaster not running (stale pid file for process {pid})", file=out)
        return 0
    if config.get("no-wait"):
        if not quiet:
            print(f"sent {signal.Signals(signum).name} to process {pid}", file=out)
        return 0
    if clean and not quiet:
        print(f"waiting for process {pid} to finish its builds and stop", file=out)
    # a clean stop lasts as long as the running builds do
    timeout = None if clean else STOP_TIMEOUT
    if not wait_for_exit(pid, timeout, clock, sleep):
        print(f"process {pid} is still running after {timeout:g} seconds", file=err)
        return 1
    if not quiet:
        print(f"buildbot process {pid} is dead", file=out)
    return 0


def wait_for_exit(
    pid: int,
    timeout: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 0.1,
) -> bool:
    """True once `pid` is gone; False if it still runs after `timeout` seconds."""
    deadline = None if timeout is None else clock() + timeout
    while pidfile.is_alive(pid):
        if deadline is not None and clock() >= deadline:
            return False
        sleep(interval)
    return True
