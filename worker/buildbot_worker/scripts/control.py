"""`buildbot-worker start`, `stop` and `restart`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from twisted.python import usage

START_WAIT = 10.0
STOP_WAIT = 10.0
FAILURE_MARKERS = (
    b"Traceback (most recent call last)",
    b"Giving up after",
    b"login was unauthorized",
    b"stopping the worker",
)
TWISTD = "from twisted.scripts.twistd import run; run()"


class StartOptions(usage.Options):
    synopsis = "Usage:    buildbot-worker start [<basedir>]"
    optFlags = [
        ["quiet", "q", "Don't display startup log messages"],
        ["nodaemon", None, "Don't daemonize (stay in foreground)"],
    ]

    def parseArgs(self, basedir: str = ".") -> None:
        self["basedir"] = basedir


class StopOptions(usage.Options):
    synopsis = "Usage:    buildbot-worker stop [<basedir>]"
    optFlags = [["quiet", "q", "Don't display messages"]]

    def parseArgs(self, basedir: str = ".") -> None:
        self["basedir"] = basedir


class RestartOptions(StartOptions):
    synopsis = "Usage:    buildbot-worker restart [<basedir>]"


def is_worker_dir(basedir: str) -> bool:
    tac = os.path.join(basedir, "buildbot.tac")
    try:
        with open(tac) as f:
            return "Application('buildbot-worker')" in f.read()
    except OSError:
        return False


def start(config: dict) -> int:
    basedir = os.path.abspath(config["basedir"])
    quiet = config.get("quiet")
    if not is_worker_dir(basedir):
        print(f"invalid worker directory '{basedir}'", file=sys.stderr)
        return 1
    argv = [sys.executable, "-c", TWISTD, "--no_save", "--logfile=twistd.log"]
    if config.get("nodaemon"):
        argv += ["--nodaemon"]
    argv += ["--python=buildbot.tac"]
    if config.get("nodaemon"):
        os.chdir(basedir)
        os.execv(sys.executable, argv)
    logfile = os.path.join(basedir, "twistd.log")
    offset = os.path.getsize(logfile) if os.path.exists(logfile) else 0
    proc = subprocess.run(argv, cwd=basedir)
    if proc.returncode != 0:
        print("buildbot-worker: twistd failed to start the worker", file=sys.stderr)
        return 1
    return _follow_log(logfile, offset, quiet)


def _follow_log(logfile: str, offset: int, quiet: bool) -> int:
    deadline = time.monotonic() + START_WAIT
    seen = b""
    while time.monotonic() < deadline:
        try:
            with open(logfile, "rb") as f:
                f.seek(offset)
                seen = f.read()
        except OSError:
            pass
        if b"message from master: attached" in seen:
            if not quiet:
                print("The buildbot-worker appears to have (re)started correctly.")
            return 0
        if any(marker in seen for marker in FAILURE_MARKERS):
            if not quiet:
                print("The buildbot-worker failed to start; see twistd.log:")
                print(seen.decode("utf-8", "replace"))
            return 1
        time.sleep(0.2)
    if not quiet:
        print(
            "The buildbot-worker took more than 10 seconds to start and/or connect to the "
            "buildmaster; look in twistd.log for 'message from master: attached'."
        )
    return 0


def stop(config: dict, quiet: bool | None = None) -> int:
    basedir = os.path.abspath(config["basedir"])
    quiet = config.get("quiet") if quiet is None else quiet
    pidfile = os.path.join(basedir, "twistd.pid")
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        if not quiet:
            print("worker not running")
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        if not quiet:
            print("worker not running")
        return 0
    deadline = time.monotonic() + STOP_WAIT
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            if not quiet:
                print("worker process %d is dead" % pid)
            return 0
        time.sleep(0.1)
    print("never saw process go away", file=sys.stderr)
    return 1


def restart(config: dict) -> int:
    rc = stop(config, quiet=True)
    if rc != 0:
        return rc
    if not config.get("quiet"):
        print("now restarting worker process..")
    return start(config)
