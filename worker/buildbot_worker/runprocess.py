"""Running one child process for a command: output, timeouts, kills, logfiles."""

from __future__ import annotations

import codecs
import errno
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, error, protocol, task
from twisted.internet import process as tw_process
from twisted.internet.main import CONNECTION_DONE, CONNECTION_LOST

KILL_CHECK_DELAY = 5.0
LOGFILE_POLL_INTERVAL = 2.0
# a Linux pipe's default capacity
PIPE_READ_SIZE = 65536
_VAR_RE = re.compile(r"\$\{([0-9a-zA-Z_]*)\}")


class CommandEnvError(Exception):
    pass


class KillFailed(Exception):
    pass


def merge_environ(
    base: dict[str, str], env: dict[str, Any] | None, pathsep: str = os.pathsep
) -> dict[str, str]:
    """The child environment: `base` updated by the command's `env` argument."""
    result = dict(base)
    if not env:
        return result

    def expand(value: str) -> str:
        return _VAR_RE.sub(lambda m: base.get(m.group(1), ""), value)

    for key, value in env.items():
        if value is None:
            result.pop(key, None)
            continue
        if isinstance(value, list | tuple):
            if not all(isinstance(v, str) for v in value):
                raise CommandEnvError(f"'env' values must be strings or lists; key '{key}'")
            value = pathsep.join(value)
        elif not isinstance(value, str):
            raise CommandEnvError(
                f"'env' values must be strings or lists; key '{key}' is {value!r}"
            )
        if key == "PYTHONPATH":
            value += pathsep + "${PYTHONPATH}"
        result[key] = expand(value)
    return result


class _PipeReader(tw_process.ProcessReader):
    """Reads up to a whole pipe buffer at once (Twisted reads 8 KB): busy output costs
    one read and one round of line handling per 64 KB instead of eight."""

    def doRead(self) -> Any:
        try:
            data = os.read(self.fd, PIPE_READ_SIZE)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EINTR):
                return None
            return CONNECTION_LOST
        if not data:
            return CONNECTION_DONE
        self.dataReceived(data)
        return None


class _GroupProcess(tw_process.Process):
    """A child that leads its own process group, so a kill reaches its children too.

    Twisted would fork the worker and prepare the child in Python: every page the
    child touches before exec is copied, which costs a 40 MB worker tens of
    milliseconds of CPU per command.  `subprocess` prepares the child in C after a
    vfork (working directory, process group, descriptors), so a command costs its
    own run and little more.  An executable that cannot be started raises here, in
    the worker, instead of failing in the child.
    """

    processReaderFactory = _PipeReader

    def _trySpawnInsteadOfFork(self, *args: Any, **kwargs: Any) -> bool:
        return False

    def _fork(self, path, uid, gid, executable, args, environment, **kwargs) -> None:
        fdmap = kwargs.get("fdmap") or {}
        if uid is not None or gid is not None or set(fdmap) != {0, 1, 2}:
            super()._fork(path, uid, gid, executable, args, environment, **kwargs)
            return
        child = subprocess.Popen(
            args,
            executable=executable,
            cwd=path,
            env=environment,
            stdin=fdmap[0],
            stdout=fdmap[1],
            stderr=fdmap[2],
            close_fds=True,
            process_group=0,
        )
        # Twisted's SIGCHLD handling reaps the child; a Popen that believed its child
        # still ran would try to reap it too, and might take the exit status first.
        child.returncode = 0
        self.pid = child.pid
        self.status = -1

    def _setupChild(self, *args: Any, **kwargs: Any) -> None:
        os.setpgrp()
        super()._setupChild(*args, **kwargs)


class _Logfile:
    """A file polled while the command runs; new content goes out as `log` updates."""

    def __init__(self, name: str, path: str, follow: bool, send: Callable, encoding: str) -> None:
        self.name, self.path, self.send = name, path, send
        self.decoder = codecs.getincrementaldecoder(encoding)("backslashreplace")
        self.offset: int | None = None
        self.identity: tuple[int, int] | None = None
        if follow:
            try:
                st = os.stat(path)
                self.offset, self.identity = st.st_size, (st.st_dev, st.st_ino)
            except OSError:
                pass

    def poll(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            return
        identity = (st.st_dev, st.st_ino)
        if identity != self.identity or self.offset is None or st.st_size < self.offset:
            self.identity, self.offset = identity, 0
        if st.st_size == self.offset:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(1024 * 1024)
        except OSError:
            return
        self.offset += len(data)
        text = self.decoder.decode(data)
        if text:
            self.send("log", (self.name, text))


class RunProcess(protocol.ProcessProtocol):
    """Runs `command` in `workdir`, reporting through `send(key, value)`.

    `start()` returns a Deferred firing with the exit code (-1 when killed); it fails
    with KillFailed when a kill does not take effect.
    """

    def __init__(
        self,
        reactor: Any,
        command: str | list,
        workdir: str,
        send: Callable[[str, Any], None],
        environ: dict[str, str] | None = None,
        want_stdout: bool = True,
        want_stderr: bool = True,
        timeout: float | None = None,
        maxTime: float | None = None,
        max_lines: int | None = None,
        sigtermTime: float | None = None,
        interruptSignal: str | None = "KILL",
        initial_stdin: str | None = None,
        logfiles: dict[str, Any] | None = None,
        usePTY: bool = False,
        logEnviron: bool = True,
        sendRC: bool = True,
        unicode_encoding: str = "utf-8",
        spawn: Callable | None = None,
    ) -> None:
        self.reactor = reactor
        self.workdir = workdir
        self.send = send
        self.environ = dict(os.environ if environ is None else environ)
        self.want_stdout, self.want_stderr = want_stdout, want_stderr
        self.timeout, self.maxTime, self.max_lines = timeout, maxTime, max_lines
        self.sigtermTime = sigtermTime
        self.interruptSignal = interruptSignal or "KILL"
        self.initial_stdin = initial_stdin
        self.usePTY = bool(usePTY)
        self.logEnviron = logEnviron
        self.sendRC = sendRC
        self.encoding = unicode_encoding
        self._spawn = spawn or self._spawn_process
        self.argv, self.shown_argv = self._argv(command)
        self.shown = (
            command
            if isinstance(command, str)
            else " ".join(shlex.quote(a) for a in self.shown_argv)
        )
        self.logfiles = [
            _Logfile(name, os.path.join(workdir, spec), False, send, unicode_encoding)
            if isinstance(spec, str)
            else _Logfile(
                name,
                os.path.join(workdir, spec["filename"]),
                bool(spec.get("follow")),
                send,
                unicode_encoding,
            )
            for name, spec in (logfiles or {}).items()
        ]
        self._logfiles_spec = logfiles or {}
        self._decoders = {
            key: codecs.getincrementaldecoder(unicode_encoding)("backslashreplace")
            for key in ("stdout", "stderr")
        }
        self.lines = 0
        self.killed = False
        self.process: Any = None
        self.pid: int | None = None
        self.deferred: defer.Deferred[int] = defer.Deferred()
        self._timers: dict[str, Any] = {}
        self._poller: task.LoopingCall | None = None
        self.started_at = 0.0

    # ---- set-up -------------------------------------------------------------

    def _argv(self, command: str | list) -> tuple[list[str], list[str]]:
        if isinstance(command, str):
            if sys.platform == "win32":  # pragma: no cover
                argv = [os.environ.get("COMSPEC", "cmd.exe"), "/c", command]
            else:
                argv = ["/bin/sh", "-c", command]
            return argv, argv
        argv, shown = [], []
        for item in command:
            if isinstance(item, tuple) and len(item) == 3 and item[0] == "obfuscated":
                argv.append(str(item[1]))
                shown.append(str(item[2]))
            else:
                argv.append(str(item))
                shown.append(str(item))
        return argv, shown

    def _header(self) -> str:
        text = self.shown + "\n in dir " + self.workdir
        for label, value in (("timeout", self.timeout), ("maxTime", self.maxTime)):
            if value is not None:
                unit = "sec" if value == 1 else "secs"
                text += f" ({label} {value} {unit})"
        text += "\n"
        if self._logfiles_spec:
            text += f" watching logfiles {self._logfiles_spec}\n"
        shown_argv = [a.encode(self.encoding, "replace") for a in self.shown_argv]
        text += f" argv: {shown_argv!r}\n"
        if self.logEnviron:
            text += " environment:\n"
            text += "".join(f"  {k}={v}\n" for k, v in sorted(self.child_env.items()))
        if self.initial_stdin:
            text += f" writing {len(self.initial_stdin.encode(self.encoding))} bytes to stdin\n"
        text += f" using PTY: {self.usePTY}\n"
        return text

    # ---- running ------------------------------------------------------------

    def start(self) -> defer.Deferred[int]:
        self.child_env = self.environ
        if self.usePTY and self.initial_stdin:
            self.send("header", "WARNING: disabling usePTY for this command")
            self.usePTY = False
        self.started_at = self.reactor.seconds()
        self.send("header", self._header())
        try:
            os.makedirs(self.workdir, exist_ok=True)
            self.process = self._spawn()
        except Exception as e:
            self.send("stderr", f"error spawning process: {e}\n")
            self._finish_rc(-1)
            return self.deferred
        self.pid = getattr(self.process, "pid", None)
        if self.initial_stdin:
            self.process.write(self.initial_stdin.encode(self.encoding))
            self.process.closeStdin()
        elif not self.usePTY:
            self.process.closeStdin()
        if self.timeout is not None:
            self._timers["timeout"] = self.reactor.callLater(self.timeout, self._on_timeout)
        if self.maxTime is not None:
            self._timers["maxTime"] = self.reactor.callLater(self.maxTime, self._on_max_time)
        if self.logfiles:
            self._poller = task.LoopingCall(self._poll_logfiles)
            self._poller.clock = self.reactor
            self._poller.start(LOGFILE_POLL_INTERVAL, now=False)
        return self.deferred

    def _spawn_process(self) -> Any:
        if self.usePTY:
            return self.reactor.spawnProcess(
                self, self.argv[0], self.argv, self.child_env, self.workdir, usePTY=True
            )
        if os.name == "posix":
            return _GroupProcess(
                self.reactor, self.argv[0], self.argv, self.child_env, self.workdir, self
            )
        return self.reactor.spawnProcess(  # pragma: no cover
            self, self.argv[0], self.argv, self.child_env, self.workdir
        )

    def _poll_logfiles(self) -> None:
        for lf in self.logfiles:
            lf.poll()

    def outReceived(self, data: bytes) -> None:
        self._output("stdout", data, self.want_stdout)

    def errReceived(self, data: bytes) -> None:
        self._output("stderr", data, self.want_stderr)

    def _output(self, key: str, data: bytes, wanted: bool) -> None:
        timer = self._timers.get("timeout")
        if timer is not None and timer.active():
            timer.reset(self.timeout)
        if not wanted or self.killed:
            return
        text = self._decoders[key].decode(data)
        if self.max_lines is not None:
            self.lines += text.count("\n")
            if self.lines > self.max_lines:
                self.send(key, text)
                self.kill(
                    f"command exceeds max lines: {self.lines}/{self.max_lines} written/allowed"
                    f" running {self.shown}",
                    "max_lines_failure",
                )
                return
        if text:
            self.send(key, text)

    def _on_timeout(self) -> None:
        self._timers.pop("timeout", None)
        self.kill(
            f"command timed out: {self.timeout} seconds without output running {self.shown}",
            "timeout_without_output",
        )

    def _on_max_time(self) -> None:
        self._timers.pop("maxTime", None)
        self.kill(
            f"command timed out: {self.maxTime} seconds elapsed running {self.shown}", "timeout"
        )

    def kill(self, why: str, failure_reason: str | None = None) -> None:
        """Kill the whole process group: TERM first when sigtermTime is set."""
        if self.killed or self.deferred.called:
            return
        self.killed = True
        for key in ("timeout", "maxTime"):
            timer = self._timers.pop(key, None)
            if timer is not None and timer.active():
                timer.cancel()
        if failure_reason:
            self.send("failure_reason", failure_reason)
        self.send("header", f"\n{why}, attempting to kill\n")
        if self.sigtermTime:
            self._signal("TERM")
            self._timers["sigterm"] = self.reactor.callLater(self.sigtermTime, self._final_kill)
        else:
            self._final_kill()

    def _final_kill(self) -> None:
        self._timers.pop("sigterm", None)
        if self.deferred.called:
            return
        self._signal(self.interruptSignal)
        self._timers["check"] = self.reactor.callLater(KILL_CHECK_DELAY, self._kill_failed)

    def _signal(self, name: str) -> None:
        signum = getattr(signal, "SIG" + name.upper(), None)
        if signum is None or self.process is None:
            return
        if self.pid is not None:
            try:
                os.killpg(self.pid, signum)
                return
            except OSError:
                pass
        try:
            self.process.signalProcess(name.upper())
        except (OSError, error.ProcessExitedAlready, KeyError):
            pass

    def _kill_failed(self) -> None:
        self._timers.pop("check", None)
        if self.deferred.called:
            return
        self.send("header", f"SIG{self.interruptSignal} failed to kill process\n")
        self.send("header", "using fake rc=-1\n")
        if self.sendRC:
            self.send("rc", -1)
        self._stop_watching()
        self.deferred.errback(KillFailed(f"SIG{self.interruptSignal} failed to kill process"))

    def processEnded(self, reason: Any) -> None:
        if self.deferred.called:
            return
        for key in ("stdout", "stderr"):
            tail = self._decoders[key].decode(b"", final=True)
            if tail and (self.want_stdout if key == "stdout" else self.want_stderr):
                self.send(key, tail)
        self._poll_logfiles()
        value = reason.value
        sig = getattr(value, "signal", None)
        rc = getattr(value, "exitCode", None)
        if sig is not None:
            self.send("header", f"process killed by signal {sig}\n")
            rc = -1
        elif rc is None:
            rc = -1
        if self.killed and rc == 0:
            rc = -1
        self._finish_rc(rc)

    def _finish_rc(self, rc: int) -> None:
        self._stop_watching()
        if self.sendRC:
            self.send("rc", rc)
        elapsed = self.reactor.seconds() - self.started_at
        self.send("header", f"elapsedTime={elapsed:0.6f}\n")
        self.deferred.callback(rc)

    def _stop_watching(self) -> None:
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()
        if self._poller is not None and self._poller.running:
            self._poller.stop()
        self._poller = None
