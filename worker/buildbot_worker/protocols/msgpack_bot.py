"""What the worker does with the master's msgpack_experimental_v7 requests.

Transport-free: `MsgpackBot.handle(op, msg)` answers one master request, and outgoing
requests (updates, completion, file transfer) go through `request(op, **fields)`, a
callable set by the connection that returns a Deferred of the master's result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot_worker.bot import BotBase, RunningCommand, _CommandHost, _log_send_error
from buildbot_worker.commands.registry import COMMANDS
from buildbot_worker.outbuffer import TEXT_KEYS, Entry, UpdateBuffer

Request = Callable[..., defer.Deferred[Any]]

SETTING_KEYS = ("buffer_size", "buffer_timeout", "newline_re", "max_line_length")


class RequestError(Exception):
    """A request the worker answers with an exception response (the text is sent)."""


def need(msg: dict[str, Any], *keys: str) -> list[Any]:
    for key in keys:
        if key not in msg:
            raise RequestError(f'message did not contain obligatory "{key}" key')
    return [msg[key] for key in keys]


_NEWLINE = re.compile("\n")


def encode_lines(text: str, times: list[float]) -> list[Any]:
    """The msgpack form of whole lines: [text, newline offsets, one time per line]."""
    offsets = [m.start() for m in _NEWLINE.finditer(text)]
    return [text, offsets, times]


def encode_entry(entry: Entry) -> list[Any]:
    if entry.key in TEXT_KEYS:
        return [entry.key, encode_lines(entry.value, entry.times)]
    if entry.key == "log":
        return ["log", [entry.logname, encode_lines(entry.value, entry.times)]]
    value = entry.value
    return [entry.key, list(value) if isinstance(value, tuple) else value]


class MasterFile:
    """Stands in for the PB writer/reader objects: `callRemote` becomes a request."""

    def __init__(self, request: Request, command_id: str, kind: str) -> None:
        self.request = request
        self.command_id = command_id
        self.kind = kind  # "upload_file", "upload_directory" or "read_file"

    def callRemote(self, method: str, *args: Any) -> defer.Deferred[Any]:
        cid = self.command_id
        if method == "write":
            return self.request(f"update_{self.kind}_write", command_id=cid, args=args[0])
        if method == "close" and self.kind == "read_file":
            return self.request("update_read_file_close", command_id=cid)
        if method == "close":
            return self.request("update_upload_file_close", command_id=cid)
        if method == "utime":
            atime, mtime = args[0]
            return self.request(
                "update_upload_file_utime",
                command_id=cid,
                access_time=float(atime),
                modified_time=float(mtime),
            )
        if method == "unpack":
            return self.request("update_upload_directory_unpack", command_id=cid)
        if method == "read":
            d = self.request("update_read_file", command_id=cid, length=args[0])
            return d.addCallback(lambda data: data or b"")
        raise ValueError(f"no remote method {method!r} on a {self.kind} transfer")


# msgpack command name -> (our command name, {msgpack arg: our arg}, transfer kind)
_TRANSLATION: dict[str, tuple[str, dict[str, str], str | None]] = {
    "upload_file": ("uploadFile", {"path": "workersrc"}, "upload_file"),
    "upload_directory": ("uploadDirectory", {"path": "workersrc"}, "upload_directory"),
    "download_file": ("downloadFile", {"path": "workerdest"}, "read_file"),
    "mkdir": ("mkdir", {"paths": "dir"}, None),
    "rmdir": ("rmdir", {"paths": "dir"}, None),
    "cpdir": ("cpdir", {"from_path": "fromdir", "to_path": "todir"}, None),
    "stat": ("stat", {"path": "file"}, None),
    "listdir": ("listdir", {"path": "dir"}, None),
}


def translate_command(
    name: str, args: dict[str, Any], request: Request, command_id: str
) -> tuple[str, dict[str, Any]]:
    """Map a msgpack command (absolute paths, msgpack names) to our command's arguments."""
    args = dict(args)
    if name not in _TRANSLATION:
        return name, args
    ours, renames, kind = _TRANSLATION[name]
    for theirs, mine in renames.items():
        if theirs in args:
            args[mine] = args.pop(theirs)
    if name == "stat":
        args.pop("workdir", None)  # the path is already complete
    if kind is not None:
        args.setdefault("workdir", "")  # the path is absolute: the workdir is not needed
    if kind == "read_file":
        args["reader"] = MasterFile(request, command_id, kind)
    elif kind is not None:
        args["writer"] = MasterFile(request, command_id, kind)
    return ours, args


class MsgpackBot(BotBase):
    """Runs the master's requests; any number of commands at once, keyed by id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings: dict[str, Any] = {}
        self.commands: dict[str, RunningCommand] = {}
        self.request: Request | None = None

    def handle(self, op: str, msg: dict[str, Any]) -> Any:
        method = getattr(self, "op_" + op, None) if isinstance(op, str) else None
        if method is None:
            raise RequestError(f"Command {op} does not exist.")
        return method(msg)

    def op_print(self, msg: dict[str, Any]) -> None:
        (message,) = need(msg, "message")
        log.msg(f"message from master: {message}")

    def op_keepalive(self, msg: dict[str, Any]) -> None:
        log.msg("keepalive from master")

    def op_get_worker_info(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self.worker_info()

    def op_set_worker_settings(self, msg: dict[str, Any]) -> None:
        (args,) = need(msg, "args")
        self.settings = dict(zip(SETTING_KEYS, need(args, *SETTING_KEYS), strict=True))

    def op_start_command(self, msg: dict[str, Any]) -> None:
        command_id, name, args = need(msg, "command_id", "command_name", "args")
        if self.request is None:
            raise RequestError("not connected")
        ours, our_args = translate_command(name, args or {}, self.request, command_id)
        factory = COMMANDS.get(ours)
        if factory is None:
            raise RequestError(f"(command {command_id}): unrecognized WorkerCommand '{name}'")
        buffer = UpdateBuffer(
            None,
            self.reactor,
            send_batch=lambda entries: self._send_updates(command_id, entries),
            **self.settings,
        )
        # paths arrive absolute, so the builder dir is the basedir
        command = factory(_CommandHost(self, self.basedir, buffer), command_id, our_args)
        self._drop(command_id)
        self.commands[command_id] = running = RunningCommand(command, buffer)
        log.msg(f"(command {command_id}): startCommand:{name}")
        d = command.doStart()
        d.addBoth(self._finished, command_id, running)

    def op_interrupt_command(self, msg: dict[str, Any]) -> None:
        command_id, why = need(msg, "command_id", "why")
        running = self.commands.get(command_id)
        if running is None:
            log.msg(f"interruptCommand {command_id}: no such command running")
            return
        log.msg(f"asked to interrupt command {command_id}: {why}")
        running.interrupt()

    def op_shutdown(self, msg: dict[str, Any]) -> None:
        self.shutdown()

    def _send_updates(self, command_id: str, entries: list[Entry]) -> None:
        if self.request is None:
            return
        d = self.request("update", command_id=command_id, args=[encode_entry(e) for e in entries])
        d.addErrback(_log_send_error)

    def _finished(self, result: Any, command_id: str, running: RunningCommand) -> None:
        if running.closed:
            return  # replaced or dropped: say nothing more
        f = running.finish(result)
        if self.commands.get(command_id) is running:
            del self.commands[command_id]
        error = None if f is None else f"{f.type.__name__}: {f.getErrorMessage()}"
        if self.request is not None:
            self.request("complete", command_id=command_id, args=error).addErrback(_log_send_error)

    def _drop(self, command_id: str) -> None:
        running = self.commands.pop(command_id, None)
        if running is not None:
            running.stop()

    def lost_connection(self) -> None:
        """Stop every command silently: the master that wanted them is gone."""
        self.request = None
        for command_id in list(self.commands):
            self._drop(command_id)
