"""Steps acting on the worker's file system, and `CompositeStepMixin`, the helpers
custom steps use to run several small worker commands."""

from __future__ import annotations

import stat
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from buildbot.process import buildstep, remotecommand, remotetransfer
from buildbot.process.results import FAILURE, SUCCESS


class WorkerBuildStep(buildstep.BuildStep):
    pass


class _OneCommandStep(WorkerBuildStep):
    """Runs one worker command (`_command`, `_args()`) with a stdio log."""

    _command = ""
    haltOnFailure = True
    flunkOnFailure = True

    def _args(self) -> dict[str, Any]:
        raise NotImplementedError

    async def run(self) -> int:
        self.checkWorkerHasCommand(self._command)
        stdio = await self.addLog("stdio")
        cmd = remotecommand.RemoteCommand(self._command, self._args())
        cmd.useLog(stdio, False)
        await self.runCommand(cmd)
        return self._evaluate(cmd)

    def _evaluate(self, cmd: Any) -> int:
        return FAILURE if cmd.didFail() else SUCCESS


class RemoveDirectory(_OneCommandStep):
    name = "RemoveDirectory"
    description = ["Deleting"]
    descriptionDone = ["Deleted"]
    renderables = ["dir"]
    _command = "rmdir"

    def __init__(self, dir: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dir = dir

    def _args(self) -> dict[str, Any]:
        return {"dir": self.dir, "logEnviron": False}


class MakeDirectory(_OneCommandStep):
    name = "MakeDirectory"
    description = ["Creating"]
    descriptionDone = ["Created"]
    renderables = ["dir"]
    _command = "mkdir"

    def __init__(self, dir: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dir = dir

    def _args(self) -> dict[str, Any]:
        return {"dir": self.dir}


class CopyDirectory(_OneCommandStep):
    name = "CopyDirectory"
    description = ["Copying"]
    descriptionDone = ["Copied"]
    renderables = ["src", "dest"]
    _command = "cpdir"

    def __init__(
        self, src: Any, dest: Any, timeout: float = 120, maxTime: float | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.src = src
        self.dest = dest
        self.timeout = timeout
        self.maxTime = maxTime

    def _args(self) -> dict[str, Any]:
        args: dict[str, Any] = {"fromdir": self.src, "todir": self.dest, "timeout": self.timeout}
        if self.maxTime is not None:
            args["maxTime"] = self.maxTime
        return args


class FileExists(_OneCommandStep):
    """Succeeds if `file` is a regular file on the worker."""

    name = "FileExists"
    description = ["Checking"]
    descriptionDone = ["Checked"]
    renderables = ["file"]
    _command = "stat"

    def __init__(self, file: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file = file

    def _args(self) -> dict[str, Any]:
        return {"file": self.file}

    def _evaluate(self, cmd: Any) -> int:
        if cmd.didFail():
            self.descriptionDone = ["File not found."]
            return FAILURE
        stats = (cmd.updates.get("stat") or [None])[-1]
        if stats is not None and stat.S_ISREG(stats[stat.ST_MODE]):
            self.descriptionDone = ["File found."]
            return SUCCESS
        self.descriptionDone = ["Not a file."]
        return FAILURE


def _did_fail(cmd: Any) -> bool:
    return cmd.didFail()


class CompositeStepMixin:
    """Helpers running small worker commands from a custom step (mix in before
    BuildStep); they log into the log named by `addLogForRemoteCommands`."""

    _remote_log_name: str | None = None

    def addLogForRemoteCommands(self, logname: str) -> None:
        self.__dict__["_remote_log_name"] = logname

    def runRemoteCommand(
        self: Any,
        cmd: str,
        args: dict[str, Any],
        abandonOnFailure: bool = True,
        evaluateCommand: Callable[[Any], bool] = _did_fail,
    ) -> defer.Deferred[Any]:
        return defer.ensureDeferred(
            CompositeStepMixin._run_remote(self, cmd, args, abandonOnFailure, evaluateCommand)
        )

    async def _run_remote(
        self: Any,
        cmd_name: str,
        args: dict[str, Any],
        abandonOnFailure: bool,
        evaluateCommand: Callable[[Any], bool],
    ) -> Any:
        cmd = remotecommand.RemoteCommand(cmd_name, args)
        logname = self.__dict__.get("_remote_log_name")
        if logname is not None:
            target = self.logs.get(logname)
            if target is None:
                target = await self.addLog(logname)
            cmd.useLog(target, False, cmd.stdioLogName)
        await self.runCommand(cmd)
        failed = evaluateCommand(cmd)
        if abandonOnFailure and failed:
            raise buildstep.BuildStepFailed()
        return failed if evaluateCommand is not _did_fail else not failed

    def runRmdir(self: Any, dir: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        args = {"dir": dir, "logEnviron": False}
        if timeout is not None:
            args["timeout"] = timeout
        return CompositeStepMixin.runRemoteCommand(self, "rmdir", args, **kwargs)

    def runRmFile(self: Any, path: str, timeout: float | None = None, **kwargs: Any) -> Any:
        args: dict[str, Any] = {"path": path, "logEnviron": False}
        if timeout is not None:
            args["timeout"] = timeout
        return CompositeStepMixin.runRemoteCommand(self, "rmfile", args, **kwargs)

    def pathExists(self: Any, path: str) -> Any:
        return CompositeStepMixin.runRemoteCommand(
            self, "stat", {"file": path, "logEnviron": False}, abandonOnFailure=False
        )

    def runMkdir(self: Any, _dir: Any, **kwargs: Any) -> Any:
        return CompositeStepMixin.runRemoteCommand(
            self, "mkdir", {"dir": _dir, "logEnviron": False}, **kwargs
        )

    def runGlob(self: Any, path: str, **kwargs: Any) -> Any:
        async def glob() -> list[str]:
            files: list[str] = []

            def keep(cmd: Any) -> bool:
                files.extend((cmd.updates.get("files") or [[]])[-1])
                return cmd.didFail()

            await CompositeStepMixin._run_remote(
                self, "glob", {"path": path, "logEnviron": False}, True, keep
            )
            return files

        return defer.ensureDeferred(glob())

    def getFileContentFromWorker(
        self: Any, filename: str, abandonOnFailure: bool = False
    ) -> defer.Deferred[str | None]:
        async def fetch() -> str | None:
            writer = remotetransfer.StringFileWriter()
            args = {
                "workersrc": filename,
                "workdir": self.workdir,
                "writer": writer,
                "maxsize": None,
                "blocksize": 32 * 1024,
                "keepstamp": False,
            }
            failed = [False]

            def check(cmd: Any) -> bool:
                failed[0] = cmd.didFail()
                return failed[0]

            await CompositeStepMixin._run_remote(self, "uploadFile", args, abandonOnFailure, check)
            if failed[0]:
                return None
            return writer.buffer.decode("utf-8", "replace")

        return defer.ensureDeferred(fetch())

    def downloadFileContentToWorker(
        self: Any,
        workerdest: str,
        strfile: str | bytes,
        abandonOnFailure: bool = False,
        mode: int | None = None,
        workdir: str | None = None,
    ) -> Any:
        reader = remotetransfer.StringFileReader(strfile)
        args = {
            "workerdest": workerdest,
            "maxsize": None,
            "reader": reader,
            "blocksize": 32 * 1024,
            "workdir": workdir if workdir is not None else self.workdir,
            "mode": mode,
        }
        return CompositeStepMixin.runRemoteCommand(
            self, "downloadFile", args, abandonOnFailure=abandonOnFailure
        )

    def workerPathToMasterPath(self: Any, path: str) -> str:
        path_module = self.build.path_module
        return path_module.join(*path_module.split(path)) if path else path
