"""`SecretInPass`: secrets of a `pass` password store."""

from __future__ import annotations

import os
import shutil

from twisted.internet import defer, utils

from buildbot import config
from buildbot.secrets.providers.base import SecretProviderBase


class SecretInPass(SecretProviderBase):
    """Secrets read with `pass <name>` (the first line of its output), run as a
    child process. `dirname` is the store (PASSWORD_STORE_DIR); `gpgPassphrase`
    unlocks the key without an agent."""

    name = "SecretInPass"  # type: ignore[assignment]

    def checkConfig(self, gpgPassphrase=None, dirname=None):  # type: ignore[override]
        if shutil.which("pass") is None:
            config.error("SecretInPass: the 'pass' program is not installed (not on PATH)")
        if dirname is not None and not os.path.isdir(dirname):
            config.error(f"SecretInPass: directory {dirname!r} does not exist")

    def reconfigService(self, gpgPassphrase=None, dirname=None):  # type: ignore[override]
        self.gpgPassphrase = gpgPassphrase
        self.dirname = dirname
        # looked up once per configuration, not on the reactor at each secret read
        self._program = shutil.which("pass")
        return defer.succeed(None)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.dirname is not None:
            env["PASSWORD_STORE_DIR"] = self.dirname
        if self.gpgPassphrase is not None:
            env["PASSWORD_STORE_GPG_OPTS"] = (
                f"--batch --pinentry-mode loopback --passphrase {self.gpgPassphrase}"
            )
        return env

    def get(self, entry: str) -> defer.Deferred[str | None]:
        return defer.ensureDeferred(self._get(entry))

    async def _get(self, entry: str) -> str | None:
        program = self._program
        if program is None:
            return None
        out, _, code = await utils.getProcessOutputAndValue(
            program, [entry], env=self._env(), reactor=self._io_reactor()
        )
        if code != 0:
            return None
        lines = out.decode("utf-8", "replace").splitlines()
        return lines[0] if lines else ""
