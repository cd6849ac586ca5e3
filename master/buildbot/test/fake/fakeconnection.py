"""A worker connection that answers remote commands from a script.

    conn = FakeConnection()
    conn.expect("shell", {"command": ["make"]}, updates=[{"stdout": "ok\\n"}], rc=0)
    ...  # run a step on conn
    conn.assert_all_used()

Each started command must match the next expectation: the same command name,
and every argument the expectation names with an equal value (other arguments
are not checked). The expectation's updates are then delivered, its `rc` sent,
and the command completed (with `failure` if given). With `hang=True` the
command runs until it is interrupted (it then completes with `interrupted_rc`);
with `lose=True` the connection is lost instead of completing; `action(args)` is
called first (to write to an upload's `writer`, say).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer

from buildbot.worker.protocols.base import Connection

DEFAULT_COMMANDS = {
    name: "3.3"
    for name in (
        "shell",
        "stat",
        "glob",
        "listdir",
        "mkdir",
        "rmdir",
        "cpdir",
        "rmfile",
        "uploadFile",
        "uploadDirectory",
        "downloadFile",
    )
}


@dataclass
class Expect:
    command: str
    args: dict[str, Any] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    rc: int | None = 0
    failure: Any = None
    hang: bool = False
    lose: bool = False
    interrupted_rc: int = -1
    #: called with the command's arguments before the updates (to drive a writer...)
    action: Any = None


class FakeConnection(Connection):
    def __init__(self, name: str = "w1", worker_commands: dict[str, str] | None = None) -> None:
        super().__init__(name)
        commands = DEFAULT_COMMANDS if worker_commands is None else worker_commands
        self.info = {"worker_commands": dict(commands)}
        self.expected: deque[Expect] = deque()
        #: (command name, args) of each started command
        self.started: list[tuple[str, dict[str, Any]]] = []
        #: (commandId, why) of each interrupt
        self.interrupts: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self._hanging: dict[str, tuple[Any, Expect]] = {}

    def expect(self, command: str, args: dict[str, Any] | None = None, **kw: Any) -> Expect:
        exp = Expect(command, dict(args or {}), **kw)
        self.expected.append(exp)
        return exp

    def assert_all_used(self) -> None:
        problems = list(self.errors)
        if self.expected:
            problems.append(f"expected commands not run: {list(self.expected)!r}")
        if problems:
            raise AssertionError("\n".join(problems))

    def remoteStartCommand(
        self,
        remoteCommand: Any,
        builderName: str,
        commandId: str,
        commandName: str,
        args: dict[str, Any],
    ) -> defer.Deferred[Any]:
        self.started.append((commandName, args))
        if not self.expected:
            self.errors.append(f"unexpected command {commandName!r} {args!r}")
            return defer.fail(RuntimeError(f"unexpected command {commandName}"))
        exp = self.expected.popleft()
        wrong = [
            f"{k}={args.get(k, '<missing>')!r} (expected {v!r})"
            for k, v in exp.args.items()
            if args.get(k, "<missing>") != v
        ]
        if exp.command != commandName or wrong:
            msg = f"command {commandName!r} does not match {exp.command!r}: {wrong}"
            self.errors.append(msg)
            return defer.fail(RuntimeError(msg))
        if exp.action is not None:
            exp.action(args)
        self._deliver(remoteCommand, exp.updates)
        if exp.lose:
            self.notifyDisconnected()
        elif exp.hang:
            self._hanging[commandId] = (remoteCommand, exp)
        else:
            self._complete(remoteCommand, exp.rc, exp.failure)
        return defer.succeed(None)

    def _deliver(self, remoteCommand: Any, updates: list[dict[str, Any]]) -> None:
        if updates:
            remoteCommand.remote_update([[u, i] for i, u in enumerate(updates)])

    def _complete(self, remoteCommand: Any, rc: int | None, failure: Any) -> None:
        if rc is not None:
            remoteCommand.remote_update([[{"rc": rc}, 0]])
        remoteCommand.remote_complete(failure)

    def remoteInterruptCommand(
        self, builderName: str, commandId: str, why: str
    ) -> defer.Deferred[Any]:
        self.interrupts.append((commandId, why))
        hanging = self._hanging.pop(commandId, None)
        if hanging is not None:
            remoteCommand, exp = hanging
            self._complete(remoteCommand, exp.interrupted_rc, None)
        return defer.succeed(None)

    def loseConnection(self) -> None:
        self.notifyDisconnected()
