"""The logs of a running step, as the build engine writes them.

    lg = Log.new(master, "stdio", "s", logid, "utf-8")
    await lg.addStdout("compiling foo.c\\n")
    await lg.finish()

Text arrives in arbitrary pieces (str, or bytes decoded with the log's
encoding; undecodable bytes become U+FFFD and are counted in
`decode_errors`). Each stream is cut into whole lines; subscribers see the
lines at once, and the lines wait in a batch that is written with one
``master.data.updates.appendLog`` call:

* `BATCH_DELAY` seconds after the first line of a batch (on the master's
  reactor), so a live reader sees a line within that delay;
* at once when the batch reaches `MAX_PENDING` characters;
* on `flush()` and `finish()`.

Writes are serialised: one appendLog is in flight at a time and batches are
written in the order their lines arrived.

What the Deferreds mean:

* the ``add*`` methods fire once the text is accepted into the batch, which
  is right away unless the batch is full; then they fire once that batch is
  written (the back-pressure a fast producer needs);
* `flush()` fires once every line accepted before it, its partial lines
  included, is written;
* `finish()` fires once everything is written and the log is marked
  complete; compressing the stored log (merging the chunks of several
  writes) then goes on in the background.

A failed write is logged and remembered by `had_errors()`; the lines of that
batch are lost, and the Deferreds still fire, so that a step can finish and
report the problem.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.python import log as twlog

from buildbot.util import debounce
from buildbot.util.lineboundaries import LineBoundaryFinder

#: seconds a line may wait in the batch before it is written
BATCH_DELAY = 0.5
#: characters of pending lines that make the batch be written at once
MAX_PENDING = 512 * 1024

#: what a subscriber is called with: (stream or None, whole lines); (None, None) at the end
Subscriber = Callable[[str | None, str | None], Any]
Decoder = Callable[[bytes], str]

_REPLACE_ERRORS = "buildbot.process.log.replace"
_replaced = 0


def _replace_and_count(err: UnicodeError) -> tuple[str, int]:
    global _replaced
    if not isinstance(err, UnicodeDecodeError):
        raise err
    _replaced += 1
    return "\ufffd", err.end


codecs.register_error(_REPLACE_ERRORS, _replace_and_count)


class _Channel:
    """One stream of a log: decodes its bytes and cuts it into whole lines."""

    def __init__(self, owner: Log, encoding: str | Decoder) -> None:
        self._owner = owner
        self._decode_fn: Decoder | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        if callable(encoding):
            self._decode_fn = encoding
        else:
            self._decoder = codecs.getincrementaldecoder(encoding)(errors=_REPLACE_ERRORS)
        self._lines = LineBoundaryFinder()
        # whole lines kept back by the scrubber: they may begin a multi-line secret
        self.held = ""

    def _decode(self, data: bytes, final: bool = False) -> str:
        if self._decode_fn is not None:
            return self._decode_fn(data) if data else ""
        assert self._decoder is not None
        before = _replaced
        text = self._decoder.decode(data, final)
        if _replaced != before:
            self._owner._note_decode_errors(_replaced - before)
        return text

    def feed(self, text: str | bytes) -> str | None:
        if isinstance(text, bytes):
            text = self._decode(text)
        return self._lines.append(text)

    def flush(self, final: bool) -> str | None:
        """The partial line, ended; `final` also ends an unfinished multi-byte character."""
        if final:
            self._lines.append(self._decode(b"", final=True))
        return self._lines.flush()


class _Subscription:
    def __init__(self, subscribers: list[Subscriber], callback: Subscriber) -> None:
        self._subscribers = subscribers
        self.callback = callback

    def unsubscribe(self) -> None:
        if self.callback in self._subscribers:
            self._subscribers.remove(self.callback)


class Log:
    """What every log type shares: the batch, the writer, subscribers, finishing."""

    _by_type: dict[str, type[Log]] = {}

    def __init__(
        self, master: Any, name: str, type: str, logid: int, decoder: str | Decoder
    ) -> None:
        self.master = master
        self.name = name
        self.type = type
        self.logid = logid
        self._encoding = decoder
        self.decode_errors = 0
        self._had_errors = False
        self._chunks_written = 0  # appendLog calls made (each stores whole chunks)
        self._finished_in_db = False  # the last appendLog marked the log complete
        self._subscribers: list[Subscriber] = []
        self._scrubber: Any = None
        # the batch: formatted lines not yet handed to appendLog
        self._pending: list[str] = []
        self._pending_size = 0
        # batches accepted / written so far; waiters wait for a count to be written
        self._accepted = 0
        self._written = 0
        self._waiters: list[tuple[int, defer.Deferred[None]]] = []
        self._writing = False
        self._finishing = False
        self.finished = False
        self._finish_waiters: list[defer.Deferred[None]] = []
        #: the background compression started by finish(), for whoever must wait for it
        self.compressing: defer.Deferred[Any] | None = None

    @classmethod
    def new(
        cls,
        master: Any,
        name: str,
        type: str,
        logid: int,
        logEncoding: str | Decoder | None = None,
    ) -> Log:
        """The log object for a log of `type` ('s', 't' or 'h') already in the DB."""
        try:
            log_class = cls._by_type[type]
        except KeyError:
            raise ValueError(f"unknown log type {type!r}: one of s, t, h") from None
        encoding = logEncoding or "utf-8"
        if not callable(encoding):
            codecs.lookup(encoding)  # an unknown encoding fails here, not at the first bytes
        return log_class(master, name, type, logid, encoding)

    # --- reading state ---

    def getName(self) -> str:
        return self.name

    def isFinished(self) -> bool:
        return self.finished

    def had_errors(self) -> bool:
        """Whether writing some of this log to the database failed."""
        return self._had_errors

    def waitUntilFinished(self) -> defer.Deferred[None]:
        if self.finished:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._finish_waiters.append(d)
        return d

    def subscribe(self, callback: Subscriber) -> _Subscription:
        """Call `callback(stream, lines)` with each group of whole lines as they arrive
        (stream is 'o', 'e' or 'h' for stream logs, None otherwise) and with
        (None, None) once the log is finished. Callbacks are synchronous."""
        self._subscribers.append(callback)
        return _Subscription(self._subscribers, callback)

    # --- writing ---

    def set_scrubber(self, scrubber: Any) -> None:
        """Scrub secrets from everything written from now on.

        `scrubber` (the build's `Properties`) has `cleanupTextFromSecrets(text)` and
        `secretHoldback(text)`. Output is scrubbed once cut into whole lines, so a
        secret split across chunks of output is still found; lines that may begin a
        multi-line secret wait for the following lines (or the end of the log)."""
        self._scrubber = scrubber

    def _scrub(self, channel: _Channel, lines: str | None, final: bool) -> str | None:
        scrubber = self._scrubber
        if scrubber is None:
            return lines
        text = channel.held + (lines or "")
        channel.held = ""
        if not final:
            cut = scrubber.secretHoldback(text)
            text, channel.held = text[:cut], text[cut:]
        return scrubber.cleanupTextFromSecrets(text) if text else None

    def _scrub_text(self, text: str) -> str:
        scrubber = self._scrubber
        return scrubber.cleanupTextFromSecrets(text) if scrubber is not None else text

    def _channels(self) -> dict[str | None, _Channel]:
        raise NotImplementedError

    def _format(self, stream: str | None, lines: str) -> str:
        """`lines` (whole lines) as they are stored."""
        raise NotImplementedError

    def _check_open(self) -> None:
        if self._finishing:
            raise RuntimeError(f"log {self.name!r} is finished")

    def _add(self, stream: str | None, text: str | bytes) -> defer.Deferred[None]:
        try:
            self._check_open()
            channel = self._channels()[stream]
            lines = self._scrub(channel, channel.feed(text), final=False)
        except Exception:
            return defer.fail()
        return self._accept(stream, lines) if lines else defer.succeed(None)

    def _add_whole_lines(self, stream: str | None, text: str) -> defer.Deferred[None]:
        try:
            self._check_open()
        except Exception:
            return defer.fail()
        if not text:
            return defer.succeed(None)
        if not text.endswith("\n"):
            text += "\n"
        channel = self._channels().get(stream)
        if channel is not None and channel.held:
            # the held lines came first: they go out (scrubbed) before these
            text = channel.held + text
            channel.held = ""
        return self._accept(stream, self._scrub_text(text))

    def addRawLines(self, lines: str | list[str]) -> defer.Deferred[None]:
        """Append lines already in stored form (stream logs: channel letter first)."""
        try:
            self._check_open()
        except Exception:
            return defer.fail()
        text = "".join(lines) if isinstance(lines, list) else lines
        if not text:
            return defer.succeed(None)
        text = self._scrub_text(text)
        if not text.endswith("\n"):
            text += "\n"
        return self._enqueue(self._accept_raw(text))

    def _accept_raw(self, text: str) -> str:
        """Tell subscribers about raw lines; return them as they are to be stored."""
        self._notify(None, text)
        return text

    def _accept(self, stream: str | None, lines: str) -> defer.Deferred[None]:
        self._notify(stream, lines)
        return self._enqueue(self._format(stream, lines))

    def _enqueue(self, formatted: str) -> defer.Deferred[None]:
        self._pending.append(formatted)
        self._pending_size += len(formatted)
        self._accepted += 1
        if self._pending_size >= MAX_PENDING:
            self._kick()
            return self._wait_written()
        self._write_soon()
        return defer.succeed(None)

    def _notify(self, stream: str | None, lines: str | None) -> None:
        for callback in list(self._subscribers):
            try:
                callback(stream, lines)
            except Exception:
                twlog.err(None, f"in a subscriber of log {self.name!r}")

    def _note_decode_errors(self, count: int) -> None:
        if not self.decode_errors:
            twlog.msg(
                f"log {self.name!r} (logid {self.logid}): undecodable bytes "
                f"replaced by U+FFFD (encoding {self._encoding!r})"
            )
        self.decode_errors += count

    @debounce.method(wait=BATCH_DELAY)
    def _write_soon(self) -> defer.Deferred[None]:
        self._kick()
        return self._wait_written()

    def _kick(self) -> None:
        """Start the writer unless it runs; it writes until the batch is empty."""
        if not self._writing and self._pending:
            self._writing = True
            defer.ensureDeferred(self._write_all())

    async def _write_all(self) -> None:
        try:
            while self._pending:
                content = "".join(self._pending)
                upto = self._accepted
                self._pending, self._pending_size = [], 0
                # once finishing, no line can come after this batch: it finishes the log
                last = self._finishing
                try:
                    if last:
                        await self.master.data.updates.appendLog(self.logid, content, finish=True)
                        self._finished_in_db = True
                    else:
                        await self.master.data.updates.appendLog(self.logid, content)
                    self._chunks_written += 1
                except Exception:
                    self._had_errors = True
                    twlog.err(None, f"while writing log {self.name!r} (logid {self.logid})")
                self._written = upto
                self._fire_waiters()
        finally:
            self._writing = False

    def _fire_waiters(self) -> None:
        ready = [d for upto, d in self._waiters if upto <= self._written]
        self._waiters = [(upto, d) for upto, d in self._waiters if upto > self._written]
        for d in ready:
            d.callback(None)

    def _wait_written(self) -> defer.Deferred[None]:
        """Fires once everything accepted so far is written."""
        if self._written >= self._accepted:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._waiters.append((self._accepted, d))
        return d

    def _flush_partials(self, final: bool) -> None:
        for stream, channel in self._channels().items():
            lines = channel.flush(final)
            if self._scrubber is not None:
                lines = self._scrub(channel, lines, final=True)
            if lines:
                self._accept(stream, lines)

    def flush(self) -> defer.Deferred[None]:
        """End the partial lines and write everything accepted so far."""
        if not self._finishing:
            self._flush_partials(final=False)
        self._kick()
        return self._wait_written()

    def finish(self) -> defer.Deferred[None]:
        """Write everything, mark the log complete, tell subscribers; once."""
        if self._finishing:
            return self.waitUntilFinished()
        self._finishing = True
        return defer.ensureDeferred(self._finish())

    async def _finish(self) -> None:
        self._flush_partials(final=True)
        await self._write_soon.stop()
        self._kick()
        await self._wait_written()
        try:
            if not self._finished_in_db:
                await self.master.data.updates.finishLog(self.logid)
        except Exception:
            self._had_errors = True
            twlog.err(None, f"while finishing log {self.name!r} (logid {self.logid})")
        self.finished = True
        self._notify(None, None)
        waiters, self._finish_waiters = self._finish_waiters, []
        for d in waiters:
            d.callback(None)
        if self._chunks_written < 2:
            # written in one go: its chunks are as big and compressed as they get
            self.compressing = defer.succeed(0)
            return
        self.compressing = defer.maybeDeferred(
            self.master.data.updates.compressLog, self.logid
        ).addErrback(twlog.err, f"while compressing log {self.name!r} (logid {self.logid})")


class PlainLog(Log):
    """A log of plain lines, written with `addContent`."""

    def __init__(
        self, master: Any, name: str, type: str, logid: int, decoder: str | Decoder
    ) -> None:
        super().__init__(master, name, type, logid, decoder)
        self._channel_map: dict[str | None, _Channel] = {None: _Channel(self, decoder)}

    def _channels(self) -> dict[str | None, _Channel]:
        return self._channel_map

    def _format(self, stream: str | None, lines: str) -> str:
        return lines

    def addContent(self, text: str | bytes) -> defer.Deferred[None]:
        return self._add(None, text)


class TextLog(PlainLog):
    pass


class HTMLLog(PlainLog):
    pass


HtmlLog = HTMLLog

STREAMS = ("o", "e", "h")


class StreamLog(Log):
    """A stdio log: stdout, stderr and header lines, each stored with its channel letter."""

    def __init__(
        self, master: Any, name: str, type: str, logid: int, decoder: str | Decoder
    ) -> None:
        super().__init__(master, name, type, logid, decoder)
        self._channel_map: dict[str | None, _Channel] = {
            s: _Channel(self, decoder) for s in STREAMS
        }

    def _channels(self) -> dict[str | None, _Channel]:
        return self._channel_map

    def _format(self, stream: str | None, lines: str) -> str:
        assert stream is not None
        # `lines` ends with "\n": put the letter after every line end but the last
        return stream + lines[:-1].replace("\n", "\n" + stream) + "\n"

    def _accept_raw(self, text: str) -> str:
        # a line without a channel letter is taken as stdout
        stored: list[str] = []
        run_stream: str | None = None
        run: list[str] = []
        for line in text[:-1].split("\n"):
            stream, body = (line[:1], line[1:]) if line[:1] in STREAMS else ("o", line)
            stored.append(stream + body + "\n")
            if stream != run_stream and run:
                self._notify(run_stream, "".join(run))
                run = []
            run_stream = stream
            run.append(body + "\n")
        if run:
            self._notify(run_stream, "".join(run))
        return "".join(stored)

    def addStdout(self, text: str | bytes) -> defer.Deferred[None]:
        return self._add("o", text)

    def addStderr(self, text: str | bytes) -> defer.Deferred[None]:
        return self._add("e", text)

    def addHeader(self, text: str | bytes) -> defer.Deferred[None]:
        return self._add("h", text)

    def add_stdout_lines(self, text: str) -> defer.Deferred[None]:
        return self._add_whole_lines("o", text)

    def add_stderr_lines(self, text: str) -> defer.Deferred[None]:
        return self._add_whole_lines("e", text)

    def add_header_lines(self, text: str) -> defer.Deferred[None]:
        return self._add_whole_lines("h", text)


Log._by_type.update({"t": TextLog, "h": HTMLLog, "s": StreamLog})
