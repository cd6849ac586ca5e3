"""`SecretInAFile`: one file per secret in a directory."""

from __future__ import annotations

import os
import stat

from twisted.internet import defer, threads

from buildbot import config
from buildbot.secrets.providers.base import SecretProviderBase


class SecretFilePermissionError(Exception):
    """A secret file that other users may read (or write): refused."""


class SecretInAFile(SecretProviderBase):
    """Secrets as files in `dirname`: the secret `name` is the file `name + suffix`
    for the first of `suffixes` that exists. A file granting any permission to
    "others" is refused when it is read. `strip` removes trailing CR/LF."""

    name = "SecretInAFile"  # type: ignore[assignment]

    def checkConfig(self, dirname, suffixes=None, strip=True):  # type: ignore[override]
        self._check(dirname, suffixes)

    def reconfigService(self, dirname, suffixes=None, strip=True):  # type: ignore[override]
        self._check(dirname, suffixes)
        self.dirname = dirname
        self.suffixes = [""] if suffixes is None else list(suffixes)
        self.strip = strip
        return defer.succeed(None)

    @staticmethod
    def _check(dirname, suffixes) -> None:
        if not isinstance(dirname, str) or not os.path.isdir(dirname):
            config.error(f"SecretInAFile: directory {dirname!r} does not exist")
        if suffixes is not None and (
            isinstance(suffixes, str) or not all(isinstance(s, str) for s in suffixes)
        ):
            config.error(f"SecretInAFile: suffixes must be a list of strings, not {suffixes!r}")

    def get(self, entry: str) -> defer.Deferred[str | None]:
        if not entry or "/" in entry or os.sep in entry or entry in (".", ".."):
            return defer.succeed(None)  # never a path outside the directory
        reactor = self._io_reactor()
        return threads.deferToThreadPool(reactor, reactor.getThreadPool(), self._read, entry)

    def _read(self, entry: str) -> str | None:
        # in a thread: touches only its arguments and the file system
        for suffix in self.suffixes:
            path = os.path.join(self.dirname, entry + suffix)
            try:
                fd = os.open(path, os.O_RDONLY)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                os.close(fd)
                continue
            with os.fdopen(fd, "rb") as f:
                if os.name == "posix" and mode & 0o007:
                    raise SecretFilePermissionError(
                        f"permissions {stat.filemode(mode)} on secret file {path!r} are too "
                        "open: it must not be accessible to others (chmod o-rwx)"
                    )
                value = f.read().decode("utf-8")
            return value.rstrip("\r\n") if self.strip else value
        return None
