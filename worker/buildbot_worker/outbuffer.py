"""Batching of command updates before they go to the master.

Text streams are cut at line boundaries: line-ending look-alikes (CRLF, a lone CR,
cursor-positioning ANSI codes, backspace runs) become newlines, long lines are split,
and a trailing partial line is held back until more text arrives or the command ends.
Consecutive text of one stream is merged into a single update; the buffer is flushed
when it grows past `buffer_size` bytes, `buffer_timeout` seconds after the first item,
and at the end of the command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from twisted.internet import interfaces

BUFFER_SIZE = 64 * 1024
# Output that trickles in still reaches the master (and the live log readers) within
# half a second; busy output is sent by size long before this timer fires.
BUFFER_TIMEOUT = 0.5
MAX_LINE_LENGTH = 4096
NON_TEXT_WEIGHT = 20
TEXT_KEYS = ("stdout", "stderr", "header")

_NEWLINE_RE = re.compile(
    r"\r\n|\r(?=.)|\x1b\[u|\x1b\[\d+;\d+[Hf]|\x1b\[2J|\x08+",
    re.DOTALL,
)
_NEWLINE_STARTS = ("\r", "\x1b", "\x08")


def split_complete_lines(
    pending: str,
    text: str,
    max_len: int = MAX_LINE_LENGTH,
    newline_re: re.Pattern[str] = _NEWLINE_RE,
) -> tuple[str, str]:
    """Return (whole lines ready to send, partial line to keep) for `pending + text`."""
    text = pending + text
    # every look-alike of the default pattern starts with one of these characters:
    # plain output skips the regular expression (a scan per character)
    if newline_re is not _NEWLINE_RE or any(c in text for c in _NEWLINE_STARTS):
        text = newline_re.sub("\n", text)
    cut = text.rfind("\n") + 1
    complete, rest = text[:cut], text[cut:]
    if len(complete) > max_len and max(map(len, complete.split("\n"))) > max_len:
        complete = "".join(_split_long(line, max_len) for line in complete.splitlines(True))
    while len(rest) >= max_len:
        complete += rest[:max_len] + "\n"
        rest = rest[max_len:]
    return complete, rest


def _split_long(line: str, max_len: int) -> str:
    if len(line) <= max_len + 1:
        return line
    body = line[:-1] if line.endswith("\n") else line
    pieces = [body[i : i + max_len] for i in range(0, len(body), max_len)]
    return "\n".join(pieces) + "\n"


class Entry(NamedTuple):
    """One merged update: for text keys `value` is whole lines and `times` holds one
    arrival time per line; `logname` is set for `log` entries only."""

    key: str
    value: Any
    logname: str | None
    times: list[float]


class UpdateBuffer:
    """Collects (key, value) updates and hands them on in batches.

    Either `send(key, value)` is called once per merged entry, in order, or, when
    `send_batch` is given, `send_batch(entries)` once per flush with a list of `Entry`.
    """

    def __init__(
        self,
        send: Callable[[str, Any], object] | None,
        clock: interfaces.IReactorTime,
        buffer_size: int = BUFFER_SIZE,
        buffer_timeout: float = BUFFER_TIMEOUT,
        max_line_length: int = MAX_LINE_LENGTH,
        newline_re: re.Pattern[str] | str | None = None,
        send_batch: Callable[[list[Entry]], object] | None = None,
    ) -> None:
        self._send = send
        self._send_batch = send_batch
        self._clock = clock
        self.buffer_size = buffer_size
        self.buffer_timeout = buffer_timeout
        self.max_line_length = max_line_length
        if isinstance(newline_re, str):
            newline_re = re.compile(newline_re)
        self.newline_re = newline_re or _NEWLINE_RE
        # [key, value, logname-or-None, line times]
        self._entries: list[list[Any]] = []
        self._size = 0
        self._partial: dict[tuple[str, str | None], str] = {}
        self._timer: interfaces.IDelayedCall | None = None
        self.closed = False

    def add(self, key: str, value: Any) -> None:
        if self.closed:
            return
        if key in TEXT_KEYS:
            self._add_text(key, None, value)
        elif key == "log":
            name, text = value
            self._add_text("log", name, text)
        else:
            self._append(key, value, None, NON_TEXT_WEIGHT, None)

    def _add_text(self, key: str, logname: str | None, text: str) -> None:
        slot = (key, logname)
        complete, rest = split_complete_lines(
            self._partial.get(slot, ""), text, self.max_line_length, self.newline_re
        )
        self._partial[slot] = rest
        if complete:
            self._append_text(key, logname, complete)

    def _append_text(self, key: str, logname: str | None, text: str) -> None:
        times = [self._clock.seconds()] * text.count("\n")
        last = self._entries[-1] if self._entries else None
        if last is not None and last[0] == key and last[2] == logname:
            last[1] += text
            last[3].extend(times)
            self._grow(len(text))
        else:
            self._append(key, text, logname, len(text), times)

    def _append(
        self, key: str, value: Any, logname: str | None, weight: int, times: list[float] | None
    ) -> None:
        self._entries.append([key, value, logname, times or []])
        self._grow(weight)

    def _grow(self, weight: int) -> None:
        self._size += weight
        if self._size > self.buffer_size:
            self.flush()
        elif self._timer is None:
            self._timer = self._clock.callLater(self.buffer_timeout, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        entries, self._entries, self._size = self._entries, [], 0
        if self._send_batch is not None:
            if entries:
                self._send_batch([Entry(*e) for e in entries])
            return
        assert self._send is not None
        for key, value, logname, _ in entries:
            self._send(key, (logname, value) if key == "log" else value)

    def finish(self) -> None:
        """Send held-back partial lines (with a newline added) and everything buffered."""
        for (key, logname), rest in list(self._partial.items()):
            if rest:
                self._partial[(key, logname)] = ""
                self._append_text(key, logname, rest + "\n")
        self.flush()

    def close(self) -> None:
        """Drop everything: nothing more is sent."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._entries, self._partial, self._size = [], {}, 0
        self.closed = True
