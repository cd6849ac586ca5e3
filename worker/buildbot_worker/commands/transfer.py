"""File transfer commands: uploadFile, uploadDirectory, downloadFile."""

from __future__ import annotations

import os
import tarfile
import tempfile
from typing import Any

from twisted.internet import threads

from buildbot_worker.commands.base import Command


class _TransferCommand(Command):
    def setup(self, args: dict[str, Any]) -> None:
        self.maxsize: int | None = args.get("maxsize")
        self.blocksize: int = args.get("blocksize") or 16 * 1024
        self.rc = 0
        self.stderr: str | None = None

    def interrupt(self) -> None:
        self.stderr = "Upload/download interrupted by the master"
        self.rc = 1

    def finish_status(self) -> None:
        if self.stderr:
            self.sendStatus("stderr", self.stderr)
        self.sendStatus("rc", self.rc)


class WorkerFileUploadCommand(_TransferCommand):
    name = "uploadFile"
    requiredArgs = ("workdir", "writer", "blocksize")

    def setup(self, args: dict[str, Any]) -> None:
        super().setup(args)
        src = args.get("workersrc", args.get("slavesrc"))
        if src is None:
            raise ValueError("uploadFile: missing required argument 'workersrc'")
        self.path = self.abspath(args["workdir"], src)
        self.keepstamp = bool(args.get("keepstamp"))
        self.writer = args["writer"]

    async def start(self) -> None:
        try:
            stamp = None
            if self.keepstamp:
                st = os.stat(self.path)
                stamp = (float(st.st_atime), float(st.st_mtime))
            f = open(self.path, "rb")
        except OSError:
            self.rc, self.stderr = 1, f"Cannot open file '{self.path}' for upload"
            await self.writer.callRemote("close")
            self.finish_status()
            return
        self.sendStatus("header", f"sending {self.path}\n")
        try:
            await _send_file(self, f, self.writer)
        finally:
            f.close()
        await self.writer.callRemote("close")
        if stamp is not None and not self.interrupted:
            await self.writer.callRemote("utime", stamp)
        self.finish_status()


async def _send_file(cmd: _TransferCommand, f: Any, writer: Any) -> None:
    sent = 0
    while not cmd.interrupted:
        length = cmd.blocksize
        if cmd.maxsize is not None:
            if sent >= cmd.maxsize:
                cmd.rc = 1
                cmd.stderr = f"Maximum filesize reached, truncating file '{cmd.path}'"
                return
            length = min(length, cmd.maxsize - sent)
        data = f.read(length)
        if not data:
            return
        await writer.callRemote("write", data)
        sent += len(data)


class WorkerDirectoryUploadCommand(_TransferCommand):
    name = "uploadDirectory"
    requiredArgs = ("workdir", "writer", "blocksize")

    def setup(self, args: dict[str, Any]) -> None:
        super().setup(args)
        src = args.get("workersrc", args.get("slavesrc"))
        if src is None:
            raise ValueError("uploadDirectory: missing required argument 'workersrc'")
        self.path = self.abspath(args["workdir"], src)
        self.compress: str | None = args.get("compress")
        self.writer = args["writer"]

    async def start(self) -> None:
        try:
            archive = await threads.deferToThread(_make_tar, self.path, self.compress)
        except OSError as e:
            self.rc = 1
            self.stderr = f"Cannot read directory '{self.path}' for upload: {e}"
            self.finish_status()
            return
        self.sendStatus("header", f"sending {self.path}\n")
        try:
            await _send_file(self, archive, self.writer)
        finally:
            archive.close()
        if not self.interrupted:
            await self.writer.callRemote("unpack")
        self.finish_status()


def _make_tar(path: str, compress: str | None) -> Any:
    if not os.path.isdir(path):
        os.listdir(path)  # raises the OS error that explains why
        raise NotADirectoryError(20, "Not a directory", path)
    mode = {"gz": "w:gz", "bz2": "w:bz2"}.get(compress or "", "w")
    archive = tempfile.TemporaryFile()
    try:
        with tarfile.open(fileobj=archive, mode=mode) as tar:
            tar.add(path, "")
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    return archive


class WorkerFileDownloadCommand(_TransferCommand):
    name = "downloadFile"
    requiredArgs = ("workdir", "reader", "blocksize")

    def setup(self, args: dict[str, Any]) -> None:
        super().setup(args)
        dest = args.get("workerdest", args.get("slavedest"))
        if dest is None:
            raise ValueError("downloadFile: missing required argument 'workerdest'")
        self.path = self.abspath(args["workdir"], dest)
        self.mode: int | None = args.get("mode")
        self.reader = args["reader"]

    async def start(self) -> None:
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            f = open(self.path, "wb")
            if self.mode is not None:
                os.chmod(self.path, self.mode)
        except OSError:
            self.rc, self.stderr = 1, f"Cannot open file '{self.path}' for download"
            await self.reader.callRemote("close")
            self.finish_status()
            return
        received = 0
        try:
            while not self.interrupted:
                length = self.blocksize
                if self.maxsize is not None:
                    if received >= self.maxsize:
                        self.rc = 1
                        self.stderr = f"Maximum filesize reached, truncating file '{self.path}'"
                        break
                    length = min(length, self.maxsize - received)
                data = await self.reader.callRemote("read", length)
                if not data:
                    break
                f.write(data)
                received += len(data)
        finally:
            f.close()
        await self.reader.callRemote("close")
        self.finish_status()
