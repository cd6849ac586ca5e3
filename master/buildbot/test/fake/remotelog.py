"""A log kept in memory, with the calls RemoteCommand makes on a step's log."""

from __future__ import annotations

from twisted.internet import defer


class InMemoryLog:
    """Records what is written per stream: `stdout`, `stderr`, `header`, and the
    `chunks` in order as (stream letter, text); `finished` once finished."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.chunks: list[tuple[str, str]] = []
        self.finished = False

    def getName(self) -> str:
        return self.name

    def _add(self, stream: str, text: str) -> defer.Deferred[None]:
        if self.finished:
            raise RuntimeError(f"log {self.name!r} written after finish")
        self.chunks.append((stream, text))
        return defer.succeed(None)

    def addStdout(self, text: str) -> defer.Deferred[None]:
        return self._add("o", text)

    def addStderr(self, text: str) -> defer.Deferred[None]:
        return self._add("e", text)

    def addHeader(self, text: str) -> defer.Deferred[None]:
        return self._add("h", text)

    def finish(self) -> defer.Deferred[None]:
        if self.finished:
            raise RuntimeError(f"log {self.name!r} finished twice")
        self.finished = True
        return defer.succeed(None)

    def text(self, stream: str) -> str:
        return "".join(t for s, t in self.chunks if s == stream)

    @property
    def stdout(self) -> str:
        return self.text("o")

    @property
    def stderr(self) -> str:
        return self.text("e")

    @property
    def header(self) -> str:
        return self.text("h")
