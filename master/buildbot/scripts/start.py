"""`buildbot start`: run the master under twistd and report whether it came up."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import Any

from twisted.python import usage

from buildbot.scripts import base, logwatcher, pidfile

# seconds without a new log line before giving up, unless told otherwise
DEFAULT_START_TIMEOUT = 10.0

# twistd of this interpreter, whatever the PATH says
_TWISTD_MAIN = "from twisted.scripts.twistd import run; run()"
# Modules a master always imports, looked at to tell whether their docstring-free
# bytecode (python -OO) is compiled: see `python_flags`.
_OO_PROBES = ("buildbot/master.py", "twisted/internet/defer.py", "sqlalchemy/sql/compiler.py")


class StartOptions(base.BasedirOptions):
    synopsis = "Usage:    buildbot start [options] [<basedir>]"
    optFlags = [
        ["quiet", "q", "Do not print the outcome of a successful start"],
        ["nodaemon", None, "Run in the foreground instead of as a daemon"],
    ]
    optParameters = [
        [
            "start_timeout",
            None,
            None,
            "Seconds to wait for the master to report progress (default: $START_TIMEOUT or 10)",
        ],
    ]

    def opt_start_timeout(self, value: str) -> None:
        """The same as --start_timeout"""
        self["start_timeout"] = value

    def postOptions(self) -> None:
        super().postOptions()
        if self["start_timeout"] is not None:
            try:
                self["start_timeout"] = float(self["start_timeout"])
            except ValueError:
                raise usage.UsageError("start-timeout must be a number of seconds")


def python_flags(probes: tuple[str, ...] = _OO_PROBES) -> list[str]:
    """`-OO` when the bytecode it needs is compiled, else nothing.

    Without docstrings (and asserts) the ~700 modules of a master take about 4 MB
    less memory. Python keeps that bytecode apart (`*.opt-2.pyc`); where it was never
    compiled, and the install is read-only, each start would compile every module
    again, which costs more than it saves. `make venv` compiles it.
    """
    for probe in probes:
        top, _, rest = probe.partition("/")
        spec = importlib.util.find_spec(top)
        locations = spec.submodule_search_locations if spec is not None else None
        if not locations:
            return []
        source = os.path.join(locations[0], rest)
        if not os.path.exists(importlib.util.cache_from_source(source, optimization=2)):
            return []
    return ["-OO"]


def twistd_command(nodaemon: bool = False) -> list[str]:
    args = [sys.executable, *python_flags(), "-c", _TWISTD_MAIN]
    args += ["--no_save", f"--logfile={pidfile.LOGFILE}"]
    args += [f"--pidfile={pidfile.PIDFILE}", "--python=buildbot.tac"]
    if nodaemon:
        args.append("--nodaemon")
    return args


def start_timeout(config: dict[str, Any]) -> float:
    if config.get("start_timeout") is not None:
        return float(config["start_timeout"])
    try:
        return float(os.environ["START_TIMEOUT"])
    except (KeyError, ValueError):
        return DEFAULT_START_TIMEOUT


def start(config: dict[str, Any], out: Any = None, err: Any = None, execv: Any = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    basedir = config["basedir"]
    if not base.is_buildmaster_dir(basedir, err):
        return 1
    if config.get("nodaemon"):
        os.chdir(basedir)
        command = twistd_command(nodaemon=True)
        (execv or os.execv)(command[0], command)
        return 0  # only reached when execv is replaced (tests)
    tail = logwatcher.LogTail(os.path.join(basedir, pidfile.LOGFILE))
    launcher = subprocess.Popen(
        twistd_command(),
        cwd=basedir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        outcome = logwatcher.follow(
            tail,
            logwatcher.StartWatcher(),
            start_timeout(config),
            dead=_launch_failure(launcher, basedir),
        )
    finally:
        if launcher.poll() is None:
            # twistd waits for the daemon's start, which we stopped waiting for
            launcher.kill()
        launcher.wait()
        if launcher.stdout is not None:
            launcher.stdout.close()
    return report(outcome, start_timeout(config), config.get("quiet"), out, err)


def _launch_failure(launcher: subprocess.Popen, basedir: str):
    """A `dead` callback for `follow`: why the master is gone, or None while it may run."""

    def dead() -> str | None:
        code = launcher.poll()
        if code is None:
            return None
        if code != 0:
            assert launcher.stdout is not None
            output = launcher.stdout.read().decode("utf-8", errors="replace").strip()
            return f"twistd exited with status {code}" + (f":\n{output}" if output else "")
        pid = pidfile.read_pid(basedir)
        if pid is None or not pidfile.is_alive(pid):
            return "the buildmaster process exited"
        return None

    return dead


def report(outcome: logwatcher.Outcome, timeout: float, quiet: Any, out: Any, err: Any) -> int:
    if outcome.status == logwatcher.SUCCESS:
        if not quiet:
            print("buildmaster appears to have (re)started correctly.", file=out)
        return 0
    if outcome.status == logwatcher.TIMEOUT:
        print(
            f"The buildmaster logged nothing new for {timeout:g} seconds, so its start "
            "could not be confirmed.\nLook in twistd.log for a line 'BuildMaster is running' "
            "to know whether it started.",
            file=err,
        )
        return 1
    print("The buildmaster failed to start:", file=err)
    for line in outcome.lines:
        print("  " + line, file=err)
    print("Fix the problem (see twistd.log), then run 'buildbot start' again.", file=err)
    return 1
