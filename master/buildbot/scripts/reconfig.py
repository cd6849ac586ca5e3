"""`buildbot reconfig` (or `sighup`): make the running master re-read its configuration."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from twisted.python import usage

from buildbot.scripts import base, logwatcher, pidfile

# seconds without a new log line before giving up
DEFAULT_PROGRESS_TIMEOUT = 10.0


class ReconfigOptions(base.BasedirOptions):
    synopsis = "Usage:    buildbot reconfig [options] [<basedir>]"
    optFlags = [["quiet", "q", "Do not print the outcome of a successful reconfig"]]
    optParameters = [
        [
            "progress_timeout",
            None,
            DEFAULT_PROGRESS_TIMEOUT,
            "Seconds to wait for the master to report progress",
        ],
    ]

    def opt_progress_timeout(self, value: str) -> None:
        """The same as --progress_timeout"""
        self["progress_timeout"] = value

    def postOptions(self) -> None:
        super().postOptions()
        try:
            self["progress_timeout"] = float(self["progress_timeout"])
        except ValueError:
            raise usage.UsageError("progress-timeout must be a number of seconds")


def reconfig(config: dict[str, Any], out: Any = None, err: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    quiet = config.get("quiet")
    basedir = config["basedir"]
    if not base.is_buildmaster_dir(basedir, err):
        return 1
    pid = pidfile.read_pid(basedir)
    if pid is None or not pidfile.is_alive(pid):
        print("buildmaster not running: nothing to reconfigure", file=err)
        return 1
    tail = logwatcher.LogTail(os.path.join(basedir, pidfile.LOGFILE))
    if not quiet:
        print(f"sending SIGHUP to process {pid}", file=out)
    os.kill(pid, signal.SIGHUP)

    def dead() -> str | None:
        return None if pidfile.is_alive(pid) else f"the buildmaster process {pid} exited"

    timeout = float(config.get("progress_timeout", DEFAULT_PROGRESS_TIMEOUT))
    outcome = logwatcher.follow(tail, logwatcher.ReconfigWatcher(), timeout, dead=dead)
    if outcome.status == logwatcher.SUCCESS:
        if not quiet:
            print("Reconfiguration appears to have completed successfully.", file=out)
        return 0
    if outcome.status == logwatcher.TIMEOUT:
        print(
            f"The buildmaster logged nothing new for {timeout:g} seconds: the end of the "
            "reconfiguration was not seen. Look in twistd.log for how it went.",
            file=err,
        )
        return 1
    if outcome.status == logwatcher.EXITED:
        print("The buildmaster stopped during the reconfiguration:", file=err)
    else:
        print("Reconfiguration failed; the master keeps its previous configuration:", file=err)
    for line in outcome.lines:
        print("  " + line, file=err)
    print("Fix master.cfg, then run 'buildbot reconfig' again.", file=err)
    return 1
