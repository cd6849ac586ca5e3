"""File-system commands: mkdir, rmdir, cpdir, stat, glob, listdir, rmfile, move."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from typing import Any

from buildbot_worker.commands.base import Command
from buildbot_worker.runprocess import RunProcess


class _FsCommand(Command):
    def fail(self, cmd: str, err: OSError, path: str) -> None:
        # no trailing newline: the text goes out at the final flush, after rc
        self.sendStatus("header", f"{cmd}: {err.strerror}: {path}")
        self.sendStatus("rc", err.errno or 1)


class MakeDirectory(_FsCommand):
    name = "mkdir"
    requiredArgs = ("dir",)

    def start(self) -> None:
        dirs = self.args["dir"]
        for d in [dirs] if isinstance(dirs, str) else dirs:
            path = self.abspath(d)
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as e:
                self.fail("mkdir", e, path)
                return
        self.sendStatus("rc", 0)


class StatFile(_FsCommand):
    name = "stat"

    def start(self) -> None:
        path = self.abspath(self.args.get("workdir"), self.args["file"])
        try:
            st = os.stat(path)
        except OSError as e:
            self.fail("stat", e, path)
            return
        self.sendStatus("stat", tuple(int(v) for v in st[:10]))
        self.sendStatus("rc", 0)


class GlobPath(_FsCommand):
    name = "glob"
    requiredArgs = ("path",)

    def start(self) -> None:
        pattern = self.abspath(self.args["path"])
        try:
            files = glob.glob(pattern, recursive=True)
        except OSError as e:
            self.fail("glob", e, pattern)
            return
        self.sendStatus("files", files)
        self.sendStatus("rc", 0)


class ListDir(_FsCommand):
    name = "listdir"

    def start(self) -> None:
        path = self.abspath(self.args["dir"])
        try:
            files = os.listdir(path)
        except OSError as e:
            self.fail("listdir", e, path)
            return
        self.sendStatus("files", files)
        self.sendStatus("rc", 0)


class RemoveFile(_FsCommand):
    name = "rmfile"
    requiredArgs = ("path",)

    def start(self) -> None:
        path = self.abspath(self.args["path"])
        try:
            os.remove(path)
        except OSError as e:
            self.fail("rmfile", e, path)
            return
        self.sendStatus("rc", 0)


class MoveFile(_FsCommand):
    """Rename a file or directory (within the builder directory, or absolute paths).

    Not a command of Buildbot 4.3's worker, so its masters never send it; ours may."""

    name = "move"
    requiredArgs = ("from_path", "to_path")

    def start(self) -> None:
        src, dest = self.abspath(self.args["from_path"]), self.abspath(self.args["to_path"])
        try:
            shutil.move(src, dest)
        except OSError as e:
            self.fail("move", e, src)
            return
        self.sendStatus("rc", 0)


class _ProcessCommand(Command):
    """A command made of child processes run in the worker base directory."""

    def setup(self, args: dict[str, Any]) -> None:
        self.process: RunProcess | None = None

    def run(self, argv: list[str], sendRC: bool = False) -> Any:
        self.process = RunProcess(
            self.host.reactor,
            argv,
            self.host.worker_basedir,
            self.sendStatus,
            timeout=self.args.get("timeout", 120),
            maxTime=self.args.get("maxTime"),
            logEnviron=self.args.get("logEnviron", True),
            sendRC=sendRC,
            unicode_encoding=self.host.unicode_encoding,
        )
        return self.process.start()

    def interrupt(self) -> None:
        if self.process is not None:
            self.process.kill("command interrupted")


class RemoveDirectory(_ProcessCommand):
    name = "rmdir"
    requiredArgs = ("dir",)

    async def start(self) -> None:
        dirs = self.args["dir"]
        rc = 0
        for d in [dirs] if isinstance(dirs, str) else dirs:
            path = self.abspath(d)
            if sys.platform == "win32":  # pragma: no cover
                rc = self._remove_in_process(path) or rc
                continue
            code = await self.run(["rm", "-rf", path])
            if code != 0 and not self.interrupted:
                await self.run(["chmod", "-Rf", "u+rwx", path])
                code = await self.run(["rm", "-rf", path])
            if code != 0:
                rc = code
            if self.interrupted:
                break
        self.sendStatus("rc", rc)

    def _remove_in_process(self, path: str) -> int:  # pragma: no cover
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            return 0
        except OSError as e:
            self.sendStatus("header", f"exception from rmdirRecursive\n{e}\n")
            return -1
        return 0


class CopyDirectory(_ProcessCommand):
    name = "cpdir"
    requiredArgs = ("fromdir", "todir")

    async def start(self) -> None:
        src, dest = self.abspath(self.args["fromdir"]), self.abspath(self.args["todir"])
        if sys.platform == "win32":  # pragma: no cover
            try:
                shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
                self.sendStatus("rc", 0)
            except OSError as e:
                self.sendStatus("header", f"exception from copytree\n{e}\n")
                self.sendStatus("rc", -1)
            return
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        argv = ["cp", "-R", "-P", "-p"] + ([] if sys.platform.startswith("sunos") else ["-v"])
        rc = await self.run([*argv, src, dest])
        self.sendStatus("rc", rc)
