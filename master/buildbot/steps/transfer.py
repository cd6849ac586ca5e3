"""Steps moving files between the worker and the master: uploads (worker → master,
through a writer object the worker calls) and downloads (master → worker, through a
reader object). Master-side paths are relative to the master's base directory."""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from twisted.internet import defer, threads

from buildbot import config, interfaces
from buildbot.process import buildstep, remotecommand, remotetransfer
from buildbot.process.results import FAILURE, SKIPPED, SUCCESS, worst_status

_COMPRESSIONS = (None, "gz", "bz2")


def _require(step: Any, **values: Any) -> None:
    """A config error for each of the named arguments left as None."""
    for name, value in values.items():
        if value is None:
            config.error(f"{type(step).__name__} requires {name}")


def _check_compress(compress: Any) -> None:
    if compress not in _COMPRESSIONS:
        config.error(f"'compress' must be one of None, 'gz' or 'bz2': {compress!r}")


def _check_mode(mode: Any) -> None:
    if mode is None or isinstance(mode, int) or interfaces.IRenderable.providedBy(mode):
        return
    config.error(f"mode must be an integer or None: {mode!r}")


class _TransferBuildStep(buildstep.BuildStep):
    """Runs transfer commands into one `stdio` log; a failed transfer is FAILURE."""

    haltOnFailure = True
    flunkOnFailure = True

    def __init__(self, workdir: Any = None, **kwargs: Any) -> None:
        if workdir is not None:
            kwargs["workdir"] = workdir
        super().__init__(**kwargs)

    def _master_path(self, path: str) -> str:
        return os.path.join(self.master.basedir, os.path.expanduser(path))

    def _describe(self, text: str) -> None:
        # only the descriptions the user did not set
        if type(self).description is self.description:
            self.description = text
        if type(self).descriptionDone is self.descriptionDone:
            self.descriptionDone = text
        self.updateSummary()

    async def _stdio(self) -> Any:
        if "stdio" not in self.logs:
            await self.addLog("stdio")
        return self.logs["stdio"]

    async def _note(self, text: str) -> None:
        stdio = await self._stdio()
        await stdio.addHeader(text if text.endswith("\n") else text + "\n")

    async def _run_remote(self, command: str, args: dict[str, Any]) -> Any:
        """Run `command`; returns the finished command, or None when it ended with an
        error (logged). A lost worker still raises, so the build retries."""
        self.checkWorkerHasCommand(command)
        cmd = remotecommand.RemoteCommand(command, args)
        cmd.useLog(await self._stdio(), False)
        try:
            await self.runCommand(cmd)
        except Exception as e:
            if isinstance(e, remotecommand.CONNECTION_LOST_ERRORS):
                raise
            await self._note(f"{command} failed: {e}")
            return None
        return cmd

    async def _transfer(self, command: str, args: dict[str, Any], writer: Any = None) -> int:
        """Run one upload/download; a partial upload is dropped unless it succeeded."""
        try:
            cmd = await self._run_remote(command, args)
        finally:
            if writer is not None:
                # queued after the worker's own calls: the upload is complete on disk
                # (or its temporary file removed) once this fires
                await writer.cancel()
        if cmd is None:
            return FAILURE
        return cmd.results()

    def _file_upload_args(
        self, source: str, workdir: Any, writer: Any, keepstamp: bool
    ) -> dict[str, Any]:
        return {
            "workersrc": source,
            "workdir": workdir,
            "writer": writer,
            "maxsize": self.maxsize,
            "blocksize": self.blocksize,
            "keepstamp": keepstamp,
        }

    async def _upload_file(
        self, source: str, masterdest: str, workdir: Any, mode: Any, keepstamp: bool
    ) -> int:
        if keepstamp and self.workerVersionIsOlderThan("uploadFile", "2.13"):
            raise buildstep.WorkerSetupError(
                "the worker is too old to keep timestamps on upload (needs 2.13)"
            )
        await self._note(f"uploading {source} to {masterdest}")
        writer = remotetransfer.FileWriter(
            masterdest, self.maxsize, mode, reactor=self.master.reactor
        )
        args = self._file_upload_args(source, workdir, writer, keepstamp)
        return await self._transfer("uploadFile", args, writer)

    async def _upload_directory(
        self, source: str, masterdest: str, workdir: Any, compress: Any
    ) -> int:
        await self._note(f"uploading directory {source} to {masterdest}")
        writer = remotetransfer.DirectoryWriter(
            masterdest, self.maxsize, compress, None, reactor=self.master.reactor
        )
        args = {
            "workersrc": source,
            "workdir": workdir,
            "writer": writer,
            "maxsize": self.maxsize,
            "blocksize": self.blocksize,
            "compress": compress,
        }
        return await self._transfer("uploadDirectory", args, writer)

    async def _add_url(self, masterdest: str) -> None:
        if self.url is not None:
            text = self.urlText if self.urlText is not None else os.path.basename(masterdest)
            await self.addURL(text, self.url)


class FileUpload(_TransferBuildStep):
    """Copies one file from the worker to `masterdest` on the master."""

    name = "upload"
    renderables = [
        "workersrc",
        "masterdest",
        "url",
        "urlText",
        "maxsize",
        "blocksize",
        "mode",
        "keepstamp",
    ]

    def __init__(
        self,
        workersrc: Any = None,
        masterdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 256 * 1024,
        mode: Any = None,
        keepstamp: Any = False,
        url: Any = None,
        urlText: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workdir=workdir, **kwargs)
        _require(self, workersrc=workersrc, masterdest=masterdest)
        _check_mode(mode)
        self.workersrc = workersrc
        self.masterdest = masterdest
        self.maxsize = maxsize
        self.blocksize = blocksize
        self.mode = mode
        self.keepstamp = keepstamp
        self.url = url
        self.urlText = urlText

    async def run(self) -> int:
        source = self.workersrc
        masterdest = self._master_path(self.masterdest)
        self._describe(f"uploading {os.path.basename(source)}")
        workdir = await self.render(self.workdir)
        await self._add_url(masterdest)
        return await self._upload_file(source, masterdest, workdir, self.mode, self.keepstamp)


class DirectoryUpload(_TransferBuildStep):
    """Copies a worker directory (sent as a tar archive) to `masterdest`."""

    name = "upload"
    renderables = ["workersrc", "masterdest", "url", "urlText", "maxsize", "blocksize"]

    def __init__(
        self,
        workersrc: Any = None,
        masterdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 16 * 1024,
        compress: Any = None,
        url: Any = None,
        urlText: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workdir=workdir, **kwargs)
        _require(self, workersrc=workersrc, masterdest=masterdest)
        _check_compress(compress)
        self.workersrc = workersrc
        self.masterdest = masterdest
        self.maxsize = maxsize
        self.blocksize = blocksize
        self.compress = compress
        self.url = url
        self.urlText = urlText

    async def run(self) -> int:
        source = self.workersrc
        masterdest = self._master_path(self.masterdest)
        name = os.path.basename(source.rstrip("/\\")) or source
        self._describe(f"uploading {name}")
        workdir = await self.render(self.workdir)
        await self._add_url(masterdest)
        return await self._upload_directory(source, masterdest, workdir, self.compress)


class MultipleFileUpload(_TransferBuildStep):
    """Copies several worker files and directories (or glob patterns, with `glob=True`)
    into the master directory `masterdest`, each under its own base name."""

    name = "upload"
    renderables = [
        "workersrcs",
        "masterdest",
        "url",
        "urlText",
        "maxsize",
        "blocksize",
        "mode",
        "keepstamp",
    ]

    def __init__(
        self,
        workersrcs: Any = None,
        masterdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 16 * 1024,
        glob: Any = False,
        mode: Any = None,
        compress: Any = None,
        keepstamp: Any = False,
        url: Any = None,
        urlText: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workdir=workdir, **kwargs)
        _require(self, workersrcs=workersrcs, masterdest=masterdest)
        _check_compress(compress)
        _check_mode(mode)
        self.workersrcs = workersrcs
        self.masterdest = masterdest
        self.maxsize = maxsize
        self.blocksize = blocksize
        self.glob = glob
        self.mode = mode
        self.compress = compress
        self.keepstamp = keepstamp
        self.url = url
        self.urlText = urlText

    def uploadDone(self, result: int, source: str, masterdest: str) -> Any:
        """Hook called after each upload (may return a Deferred)."""

    def allUploadsDone(self, result: int, sources: list[str], masterdest: str) -> Any:
        """Hook called once all uploads are done (may return a Deferred)."""

    def _path_module(self) -> Any:
        return self.build.path_module

    async def _expand(self, patterns: list[str], workdir: Any) -> list[str] | None:
        """The worker's paths matching `patterns` (None if a glob command failed)."""
        found: list[str] = []
        for pattern in patterns:
            path = self._path_module().join(workdir, pattern) if workdir else pattern
            cmd = await self._run_remote("glob", {"path": path, "logEnviron": False})
            if cmd is None or cmd.didFail():
                return None
            matches = (cmd.updates.get("files") or [[]])[-1]
            if not matches:
                await self._note(f"no file matches {pattern}")
            found.extend(matches)
        return found

    async def _stat(self, source: str, workdir: Any) -> Any:
        cmd = await self._run_remote(
            "stat", {"file": source, "workdir": workdir, "logEnviron": False}
        )
        if cmd is None or cmd.didFail():
            return None
        return (cmd.updates.get("stat") or [None])[-1]

    async def _upload_one(self, source: str, masterdest: str, workdir: Any) -> int:
        stats = await self._stat(source, workdir)
        if stats is None:
            await self._note(f"{source} not found on the worker")
            return FAILURE
        target = os.path.join(masterdest, self._path_module().basename(source.rstrip("/\\")))
        if stat.S_ISDIR(stats[stat.ST_MODE]):
            return await self._upload_directory(source, target, workdir, self.compress)
        if stat.S_ISREG(stats[stat.ST_MODE]):
            return await self._upload_file(source, target, workdir, self.mode, self.keepstamp)
        await self._note(f"{source} is neither a file nor a directory")
        return FAILURE

    async def run(self) -> int:
        sources = self.workersrcs
        if isinstance(sources, str):
            sources = [sources]
        sources = list(sources)
        masterdest = self._master_path(self.masterdest)
        workdir = await self.render(self.workdir)
        if self.glob:
            expanded = await self._expand(sources, workdir)
            if expanded is None:
                return FAILURE
            sources = expanded
        count = len(sources)
        self._describe(f"uploading {count} file(s)")
        if not sources:
            return SKIPPED
        result = SUCCESS
        for source in sources:
            if self.stopped:
                break
            one = await self._upload_one(source, masterdest, workdir)
            await defer.maybeDeferred(self.uploadDone, one, source, masterdest)
            result = worst_status(result, one)
        await defer.maybeDeferred(self.allUploadsDone, result, sources, masterdest)
        await self._add_url(masterdest)
        return result


class _DownloadStep(_TransferBuildStep):
    """Sends what `_reader()` serves to `workerdest` on the worker."""

    name = "download"
    renderables = ["workerdest", "maxsize", "blocksize", "mode"]

    def __init__(
        self,
        workerdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 16 * 1024,
        mode: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workdir=workdir, **kwargs)
        _check_mode(mode)
        self.workerdest = workerdest
        self.maxsize = maxsize
        self.blocksize = blocksize
        self.mode = mode

    async def _reader(self) -> Any:
        raise NotImplementedError

    async def run(self) -> int:
        reader = await self._reader()
        if reader is None:
            return FAILURE
        dest = self.workerdest
        self._describe(f"downloading to {os.path.basename(dest)}")
        await self._note(f"downloading to {dest}")
        args = {
            "workerdest": dest,
            "workdir": await self.render(self.workdir),
            "reader": reader,
            "maxsize": self.maxsize,
            "blocksize": self.blocksize,
            "mode": self.mode,
        }
        try:
            return await self._transfer("downloadFile", args)
        finally:
            # the worker normally closes it; make sure the master file is released
            await reader.remote_close()


class FileDownload(_DownloadStep):
    """Copies `mastersrc` (on the master) to `workerdest` (default: its base name)."""

    renderables = ["mastersrc"]

    def __init__(
        self,
        mastersrc: Any = None,
        workerdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 16 * 1024,
        mode: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workerdest, workdir, maxsize, blocksize, mode, **kwargs)
        _require(self, mastersrc=mastersrc)
        self.mastersrc = mastersrc

    async def _reader(self) -> Any:
        source = self._master_path(self.mastersrc)
        if self.workerdest is None:
            self.workerdest = os.path.basename(source)
        reactor = self.master.reactor
        try:
            fp = await threads.deferToThreadPool(
                reactor, reactor.getThreadPool(), open, source, "rb"
            )
        except OSError as e:
            await self._note(f"File '{source}' is not available on the master: {e.strerror}")
            return None
        return remotetransfer.FileReader(fp, reactor=reactor)


class StringDownload(_DownloadStep):
    """Writes the string `s` to `workerdest` on the worker."""

    name = "string_download"
    renderables = ["s"]

    def __init__(
        self,
        s: Any = None,
        workerdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 16 * 1024,
        mode: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workerdest, workdir, maxsize, blocksize, mode, **kwargs)
        _require(self, workerdest=workerdest)
        self.s = s

    def _content(self) -> str | bytes:
        return self.s if isinstance(self.s, str | bytes) else str(self.s)

    async def _reader(self) -> Any:
        return remotetransfer.StringFileReader(self._content(), reactor=self.master.reactor)


class JSONStringDownload(StringDownload):
    """Writes `o` as JSON to `workerdest` on the worker."""

    name = "json_download"
    renderables = ["o"]

    def __init__(
        self,
        o: Any = None,
        workerdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 16 * 1024,
        mode: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(None, workerdest, workdir, maxsize, blocksize, mode, **kwargs)
        self.o = o

    def _content(self) -> str:
        return json.dumps(self.o)


class JSONPropertiesDownload(StringDownload):
    """Writes the build's properties and source stamps as JSON to `workerdest`."""

    name = "json_properties_download"

    def __init__(
        self,
        workerdest: Any = None,
        workdir: Any = None,
        maxsize: Any = None,
        blocksize: Any = 16 * 1024,
        mode: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(None, workerdest, workdir, maxsize, blocksize, mode, **kwargs)

    def _content(self) -> str:
        props = {name: value for name, value, _ in self.build.getProperties().asList()}
        stamps = self.build.getAllSourceStamps()
        return json.dumps({"properties": props, "sourcestamps": [ss.asDict() for ss in stamps]})
