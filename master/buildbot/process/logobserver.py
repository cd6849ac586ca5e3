"""Observers of a step's logs: they see the text as the log receives it.

A step attaches an observer with ``step.addLogObserver(logname, observer)``,
which calls ``observer.setStep(step)`` and, once the log exists,
``observer.setLog(log)``; from then on the log calls ``observer.gotData``
with each group of whole lines, and with ``(None, None)`` when it finishes.
Every callback is synchronous.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from buildbot.util.lineboundaries import LineBoundaryFinder


class LogObserver:
    """Receives a log's text per stream; override the ``*Received`` methods."""

    step: Any = None
    log: Any = None

    def setStep(self, step: Any) -> None:
        self.step = step

    def setLog(self, log: Any) -> None:
        self.log = log
        log.subscribe(self.gotData)

    def gotData(self, stream: str | None, data: str | None) -> None:
        if data is None:
            self.finishReceived()
        elif stream is None or stream == "o":
            self.outReceived(data)
        elif stream == "e":
            self.errReceived(data)
        elif stream == "h":
            self.headerReceived(data)

    def finishReceived(self) -> None:
        pass

    def outReceived(self, data: str) -> None:
        pass

    def errReceived(self, data: str) -> None:
        pass

    def headerReceived(self, data: str) -> None:
        pass


class LogLineObserver(LogObserver):
    """Receives a log's text one line at a time (without its newline).

    Lines longer than the maximum length (`setMaxLineLength`) are dropped.
    """

    max_length = 16384

    def __init__(self) -> None:
        self._finders: dict[str, LineBoundaryFinder] = {}

    def setMaxLineLength(self, max_length: int) -> None:
        self.max_length = max_length

    def _finder(self, stream: str) -> LineBoundaryFinder:
        # subclasses may skip __init__: create the finders on first use
        finders = self.__dict__.setdefault("_finders", {})
        if stream not in finders:
            finders[stream] = LineBoundaryFinder()
        return finders[stream]

    def _deliver(self, lines: str | None, receiver: Callable[[str], Any]) -> None:
        if not lines:
            return
        for line in lines[:-1].split("\n"):
            if len(line) <= self.max_length:
                receiver(line)

    def _receivers(self) -> dict[str, Callable[[str], Any]]:
        return {
            "o": self.outLineReceived,
            "e": self.errLineReceived,
            "h": self.headerLineReceived,
        }

    def gotData(self, stream: str | None, data: str | None) -> None:
        if data is None:
            # the last, unfinished lines first, then the end
            for name, receiver in self._receivers().items():
                self._deliver(self._finder(name).flush(), receiver)
        super().gotData(stream, data)

    def outReceived(self, data: str) -> None:
        self._deliver(self._finder("o").append(data), self.outLineReceived)

    def errReceived(self, data: str) -> None:
        self._deliver(self._finder("e").append(data), self.errLineReceived)

    def headerReceived(self, data: str) -> None:
        self._deliver(self._finder("h").append(data), self.headerLineReceived)

    def outLineReceived(self, line: str) -> None:
        pass

    def errLineReceived(self, line: str) -> None:
        pass

    def headerLineReceived(self, line: str) -> None:
        pass


class LineConsumerLogObserver(LogLineObserver):
    """Feeds ``(stream, line)`` tuples to a generator made by `consumerFunction`.

    The generator is created at the first line (an observer may be made at
    configuration time, long before a log exists) and closed when the log
    finishes. Stream is 'o', 'e' or 'h'.
    """

    def __init__(self, consumerFunction: Callable[[], Generator[Any, Any, Any]]) -> None:
        super().__init__()
        self.consumerFunction = consumerFunction
        self.generator: Generator[Any, Any, Any] | None = None
        self._done = False

    def _feed(self, stream: str, line: str) -> None:
        if self._done:
            return
        try:
            if self.generator is None:
                self.generator = self.consumerFunction()
                next(self.generator)
            self.generator.send((stream, line))
        except StopIteration:
            self._done = True

    def outLineReceived(self, line: str) -> None:
        self._feed("o", line)

    def errLineReceived(self, line: str) -> None:
        self._feed("e", line)

    def headerLineReceived(self, line: str) -> None:
        self._feed("h", line)

    def finishReceived(self) -> None:
        if self.generator is not None:
            self.generator.close()
        self._done = True


class BufferLogObserver(LogObserver):
    """Keeps the text of stdout (and, if asked, stderr) for reading at the end."""

    def __init__(self, wantStdout: bool = True, wantStderr: bool = False) -> None:
        self.stdout: list[str] | None = [] if wantStdout else None
        self.stderr: list[str] | None = [] if wantStderr else None

    def outReceived(self, data: str) -> None:
        if self.stdout is not None:
            self.stdout.append(data)

    def errReceived(self, data: str) -> None:
        if self.stderr is not None:
            self.stderr.append(data)

    def getStdout(self) -> str:
        return "".join(self.stdout or [])

    def getStderr(self) -> str:
        return "".join(self.stderr or [])


class OutputProgressObserver(LogObserver):
    """Reports the amount of output so far as the step's progress metric `name`."""

    length = 0

    def __init__(self, name: str) -> None:
        self.name = name

    def gotData(self, stream: str | None, data: str | None) -> None:
        if data:
            self.length += len(data)
            set_progress = getattr(self.step, "setProgress", None)
            if set_progress is not None:
                set_progress(self.name, self.length)
