"""Helpers of the tests that run real programs (workers, masters) beside the test."""

from __future__ import annotations

import inspect
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, error, protocol, task
from twisted.internet import reactor as global_reactor
from twisted.trial import unittest


class ChildProcess(protocol.ProcessProtocol):
    """A child process: its output (stdout and stderr) kept in `output`; `ended` fires
    with the reason it ended (ProcessDone, ProcessTerminated)."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.ended: defer.Deferred[Any] = defer.Deferred()
        self.running = True

    def outReceived(self, data: bytes) -> None:
        self.output += data

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:
        self.running = False
        self.ended.callback(reason.value)


class ReactorProxy:
    """The global reactor, but `stop` (which a failed master start asks) is only counted."""

    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(global_reactor, name)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(program_dir: str) -> dict[str, str]:
    """A small environment for a child program, with `program_dir` first on PATH."""
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
    env["PATH"] = program_dir + os.pathsep + os.environ.get("PATH", "")
    return env


async def run_program(
    testcase: unittest.TestCase, argv: list[str], env: dict[str, str], path: str
) -> str:
    """Runs `argv` to its end; the test fails unless it exits 0. Returns its output."""
    child = ChildProcess()
    global_reactor.spawnProcess(child, argv[0], argv, env=env, path=path)
    reason = await child.ended
    out = child.output.decode("utf-8", "replace")
    testcase.assertIsInstance(reason, error.ProcessDone, f"{argv} failed: {reason}\n{out}")
    return out


def start_worker(program: str, basedir: str, env: dict[str, str]) -> tuple[ChildProcess, Any]:
    """Starts `program start --nodaemon basedir`: the child and its process transport."""
    child = ChildProcess()
    argv = [program, "start", "--nodaemon", basedir]
    transport = global_reactor.spawnProcess(child, program, argv, env=env, path=basedir)
    return child, transport


async def kill_worker(child: ChildProcess, transport: Any) -> None:
    """SIGKILLs a child started by `start_worker` (if still running) and waits its end."""
    if not child.running:
        return
    try:
        transport.signalProcess("KILL")
    except error.ProcessExitedAlready:
        return
    await child.ended


async def wait_for(
    testcase: unittest.TestCase,
    what: str,
    check: Callable[[], Any],
    limit: float,
    *,
    child: Any = None,
    details: Callable[[], str] = lambda: "",
) -> Any:
    """Polls `check` (plain or async) every 0.1 s until it gives a true value, returned.
    The test fails after `limit` seconds, or as soon as `child` (if given) has ended."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline or (child is not None and not child.running):
            testcase.fail(f"gave up waiting for {what}\n{details()}")
        await task.deferLater(global_reactor, 0.1, lambda: None)
