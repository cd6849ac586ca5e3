"""Following a master's twistd.log until it says how a start or a reconfig went.

The watchers only classify lines, so they are tested without files or processes;
`follow` does the reading, with its clock and sleep passed in.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import NamedTuple

# The lines the master writes to twistd.log (buildbot.master imports them from here).
RUNNING = "BuildMaster is running"
STARTUP_FAILED = "BuildMaster startup failed"
RECONFIG_STARTED = "configuration update started"
RECONFIG_COMPLETE = "configuration update complete"
RECONFIG_FAILED = "configuration update failed"

SUCCESS = "success"
FAILURE = "failure"
TIMEOUT = "timeout"
EXITED = "exited"

# how many lines of context a failure keeps
MAX_LINES = 100

# "2024-05-01 12:00:00+0000 [-] text": twisted's classic log format
_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\S*\s+\[[^\]]*\]\s?")


class Outcome(NamedTuple):
    status: str
    # the messages that explain it (log prefixes removed)
    lines: list[str]


def message_of(line: str) -> str:
    """The text of a log line, without its timestamp and system (or continuation tab)."""
    line = line.rstrip("\r\n")
    if line.startswith("\t"):
        return line[1:]
    return _PREFIX.sub("", line, count=1)


class StartWatcher:
    """Recognizes the outcome of a master's start; a failure keeps the lines before it."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def feed(self, line: str) -> Outcome | None:
        text = message_of(line)
        if RUNNING in text:
            return Outcome(SUCCESS, [])
        if STARTUP_FAILED in text:
            return Outcome(FAILURE, list(self.lines))
        self.lines.append(text)
        del self.lines[:-MAX_LINES]
        return None


class ReconfigWatcher:
    """Recognizes the outcome of a reconfig; a failure keeps the lines logged since it began."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def feed(self, line: str) -> Outcome | None:
        text = message_of(line)
        if RECONFIG_STARTED in text:
            self.lines = []
            return None
        if RECONFIG_COMPLETE in text:
            return Outcome(SUCCESS, [])
        if RECONFIG_FAILED in text:
            return Outcome(FAILURE, list(self.lines))
        self.lines.append(text)
        del self.lines[:-MAX_LINES]
        return None


class LogTail:
    """Reads the lines appended to a file since `offset`; survives the file being rotated."""

    def __init__(self, path: str, offset: int | None = None) -> None:
        self.path = path
        self._inode: int | None = None
        self._partial = b""
        self.offset = 0
        if offset is None:
            self.offset = self.end()
        else:
            self.offset = offset

    def end(self) -> int:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return 0
        self._inode = st.st_ino
        return st.st_size

    def read_lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_ino != self._inode or st.st_size < self.offset:
                    # a new file (rotated or recreated): read it from its start
                    if self._inode is not None:
                        self.offset = 0
                    self._inode = st.st_ino
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in complete]


def follow(
    tail: LogTail,
    watcher: StartWatcher | ReconfigWatcher,
    timeout: float,
    dead: Callable[[], str | None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    poll_interval: float = 0.1,
) -> Outcome:
    """Feed new lines to `watcher` until it has an outcome.

    Gives up with TIMEOUT after `timeout` seconds without a new line, or with EXITED
    (the reason from `dead`, then the lines seen) once `dead()` returns a reason.
    """
    deadline = clock() + timeout
    while True:
        lines = tail.read_lines()
        if lines:
            deadline = clock() + timeout
        for line in lines:
            outcome = watcher.feed(line)
            if outcome is not None:
                return outcome
        reason = dead() if dead is not None else None
        if reason is not None:
            for line in tail.read_lines():
                outcome = watcher.feed(line)
                if outcome is not None:
                    return outcome
            return Outcome(EXITED, [reason, *watcher.lines])
        if clock() >= deadline:
            return Outcome(TIMEOUT, list(watcher.lines))
        sleep(poll_interval)
