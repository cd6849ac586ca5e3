"""The worker interop checks, run on a LocalWorker (our worker, in the master process,
over the null protocol) instead of a worker program logged in over PB."""

from __future__ import annotations

import os
from typing import Any

from twisted.trial import unittest

from buildbot.test.integration import test_worker_interop as interop
from buildbot.test.unit.worker.test_local import LocalWorkerMasterMixin


class _InProcess:
    """Stands for the worker child process the interop checks look at."""

    running = True
    output = b""


class TestLocalWorkerInterop(interop.WorkerInteropMixin, LocalWorkerMasterMixin, unittest.TestCase):
    # the checks come from the interop suite, the master and its worker from test_local
    async def setUp(self) -> None:
        await LocalWorkerMasterMixin.setUp(self)
        self.child: Any = _InProcess()
        self.basedir = self.worker.basedir
        self.builddir = os.path.join(self.basedir, interop.BUILDDIR)
        self.tmpdir = os.path.abspath(self.mktemp())
        os.makedirs(self.tmpdir)

    def test_sigkill_during_shell_command(self) -> None:
        raise unittest.SkipTest("no worker process to kill: see test_local")

    def test_wrong_password_is_refused(self) -> None:
        raise unittest.SkipTest("a LocalWorker has no password")
