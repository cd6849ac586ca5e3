"""Commands run on a worker: started over its connection, their updates streamed into
the step's logs, their end (or the loss of the worker) ending them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, error
from twisted.python import failure, log
from twisted.spread import pb

from buildbot.process.results import CANCELLED, FAILURE, SUCCESS

# one counter for the whole master process, all workers and transports alike
_command_ids = itertools.count(1)


class RemoteConnectionLost(error.ConnectionLost, pb.PBConnectionLost):
    """The worker's connection went away while the command ran.

    Both a `twisted.internet.error.ConnectionLost` and a `pb.PBConnectionLost`, so
    that either check (the build engine maps it to RETRY) recognises it."""


#: the failures that mean "the worker is gone" rather than "the command failed"
CONNECTION_LOST_ERRORS = (error.ConnectionLost, error.ConnectionDone, pb.PBConnectionLost)


def isConnectionLost(f: failure.Failure) -> bool:
    return bool(f.check(*CONNECTION_LOST_ERRORS))


def _text(data: Any) -> str:
    # very old workers send bytes
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


class RemoteCommand(pb.Referenceable):
    """One command on a worker; the worker calls `update` and `complete` on it."""

    def __init__(
        self,
        remote_command: str,
        args: dict[str, Any],
        ignore_updates: bool = False,
        collectStdout: bool = False,
        collectStderr: bool = False,
        decodeRC: dict[int | None, int] | None = None,
        stdioLogName: str | None = "stdio",
    ) -> None:
        self.remote_command = remote_command
        self.args = args
        self.ignore_updates = ignore_updates
        self.collectStdout = collectStdout
        self.collectStderr = collectStderr
        self.decodeRC = {0: SUCCESS} if decodeRC is None else decodeRC
        self.stdioLogName = stdioLogName
        self.logs: dict[str, Any] = {}
        self.delayedLogs: dict[str, tuple[Callable[[Any], Any], bool]] = {}
        self._closeWhenFinished: dict[str, bool] = {}
        self._stdout = ""
        self._stderr = ""
        self.rc: int | None = None
        self.updates: dict[str, list[Any]] = {}
        self.elapsed: float | None = None
        self.commandID: str | None = None
        self.active = False
        self.interrupted = False
        self.step: Any = None
        self.conn: Any = None
        self.builder_name: str | None = None
        self._done: defer.Deferred[Any] | None = None
        self._finishing = False
        # updates are applied in the order they arrive, each after the previous one
        self._queue: defer.Deferred[Any] = defer.succeed(None)
        self._disconnect_sub: Any = None

    def __repr__(self) -> str:
        return f"<RemoteCommand {self.remote_command!r} {self.commandID}>"

    # --- logs ------------------------------------------------------------------------

    def useLog(
        self, log_: Any, closeWhenFinished: bool = False, logfileName: str | None = None
    ) -> None:
        """Send this command's output for `logfileName` (default: the log's name) to
        `log_`, finishing it when the command ends if `closeWhenFinished`."""
        name = logfileName or log_.getName()
        self.logs[name] = log_
        self._closeWhenFinished[name] = closeWhenFinished

    def useLogDelayed(
        self, logfileName: str, activateCallBack: Callable[[Any], Any], closeWhenFinished=False
    ) -> None:
        """Call `activateCallBack(self)` (which calls `useLog`) on the first output."""
        self.delayedLogs[logfileName] = (activateCallBack, closeWhenFinished)

    def _scrub(self, text: str) -> str:
        # the step knows the build's secrets (a command run without a step has none)
        scrub = getattr(self.step, "_scrub", None)
        return scrub(text) if scrub is not None else text

    # The output goes to the logs as it comes: they scrub secrets once it is cut into
    # lines (a secret may come in two pieces). What is collected is scrubbed whole.

    @property
    def stdout(self) -> str:
        return self._scrub(self._stdout)

    @stdout.setter
    def stdout(self, value: str) -> None:
        self._stdout = value

    @property
    def stderr(self) -> str:
        return self._scrub(self._stderr)

    @stderr.setter
    def stderr(self, value: str) -> None:
        self._stderr = value

    def addStdout(self, data: Any) -> defer.Deferred[None]:
        data = _text(data)
        if self.collectStdout:
            self._stdout += data
        return self._to_stdio("addStdout", data)

    def addStderr(self, data: Any) -> defer.Deferred[None]:
        data = _text(data)
        if self.collectStderr:
            self._stderr += data
        return self._to_stdio("addStderr", data)

    def addHeader(self, data: Any) -> defer.Deferred[None]:
        return self._to_stdio("addHeader", _text(data))

    def _to_stdio(self, method: str, data: str) -> defer.Deferred[None]:
        name = self.stdioLogName
        if name is not None and name in self.logs:
            return defer.maybeDeferred(getattr(self.logs[name], method), data)
        return defer.succeed(None)

    async def addToLog(self, logname: str, data: Any) -> None:
        data = _text(data)
        if logname not in self.logs and logname in self.delayedLogs:
            activate, close = self.delayedLogs.pop(logname)
            await defer.maybeDeferred(activate, self)
            if logname in self.logs:
                self._closeWhenFinished[logname] = close
        target = self.logs.get(logname)
        if target is None:
            log.msg(f"{self!r}: output for unknown log {logname!r} dropped")
            return
        await defer.maybeDeferred(target.addStdout, data)

    # --- running -----------------------------------------------------------------------

    def run(self, step: Any, conn: Any, builder_name: str) -> defer.Deferred[RemoteCommand]:
        """Start the command on `conn` for builder `builder_name`; fires with this
        command when it completes, or fails (connection lost, remote error)."""
        return defer.ensureDeferred(self._run(step, conn, builder_name))

    async def _run(self, step: Any, conn: Any, builder_name: str) -> RemoteCommand:
        self.step, self.conn, self.builder_name = step, conn, builder_name
        self.commandID = str(next(_command_ids))
        self.active = True
        done = self._done = defer.Deferred()
        if conn is None or conn.disconnected:
            self._finish(failure.Failure(RemoteConnectionLost("the worker is not connected")))
        else:
            self._disconnect_sub = conn.notifyOnDisconnect(self._lost)
            args = self._adapt_args(dict(self.args), conn)
            d = conn.remoteStartCommand(
                self, builder_name, self.commandID, self.remote_command, args
            )
            d.addErrback(self._start_failed)
        try:
            return await done
        finally:
            self.active = False

    def _start_failed(self, f: failure.Failure) -> None:
        if isConnectionLost(f):
            f = failure.Failure(RemoteConnectionLost(f"while starting the command: {f.value}"))
        self._finish(f)

    def _adapt_args(self, args: dict[str, Any], conn: Any) -> dict[str, Any]:
        """Arguments as older workers expect them (by their command versions)."""
        version = conn.commandVersion(self.remote_command)
        if self.remote_command in ("uploadFile", "uploadDirectory", "downloadFile"):
            if version is not None and _older(version, "3.0"):
                for new, old in (("workersrc", "slavesrc"), ("workerdest", "slavedest")):
                    if new in args:
                        args[old] = args.pop(new)
        return args

    def _lost(self) -> None:
        self._finish(failure.Failure(RemoteConnectionLost("the worker's connection was lost")))

    def interrupt(self, why: Any) -> defer.Deferred[None]:
        """Ask the worker to stop the command; it still completes (results CANCELLED)."""
        if not self.active or self.interrupted or self.conn is None:
            return defer.succeed(None)
        self.interrupted = True
        reason = why.getErrorMessage() if isinstance(why, failure.Failure) else str(why)
        d = self.conn.remoteInterruptCommand(self.builder_name, self.commandID, reason)

        def failed(f: failure.Failure) -> None:
            if isConnectionLost(f):
                return  # _lost ends the command
            log.err(f, f"while interrupting {self!r}")

        return d.addCallbacks(lambda _: None, failed)

    # --- the worker's calls -------------------------------------------------------------

    def remote_update(self, updates: Any) -> int:
        """`updates` is a list of [dict, number] pairs; answers the highest number."""
        highest = 0
        for entry in updates or []:
            update, number = (entry[0], entry[1]) if len(entry) > 1 else (entry[0], 0)
            if isinstance(number, int):
                highest = max(highest, number)
            if self.ignore_updates or self._finishing:
                continue
            for key, value in dict(update).items():
                self._queue.addCallback(lambda _, k=key, v=value: self.remoteUpdate(k, v))
                self._queue.addErrback(log.err, f"while handling an update of {self!r}")
        return highest

    def remote_complete(self, failure_: Any = None) -> None:
        """The worker is done (`failure_` if it failed); answered at once."""
        self._queue.addCallback(lambda _: self._finish(failure_))
        return None

    def remoteUpdate(self, key: str, value: Any) -> Any:
        if key == "stdout":
            return self.addStdout(value)
        if key == "stderr":
            return self.addStderr(value)
        if key == "header":
            return self.addHeader(value)
        if key == "log":
            logname, data = value
            return defer.ensureDeferred(self.addToLog(_text(logname), data))
        self.updates.setdefault(key, []).append(value)
        if key == "rc":
            self.rc = value
            return self.addHeader(f"program finished with exit code {value}\n")
        if key == "elapsed":
            self.elapsed = value
        return None

    # --- the end -------------------------------------------------------------------------

    def _finish(self, why: Any) -> None:
        """End the command once (later calls are ignored): finish the logs that asked
        for it, then fire `run`'s Deferred."""
        if self._finishing or self._done is None:
            return
        self._finishing = True
        if self._disconnect_sub is not None:
            self._disconnect_sub.unsubscribe()
            self._disconnect_sub = None
        d = defer.ensureDeferred(self._close_logs())

        def fire(_: Any) -> None:
            done, self._done = self._done, None
            if done is None:
                return
            if isinstance(why, failure.Failure):
                done.errback(why)
            elif isinstance(why, BaseException):
                done.errback(failure.Failure(why))
            elif why is not None:
                done.errback(failure.Failure(RuntimeError(_text(why))))
            else:
                done.callback(self)

        d.addBoth(fire)

    async def _close_logs(self) -> None:
        # whatever arrived before the end is written first
        await self._queue
        for name, log_ in list(self.logs.items()):
            if not self._closeWhenFinished.get(name):
                continue
            try:
                await defer.maybeDeferred(log_.finish)
            except Exception:
                log.err(None, f"while finishing log {name!r} of {self!r}")

    # --- outcome -----------------------------------------------------------------------

    def results(self) -> int:
        if self.interrupted:
            return CANCELLED
        return self.decodeRC.get(self.rc, FAILURE)

    def didFail(self) -> bool:
        return self.results() == FAILURE


class RemoteShellCommand(RemoteCommand):
    """The `shell` command, with the arguments the worker expects."""

    def __init__(
        self,
        workdir: str,
        command: Any,
        env: dict[str, Any] | None = None,
        want_stdout: int | bool = 1,
        want_stderr: int | bool = 1,
        timeout: float | None = 20 * 60,
        maxTime: float | None = None,
        max_lines: int | None = None,
        sigtermTime: float | None = None,
        logfiles: dict[str, Any] | None = None,
        usePTY: bool | str | None = None,
        logEnviron: bool = True,
        collectStdout: bool = False,
        collectStderr: bool = False,
        interruptSignal: str | None = None,
        initialStdin: str | None = None,
        decodeRC: dict[int | None, int] | None = None,
        stdioLogName: str | None = "stdio",
    ) -> None:
        self.command = command
        self.fake_command = _shown_command(command)
        self.workdir = workdir
        args: dict[str, Any] = {
            "workdir": workdir,
            "env": env,
            "want_stdout": want_stdout,
            "want_stderr": want_stderr,
            "logfiles": logfiles or {},
            "timeout": timeout,
            "maxTime": maxTime,
            "max_lines": max_lines,
            "sigtermTime": sigtermTime,
            "usePTY": usePTY,
            "logEnviron": logEnviron,
            "initial_stdin": initialStdin,
        }
        if interruptSignal is not None:
            args["interruptSignal"] = interruptSignal
        args["command"] = command
        super().__init__(
            "shell",
            args,
            collectStdout=collectStdout,
            collectStderr=collectStderr,
            decodeRC=decodeRC,
            stdioLogName=stdioLogName,
        )

    def _adapt_args(self, args: dict[str, Any], conn: Any) -> dict[str, Any]:
        version = conn.commandVersion("shell")
        old = version is None or _older(version, "3.0")
        if args.get("usePTY") is None:
            args["usePTY"] = "slave-config" if old else False
        if version is not None:
            if _older(version, "2.16"):
                args.pop("sigtermTime", None)
            if _older(version, "2.15"):
                args.pop("interruptSignal", None)
            if _older(version, "2.7"):
                args.pop("usePTY", None)
        return args


def _shown_command(command: Any) -> Any:
    """The command as it may be shown: obfuscated items replaced by their shown form."""
    if isinstance(command, list | tuple):
        return [
            c[2] if isinstance(c, tuple) and len(c) == 3 and c[0] == "obfuscated" else c
            for c in command
        ]
    return command


def _older(version: str, than: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        out = []
        for p in str(v).split("."):
            digits = "".join(ch for ch in p if ch.isdigit())
            out.append(int(digits or 0))
        return tuple(out)

    return parts(version) < parts(than)
