"""The master's ends of file transfers: objects the worker calls to write an upload
or read a download. All file I/O runs in the reactor's thread pool, one operation
after the other per object, so a large file never blocks the reactor."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, threads
from twisted.spread import pb


class _SerialIO:
    """Runs blocking functions in the thread pool, strictly in call order."""

    def __init__(self, reactor: Any = None) -> None:
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self._last: defer.Deferred[Any] = defer.succeed(None)

    def run(self, fn: Callable[..., Any], *args: Any) -> defer.Deferred[Any]:
        result: defer.Deferred[Any] = defer.Deferred()

        def start(_: Any) -> defer.Deferred[Any]:
            d = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), fn, *args)
            d.chainDeferred(result)
            # the next operation waits for this one, whatever its outcome
            return d.addErrback(lambda _: None)

        self._last.addCallback(start)
        return result


class FileWriter(pb.Referenceable):
    """Writes an upload to a temporary file beside `destfile`, renamed into place
    on `close`; bytes beyond `maxsize` are dropped; `mode` is applied on close."""

    def __init__(
        self, destfile: str, maxsize: int | None, mode: int | None, reactor: Any = None
    ) -> None:
        self.destfile = os.path.abspath(destfile)
        self.maxsize = maxsize
        self.mode = mode
        self.remaining = maxsize
        self._io = _SerialIO(reactor)
        self.fp: Any = None
        self.tmpname: str | None = None
        self.open_error: Any = None
        self._io.run(self._thd_open).addErrback(self._open_failed)

    def _open_failed(self, f: Any) -> None:
        # reported to the worker by the next write or close
        self.open_error = f.value

    def _thd_open(self) -> None:
        folder = os.path.dirname(self.destfile)
        os.makedirs(folder, exist_ok=True)
        fd, self.tmpname = tempfile.mkstemp(dir=folder, prefix=".tmp-upload-")
        self.fp = os.fdopen(fd, "wb")

    def remote_write(self, data: bytes) -> defer.Deferred[None]:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if self.remaining is not None:
            data = data[: max(self.remaining, 0)]
            self.remaining -= len(data)
        if not data:
            return self._io.run(lambda: None)
        return self._io.run(self._thd_write, data)

    def _thd_write(self, data: bytes) -> None:
        if self.open_error is not None:
            raise self.open_error
        if self.fp is None:
            raise RuntimeError(f"upload to {self.destfile} is already closed")
        self.fp.write(data)

    def remote_utime(self, accessed_modified: Any) -> defer.Deferred[None]:
        atime, mtime = accessed_modified
        return self._io.run(os.utime, self.destfile, (atime, mtime))

    def remote_close(self) -> defer.Deferred[None]:
        return self._io.run(self._thd_close)

    def _thd_close(self) -> None:
        if self.open_error is not None:
            raise self.open_error
        if self.fp is None:
            return
        self.fp.close()
        self.fp = None
        assert self.tmpname is not None
        os.replace(self.tmpname, self.destfile)
        self.tmpname = None
        if self.mode is not None:
            os.chmod(self.destfile, self.mode)

    def cancel(self) -> defer.Deferred[None]:
        """The transfer failed: drop the temporary file, leave the destination alone."""
        return self._io.run(self._thd_cancel)

    def _thd_cancel(self) -> None:
        if self.fp is not None:
            self.fp.close()
            self.fp = None
        if self.tmpname is not None and os.path.exists(self.tmpname):
            os.unlink(self.tmpname)
        self.tmpname = None


class DirectoryWriter(FileWriter):
    """Receives a tar archive of a directory and unpacks it into `destroot`."""

    def __init__(
        self,
        destroot: str,
        maxsize: int | None,
        compress: str | None,
        mode: int | None,
        reactor: Any = None,
    ) -> None:
        self.destroot = os.path.abspath(destroot)
        self.compress = compress
        # the archive goes to a temporary file (_thd_open), unpacked into destroot
        super().__init__(self.destroot, maxsize, mode, reactor=reactor)

    def _thd_open(self) -> None:
        os.makedirs(os.path.dirname(self.destroot) or ".", exist_ok=True)
        fd, self.tmpname = tempfile.mkstemp(prefix=".tmp-upload-dir-")
        self.fp = os.fdopen(fd, "wb")

    def remote_unpack(self) -> defer.Deferred[None]:
        return self._io.run(self._thd_unpack)

    def _thd_unpack(self) -> None:
        if self.fp is not None:
            self.fp.close()
            self.fp = None
        archive, self.tmpname = self.tmpname, None
        if archive is None:
            return
        try:
            mode = {"gz": "r:gz", "bz2": "r:bz2"}.get(self.compress or "", "r")
            os.makedirs(self.destroot, exist_ok=True)
            with tarfile.open(archive, mode) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(self.destroot, filter="data")
                else:  # pragma: no cover - Pythons without extraction filters
                    tar.extractall(self.destroot)
            if self.mode is not None:
                os.chmod(self.destroot, self.mode)
        finally:
            os.unlink(archive)

    def _thd_close(self) -> None:
        # the worker does not call close for directories; nothing to rename
        if self.fp is not None:
            self.fp.close()
            self.fp = None


class FileReader(pb.Referenceable):
    """Serves a download from an open binary file object (closed at the end)."""

    def __init__(self, fp: Any, reactor: Any = None) -> None:
        self.fp = fp
        self._io = _SerialIO(reactor)

    def remote_read(self, maxlength: int) -> defer.Deferred[bytes]:
        return self._io.run(self._thd_read, maxlength)

    def _thd_read(self, maxlength: int) -> bytes:
        if self.fp is None:
            return b""
        data = self.fp.read(maxlength)
        return data.encode("utf-8") if isinstance(data, str) else data

    def remote_close(self) -> defer.Deferred[None]:
        return self._io.run(self._thd_close)

    def _thd_close(self) -> None:
        if self.fp is not None:
            self.fp.close()
            self.fp = None


class StringFileWriter(pb.Referenceable):
    """Collects an upload in memory (`buffer`), for small files only."""

    def __init__(self) -> None:
        self.buffer = b""

    def remote_write(self, data: bytes) -> None:
        self.buffer += data.encode("utf-8") if isinstance(data, str) else data

    def remote_utime(self, accessed_modified: Any) -> None:
        pass

    def remote_close(self) -> None:
        pass


class StringFileReader(FileReader):
    """Serves `s` (str or bytes) as a download."""

    def __init__(self, s: str | bytes, reactor: Any = None) -> None:
        data = s.encode("utf-8") if isinstance(s, str) else s
        super().__init__(io.BytesIO(data), reactor=reactor)
