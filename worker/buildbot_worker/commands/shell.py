"""The `shell` command."""

from __future__ import annotations

import os
from typing import Any

from buildbot_worker.commands.base import Command
from buildbot_worker.runprocess import RunProcess, merge_environ


class WorkerShellCommand(Command):
    name = "shell"
    requiredArgs = ("command", "workdir")

    def setup(self, args: dict[str, Any]) -> None:
        self.process: RunProcess | None = None

    def start(self) -> Any:
        args = self.args
        environ = merge_environ(dict(os.environ), args.get("env"))
        self.process = RunProcess(
            self.host.reactor,
            args["command"],
            self.abspath(args["workdir"]),
            self.sendStatus,
            environ=environ,
            want_stdout=bool(args.get("want_stdout", True)),
            want_stderr=bool(args.get("want_stderr", True)),
            timeout=args.get("timeout"),
            maxTime=args.get("maxTime"),
            max_lines=args.get("max_lines"),
            sigtermTime=args.get("sigtermTime"),
            interruptSignal=args.get("interruptSignal"),
            initial_stdin=args.get("initial_stdin"),
            logfiles=args.get("logfiles") or {},
            usePTY=args.get("usePTY") is True,
            logEnviron=args.get("logEnviron", True),
            unicode_encoding=self.host.unicode_encoding,
        )
        return self.process.start()

    def interrupt(self) -> None:
        if self.process is not None:
            self.process.kill("command interrupted")
