"""Helpers of the tests that run real programs (workers, masters) beside the test."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, protocol
from twisted.internet import reactor as global_reactor


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
