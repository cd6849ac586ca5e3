"""What RemoteCommand sends to workers of older command versions."""

from __future__ import annotations

from twisted.trial import unittest

from buildbot.process.remotecommand import RemoteCommand, RemoteShellCommand


class _Conn:
    def __init__(self, version: str | None) -> None:
        self.version = version

    def commandVersion(self, command: str) -> str | None:
        return self.version


class TestOldWorkerArguments(unittest.TestCase):
    def transfer_args(self, version):
        cmd = RemoteCommand("uploadFile", {})
        args = {"workersrc": "a.txt", "workerdest": "b", "blocksize": 16384}
        return cmd._adapt_args(dict(args), _Conn(version))

    def test_transfer_names_before_3_0(self):
        self.assertEqual(
            self.transfer_args("2.16"), {"slavesrc": "a.txt", "slavedest": "b", "blocksize": 16384}
        )

    def test_transfer_names_kept_from_3_0_and_for_unknown_versions(self):
        for version in ("3.0", "3.3", None):
            args = self.transfer_args(version)
            self.assertEqual((args["workersrc"], args["workerdest"]), ("a.txt", "b"))
            self.assertNotIn("slavesrc", args)

    def shell_args(self, version):
        cmd = RemoteShellCommand("build", "make", sigtermTime=5, interruptSignal="INT", usePTY=True)
        return cmd._adapt_args(dict(cmd.args), _Conn(version))

    def test_shell_arguments_an_old_worker_does_not_know_are_left_out(self):
        self.assertEqual(
            {k: k in self.shell_args("3.3") for k in ("sigtermTime", "interruptSignal", "usePTY")},
            {"sigtermTime": True, "interruptSignal": True, "usePTY": True},
        )
        args = self.shell_args("2.15")
        self.assertNotIn("sigtermTime", args)
        self.assertEqual(args["interruptSignal"], "INT")
        args = self.shell_args("2.14")
        self.assertNotIn("interruptSignal", args)
        self.assertIn("usePTY", args)
        self.assertNotIn("usePTY", self.shell_args("2.6"))

    def test_shell_usePTY_default_by_worker_age(self):
        cmd = RemoteShellCommand("build", "make")
        self.assertEqual(cmd._adapt_args(dict(cmd.args), _Conn("2.16"))["usePTY"], "slave-config")
        self.assertIs(cmd._adapt_args(dict(cmd.args), _Conn("3.3"))["usePTY"], False)
