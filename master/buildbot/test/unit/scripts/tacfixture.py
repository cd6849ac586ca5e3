"""A stand-in master for the start/stop/reconfig tests: a real twistd process running a
tiny buildbot.tac that writes the lines the real BuildMaster writes.

Its behaviour is steered by files in the basedir: `start_mode` ("ok", "fail" or
"silent") and `reconfig_mode` ("ok" or "fail").
"""

import io
import os
import signal
import sys
import time
from unittest import mock

from buildbot.scripts import pidfile, runner

FAKE_TAC = """\
import os
import signal

from twisted.application import service
from twisted.internet import reactor
from twisted.python import log

basedir = os.path.abspath(os.path.dirname(__file__))


def mode(name):
    with open(os.path.join(basedir, name)) as f:
        return f.read().strip()


class FakeMaster(service.Service):
    def startService(self):
        super().startService()
        reactor.callLater(0.2, self.start)

    def start(self):
        m = mode("start_mode")
        log.msg("Starting BuildMaster (fake)")
        if m == "ok":
            signal.signal(signal.SIGHUP, lambda *a: reactor.callFromThread(self.reconfig))
            signal.signal(signal.SIGUSR1, lambda *a: reactor.callFromThread(self.clean_stop))
            log.msg("BuildMaster is running")
        elif m == "fail":
            log.msg("Configuration Errors:\\n  no workers are configured")
            log.msg("BuildMaster startup failed")
            reactor.stop()

    def reconfig(self):
        log.msg("configuration update started")
        if mode("reconfig_mode") == "ok":
            log.msg("configuration update complete")
        else:
            log.msg("Configuration Errors:\\n  bad builder\\n  bad worker")
            log.msg("configuration update failed")
            log.msg("reconfig aborted without making any changes")

    def clean_stop(self):
        log.msg("stopping cleanly")
        reactor.callLater(0.2, reactor.stop)


application = service.Application("buildmaster")
FakeMaster().setServiceParent(application)
"""


class FakeMasterMixin:
    """For trial TestCases: a basedir with the fake tac, and the `buildbot` command."""

    def setUpFakeMaster(self, start_mode="ok", reconfig_mode="ok"):
        self.basedir = os.path.abspath(self.mktemp())
        os.makedirs(self.basedir)
        self.write("buildbot.tac", FAKE_TAC)
        self.write("start_mode", start_mode)
        self.write("reconfig_mode", reconfig_mode)
        self.addCleanup(self.kill_leftover)

    def write(self, name, text):
        with open(os.path.join(self.basedir, name), "w") as f:
            f.write(text)

    def run_cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
            rc = runner.run([*argv, self.basedir])
        return rc, out.getvalue(), err.getvalue()

    def pid(self):
        return pidfile.read_pid(self.basedir)

    def wait_gone(self, pid, timeout=10):
        deadline = time.monotonic() + timeout
        while pidfile.is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        return not pidfile.is_alive(pid)

    def kill_leftover(self):
        pid = self.pid()
        if pid is not None and pidfile.is_alive(pid):
            os.kill(pid, signal.SIGKILL)
            self.wait_gone(pid, 5)
