"""The ``msgpack_experimental_v7`` transport: a worker's connection over a WebSocket
of msgpack maps, and the listener the worker manager registers workers with.

There are no per-builder objects on this transport: the master resolves paths
itself, creates the builder directories with `listdir`/`mkdir` commands, and keys
the running commands (and their file writers/readers) by command id.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, error
from twisted.python import log

from buildbot.worker.protocols import base
from buildbot.worker.protocols.msgpack_args import WorkerPaths, translate, update_value

#: the key of c['protocols'] for this transport
PROTOCOL_NAME = "msgpack_experimental_v7"
#: what the worker is told about buffering and splitting its output
WORKER_SETTINGS = {
    "buffer_size": 64 * 1024,
    "buffer_timeout": 5,
    "newline_re": r"(\r\n|\r(?=.)|\033\[u|\033\[[0-9]+;[0-9]+[Hf]|\033\[2J|\x08+)",
    "max_line_length": 4096,
}

_CONNECTION_GONE = (error.ConnectionLost, error.ConnectionDone)


class RequestError(KeyError):
    """A worker request the master cannot serve; its text is the answer."""


@dataclass
class _Running:
    command: Any
    writer: Any = None
    reader: Any = None


def _require(message: dict[str, Any], key: str) -> Any:
    if key not in message:
        raise RequestError(f'message did not contain obligatory "{key}" key')
    return message[key]


class Connection(base.Connection):
    """The master's side of one msgpack connection."""

    def __init__(self, master: Any, worker: Any, protocol: Any) -> None:
        super().__init__(worker.workername)
        self.master = master
        self.worker = worker
        self.protocol = protocol
        # the worker's requests are served once its info has arrived
        self.accepting_requests = False
        # builder name -> its directory on the worker (relative to the base directory)
        self.builders: dict[str, str] = {}
        self._commands: dict[str, _Running] = {}
        self._handlers = {
            "update": self._update,
            "complete": self._complete,
            "update_upload_file_write": self._write,
            "update_upload_file_utime": self._utime,
            "update_upload_file_close": self._close_writer,
            "update_upload_directory_write": self._write,
            "update_upload_directory_unpack": self._unpack,
            "update_read_file": self._read,
            "update_read_file_close": self._close_reader,
        }

    # --- life-cycle ---------------------------------------------------------------

    def attached(self) -> None:
        self.startKeepaliveTimer()

    def connectionLost(self) -> None:
        """The socket closed (called by the protocol)."""
        self.stopKeepaliveTimer()
        self.accepting_requests = False
        self._commands.clear()
        self.notifyDisconnected()

    def loseConnection(self) -> None:
        self.stopKeepaliveTimer()
        self.protocol.abort()

    def _send_keepalive(self) -> None:
        d = self._request("keepalive")
        d.addErrback(lambda f: log.msg(f"keepalive to {self.name!r} failed: {f.value}"))

    def _request(self, op: str, **fields: Any) -> defer.Deferred[Any]:
        return self.protocol.get_message_result(dict(fields, op=op))

    # --- master -> worker ---------------------------------------------------------

    def remotePrint(self, message: str) -> defer.Deferred[Any]:
        return self._request("print", message=message)

    def remoteGetWorkerInfo(self) -> defer.Deferred[dict[str, Any]]:
        def keep(info: Any) -> dict[str, Any]:
            self.info = dict(info or {})
            self.info.setdefault("worker_commands", {})
            self.accepting_requests = True
            return self.info

        return self._request("get_worker_info").addCallback(keep)

    def paths(self) -> WorkerPaths:
        return WorkerPaths(
            basedir=str(self.info.get("basedir") or ""),
            system=self.info.get("system"),
            environ=self.info.get("environ"),
        )

    def remoteSetBuilderList(self, builders: list[tuple[str, str]]) -> defer.Deferred[Any]:
        return defer.ensureDeferred(self._set_builder_list([tuple(b) for b in builders]))

    async def _set_builder_list(self, builders: list[tuple[str, str]]) -> dict[str, str]:
        await self._request("set_worker_settings", args=dict(WORKER_SETTINGS))
        paths = self.paths()
        listing = await self._run("listdir", {"dir": paths.basedir})
        files = listing.updates.get("files")
        if listing.rc != 0 or not files:
            raise RuntimeError(f"worker {self.name!r}: cannot list its base directory")
        present = set(files[-1])
        wanted = {name: builddir for name, builddir in builders}
        tops = {paths.module.normpath(d).split(paths.module.sep)[0] for d in wanted.values()}
        if self.info.get("delete_leftover_dirs"):
            await self._delete_leftovers(paths, sorted(present - tops - {"info"}))
        missing = [d for d in set(wanted.values()) | {"info"} if d not in present]
        if missing:
            made = await self._run("mkdir", {"dir": sorted(paths.builder_dir(d) for d in missing)})
            if made.rc != 0:
                raise RuntimeError(f"worker {self.name!r}: cannot create the builder directories")
        self.builders = wanted
        return dict(wanted)

    async def _delete_leftovers(self, paths: WorkerPaths, names: list[str]) -> None:
        doomed = []
        for name in names:
            found = await self._run("stat", {"file": paths.builder_dir(name)})
            stats = found.updates.get("stat")
            if found.rc == 0 and stats and stat.S_ISDIR(stats[-1][0]):
                doomed.append(paths.builder_dir(name))
        if doomed:
            log.msg(f"worker {self.name!r}: deleting leftover directories {doomed}")
            await self._run("rmdir", {"dir": doomed})

    async def _run(self, command: str, args: dict[str, Any]) -> Any:
        # imported here: the process layer uses the worker layer, not the other way
        from buildbot.process.remotecommand import RemoteCommand

        cmd = RemoteCommand(command, args, stdioLogName=None)
        return await cmd.run(None, self, None)

    def remoteStartBuild(self, builderName: str) -> defer.Deferred[Any]:
        return defer.succeed(None)

    def remoteStartCommand(
        self,
        remoteCommand: Any,
        builderName: str | None,
        commandId: str,
        commandName: str,
        args: dict[str, Any],
    ) -> defer.Deferred[Any]:
        try:
            builddir = None
            if builderName is not None:
                if builderName not in self.builders:
                    raise KeyError(f"worker {self.name!r} does not serve {builderName!r}")
                builddir = self.builders[builderName]
            wire = translate(commandName, args, self.paths(), builddir)
        except Exception:
            return defer.fail()
        commandId = str(commandId)
        self._commands[commandId] = _Running(remoteCommand, wire.writer, wire.reader)
        fields: dict[str, Any] = {
            "command_id": commandId,
            "command_name": wire.name,
            "args": wire.args,
        }
        if builderName is not None:
            fields["builder_name"] = builderName

        def refused(f: Any) -> Any:
            self._commands.pop(commandId, None)
            return f

        return self._request("start_command", **fields).addErrback(refused)

    def remoteInterruptCommand(
        self, builderName: str, commandId: str, why: str
    ) -> defer.Deferred[Any]:
        return self._request(
            "interrupt_command", command_id=str(commandId), why=why, builder_name=builderName
        )

    def remoteShutdown(self) -> defer.Deferred[None]:
        return base.shutdownAnswer(self._request("shutdown"), _CONNECTION_GONE)

    # --- worker -> master ---------------------------------------------------------

    def requestHandler(self, op: str) -> Any:
        handler = self._handlers.get(op)
        if handler is None:
            return None

        def serve(message: dict[str, Any]) -> Any:
            self.worker.messageReceivedFromWorker()
            return handler(message)

        return serve

    def _running(self, message: dict[str, Any]) -> _Running:
        command_id = str(_require(message, "command_id"))
        running = self._commands.get(command_id)
        if running is None:
            raise RequestError('unknown "command_id"')
        return running

    def _update(self, message: dict[str, Any]) -> Any:
        running = self._running(message)
        updates = _require(message, "args")
        pairs = [[{key: update_value(key, value)}, 0] for key, value in updates]
        running.command.remote_update(pairs)
        return None

    def _complete(self, message: dict[str, Any]) -> None:
        running = self._running(message)
        outcome = _require(message, "args")
        self._commands.pop(str(message["command_id"]), None)
        running.command.remote_complete(outcome)

    def _writer(self, message: dict[str, Any]) -> Any:
        writer = self._running(message).writer
        if writer is None:
            raise RequestError("this command has no writer")
        return writer

    def _reader(self, message: dict[str, Any]) -> Any:
        reader = self._running(message).reader
        if reader is None:
            raise RequestError("this command has no reader")
        return reader

    def _write(self, message: dict[str, Any]) -> Any:
        writer = self._writer(message)
        return writer.remote_write(_require(message, "args"))

    def _utime(self, message: dict[str, Any]) -> Any:
        writer = self._writer(message)
        times = (_require(message, "access_time"), _require(message, "modified_time"))
        return writer.remote_utime(times)

    def _close_writer(self, message: dict[str, Any]) -> Any:
        return self._writer(message).remote_close()

    def _unpack(self, message: dict[str, Any]) -> Any:
        return self._writer(message).remote_unpack()

    def _read(self, message: dict[str, Any]) -> Any:
        reader = self._reader(message)
        return reader.remote_read(_require(message, "length"))

    def _close_reader(self, message: dict[str, Any]) -> Any:
        return self._reader(message).remote_close()


class Listener(base.Listener):
    """Registers each configured worker on the msgpack port."""

    def __init__(self) -> None:
        super().__init__()
        # made on the first registration: autobahn is only loaded by masters that
        # configure this protocol
        self.manager: Any = None

    async def _register(self, port: Any, workername: str, password: Any) -> Any:
        if self.manager is None:
            from buildbot.worker.protocols.manager.msgpack import MsgManager

            self.manager = MsgManager()
            await self.manager.setServiceParent(self)
        return self.manager.register(port, workername, password, self._attach)

    def _makeConnection(self, worker: Any, peer: Any) -> Connection:
        conn = Connection(self.master, worker, peer)
        peer.connection = conn
        return conn
