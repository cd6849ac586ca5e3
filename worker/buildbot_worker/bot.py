"""The worker service (what buildbot.tac creates) and its PB objects."""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Callable
from typing import Any

from twisted.application import service
from twisted.internet import defer, endpoints, task
from twisted.python import failure, log
from twisted.spread import pb

import buildbot_worker
from buildbot_worker.commands.base import Command
from buildbot_worker.commands.registry import COMMANDS, command_versions
from buildbot_worker.outbuffer import UpdateBuffer
from buildbot_worker.pbconnect import PBConnector
from buildbot_worker.protocols import MSGPACK
from buildbot_worker.tunnel import HTTPTunnelEndpoint

SHUTDOWN_POLL_INTERVAL = 10.0


class UnknownCommand(pb.Error):
    pass


def read_worker_info(basedir: str) -> dict[str, Any]:
    info: dict[str, Any] = {}
    infodir = os.path.join(basedir, "info")
    if os.path.isdir(infodir):
        for name in sorted(os.listdir(infodir)):
            path = os.path.join(infodir, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    info[name] = f.read()
    try:
        with open("/etc/os-release", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.strip().partition("=")
                if sep and key and value:
                    info["os_" + key.lower()] = value.strip("\"'")
    except OSError:
        pass
    info["environ"] = dict(os.environ)
    info["system"] = os.name
    info["basedir"] = basedir
    info["numcpus"] = os.cpu_count() or 1
    info["version"] = buildbot_worker.version
    info["worker_commands"] = command_versions()
    return info


class _CommandHost:
    """What one running command sees of its builder and worker."""

    def __init__(self, bot: BotBase, builddir: str, buffer: UpdateBuffer) -> None:
        self.builddir = builddir
        self.worker_basedir = bot.basedir
        self.reactor = bot.reactor
        self.unicode_encoding = bot.unicode_encoding
        self.buffer = buffer

    def sendUpdate(self, key: str, value: Any) -> None:
        self.buffer.add(key, value)


class RunningCommand:
    """A started command and the buffer its updates go through."""

    def __init__(self, command: Command, buffer: UpdateBuffer) -> None:
        self.command = command
        self.buffer = buffer

    @property
    def closed(self) -> bool:
        """Stopped or finished: nothing more is to be said about it."""
        return self.buffer.closed

    def stop(self) -> None:
        """Stop silently (replaced, or the master went away): no more updates."""
        self.buffer.close()
        self.command.doInterrupt()

    def interrupt(self) -> None:
        self.buffer.flush()
        self.command.doInterrupt()

    def finish(self, result: Any) -> failure.Failure | None:
        """Send the last updates and close; return the failure to report, if any."""
        self.buffer.finish()
        self.buffer.close()
        if isinstance(result, failure.Failure):
            log.err(result, f"command {self.command.command_id} failed")
            return result
        return None


def _log_send_error(f: failure.Failure) -> None:
    log.msg(f"could not send to the master: {f.getErrorMessage()}")


class BotBase:
    """What the PB and msgpack bots share: settings, worker info, shutdown."""

    def __init__(
        self,
        basedir: str,
        reactor: Any,
        stop: Callable[[], None],
        unicode_encoding: str = "utf-8",
        delete_leftover_dirs: Any = False,
    ) -> None:
        self.basedir = os.path.abspath(basedir)
        self.reactor = reactor
        self.stop = stop
        self.unicode_encoding = unicode_encoding
        self.delete_leftover_dirs = delete_leftover_dirs

    def worker_info(self) -> dict[str, Any]:
        info = read_worker_info(self.basedir)
        info["delete_leftover_dirs"] = self.delete_leftover_dirs
        return info

    def shutdown(self) -> None:
        log.msg("worker shutting down on command from master")
        self.reactor.callLater(0.2, self.stop)


class WorkerForBuilder(pb.Referenceable):
    """Runs the commands of one builder, one at a time."""

    def __init__(self, bot: Bot, name: str, builddir: str) -> None:
        self.bot = bot
        self.name = name
        self.builddir = builddir
        self._running: RunningCommand | None = None

    @property
    def command(self) -> Command | None:
        return self._running.command if self._running is not None else None

    def remote_print(self, message: str) -> None:
        log.msg(f"WorkerForBuilder.remote_print({self.name}): message from master: {message}")

    def remote_setMaster(self, master: Any) -> None:
        pass

    def remote_startBuild(self) -> None:
        pass

    def remote_startCommand(
        self, cmdRef: Any, commandId: str, commandName: str, args: dict[str, Any]
    ) -> None:
        self.stop_command()
        factory = COMMANDS.get(commandName)
        if factory is None:
            raise UnknownCommand(
                f"(command {commandId}): unrecognized WorkerCommand '{commandName}'"
            )

        def send(key: str, value: Any) -> None:
            d = cmdRef.callRemote("update", [[{key: value}, 0]])
            d.addErrback(_log_send_error)

        buffer = UpdateBuffer(send, self.bot.reactor)
        command = factory(_CommandHost(self.bot, self.builddir, buffer), commandId, args)
        self._running = running = RunningCommand(command, buffer)
        log.msg(f"(command {commandId}): startCommand:{commandName}")
        d = command.doStart()
        d.addBoth(self._finished, running, cmdRef)

    def _finished(self, result: Any, running: RunningCommand, cmdRef: Any) -> None:
        if running.closed:
            return  # replaced or dropped: say nothing more
        f = running.finish(result)
        if self._running is running:
            self._running = None
        copyable = None if f is None else pb.failure2Copyable(f, unsafeTracebacks=True)
        d = cmdRef.callRemote("complete", copyable)
        d.addErrback(_log_send_error)

    def remote_interruptCommand(self, commandId: str, why: str) -> None:
        if self._running is None:
            log.msg(f"interruptCommand {commandId}: no command running")
            return
        log.msg(f"asked to interrupt current command: {why}")
        self._running.interrupt()

    def stop_command(self) -> None:
        """Stop the current command silently (replaced, or the master went away)."""
        running, self._running = self._running, None
        if running is not None:
            running.stop()


class Bot(BotBase, pb.Referenceable):
    """The object the master talks to (the PB "mind")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builders: dict[str, WorkerForBuilder] = {}

    def remote_getCommands(self) -> dict[str, str]:
        return command_versions()

    def remote_getVersion(self) -> str:
        return buildbot_worker.version

    def remote_getWorkerInfo(self) -> dict[str, Any]:
        return self.worker_info()

    def remote_print(self, message: str) -> None:
        log.msg(f"message from master: {message}")

    def remote_shutdown(self) -> None:
        self.shutdown()

    def remote_setBuilderList(self, wanted: list) -> dict[str, WorkerForBuilder]:
        wanted_dirs = {}
        for name, builddir in wanted:
            wanted_dirs[name] = builddir
        for name in list(self.builders):
            if name not in wanted_dirs:
                log.msg(f"removing old builder {name}")
                self.builders.pop(name).stop_command()
        for name, builddir in wanted_dirs.items():
            path = os.path.join(self.basedir, builddir)
            wfb = self.builders.get(name)
            if wfb is None:
                self.builders[name] = wfb = WorkerForBuilder(self, name, path)
            wfb.builddir = path
            os.makedirs(path, exist_ok=True)
        self._leftover_dirs({"info", *wanted_dirs.values()})
        return dict(self.builders)

    def _leftover_dirs(self, keep: set[str]) -> None:
        for entry in sorted(os.listdir(self.basedir)):
            path = os.path.join(self.basedir, entry)
            if entry in keep or not os.path.isdir(path):
                continue
            if self.delete_leftover_dirs:
                log.msg(f"deleting directory '{entry}' that is not being used by the master")
                shutil.rmtree(path, ignore_errors=True)
            else:
                log.msg(f"I have a leftover directory '{entry}' that is not being used")

    def lost_connection(self) -> None:
        for wfb in self.builders.values():
            wfb.stop_command()


class Worker(service.MultiService):
    """The worker program's service, created by buildbot.tac."""

    def __init__(
        self,
        buildmaster_host: str | None,
        port: int | None,
        name: str,
        passwd: str,
        basedir: str,
        keepalive: int | None,
        usePTY: Any = None,
        keepaliveTimeout: Any = None,
        umask: int | None = None,
        maxdelay: Any = None,
        numcpus: int | None = None,
        unicode_encoding: str | None = None,
        protocol: str = "pb",
        useTls: Any = None,
        allow_shutdown: str | None = None,
        maxRetries: int | None = None,
        connection_string: str | None = None,
        delete_leftover_dirs: Any = False,
        proxy_connection_string: str | None = None,
        path: str | None = None,
        reactor: Any = None,
    ) -> None:
        super().__init__()
        if protocol not in ("pb", MSGPACK):
            raise ValueError(f"protocol {protocol!r} is not supported; use 'pb' or '{MSGPACK}'")
        if allow_shutdown not in (None, "signal", "file"):
            raise ValueError("allow_shutdown must be None, 'signal' or 'file'")
        if connection_string is None and (buildmaster_host is None or port is None):
            raise ValueError("give buildmaster_host and port, or connection_string")
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.reactor = reactor
        self.name = name
        self.basedir = os.path.abspath(basedir)
        self.umask = umask
        self.numcpus = numcpus
        self.allow_shutdown = allow_shutdown
        self.unicode_encoding = unicode_encoding or _fs_encoding()
        self.connection_string = connection_string
        self.endpoint = _make_endpoint(reactor, connection_string, buildmaster_host, port, useTls)
        if proxy_connection_string:
            if connection_string:
                raise ValueError("connection_string and proxy_connection_string exclude each other")
            proxy = endpoints.clientFromString(reactor, proxy_connection_string)
            self.endpoint = HTTPTunnelEndpoint(str(buildmaster_host), int(port), proxy)
        self.protocol = protocol
        self.bot: Any
        self.connector: Any
        if protocol == MSGPACK:
            self._setup_msgpack(
                buildmaster_host, port, name, passwd, maxRetries, delete_leftover_dirs,
                path, connection_string, useTls,
            )  # fmt: skip
        else:
            self.bot = Bot(
                self.basedir,
                reactor,
                self._stop_reactor,
                self.unicode_encoding,
                delete_leftover_dirs,
            )
            self.connector = PBConnector(
                reactor,
                self.endpoint,
                name.encode(self.unicode_encoding),
                passwd.encode(self.unicode_encoding),
                self.bot,
                keepalive,
                self._stop_reactor,
                max_retries=maxRetries,
                on_disconnect=self.bot.lost_connection,
            )
        self.connector.setServiceParent(self)
        self._shutdown_poll: task.LoopingCall | None = None
        self._stamp_mtime: float | None = None

    def _setup_msgpack(
        self,
        host: str | None,
        port: Any,
        name: str,
        passwd: str,
        max_retries: int | None,
        delete_leftover_dirs: Any,
        path: str | None,
        connection_string: str | None,
        use_tls: Any,
    ) -> None:
        # imported here: autobahn and msgpack are an optional extra
        from buildbot_worker.protocols import msgpack as transport
        from buildbot_worker.protocols.msgpack_bot import MsgpackBot

        self.bot = MsgpackBot(
            self.basedir,
            self.reactor,
            self._stop_reactor,
            self.unicode_encoding,
            delete_leftover_dirs,
        )
        tls = use_tls or (connection_string or "").startswith("ssl:")
        self.connector = transport.MsgpackConnector(
            self.reactor,
            self.endpoint,
            transport.master_url(host, port, connection_string, path, tls),
            name,
            passwd,
            self.bot,
            self._stop_reactor,
            max_retries=max_retries,
            unicode_encoding=self.unicode_encoding,
        )

    def startService(self) -> None:
        log.msg(f"Starting Worker -- version: {buildbot_worker.version}")
        if self.umask is not None:
            os.umask(self.umask)
        try:
            with open(os.path.join(self.basedir, "twistd.hostname"), "w") as f:
                f.write(socket.getfqdn() + "\n")
        except OSError as e:
            log.msg(f"could not write twistd.hostname: {e}")
        if self.allow_shutdown == "signal":
            signal.signal(signal.SIGHUP, self._on_sighup)
        elif self.allow_shutdown == "file":
            self._stamp_mtime = self._stamp()
            self._shutdown_poll = task.LoopingCall(self._poll_stamp)
            self._shutdown_poll.clock = self.reactor
            self._shutdown_poll.start(SHUTDOWN_POLL_INTERVAL, now=False)
        super().startService()

    def stopService(self) -> Any:
        if self._shutdown_poll is not None and self._shutdown_poll.running:
            self._shutdown_poll.stop()
        self.bot.lost_connection()
        return super().stopService()

    def _stamp(self) -> float | None:
        try:
            return os.stat(os.path.join(self.basedir, "shutdown.stamp")).st_mtime
        except OSError:
            return None

    def _poll_stamp(self) -> None:
        mtime = self._stamp()
        if mtime is not None and mtime != self._stamp_mtime:
            self._stamp_mtime = mtime
            self.gracefulShutdown()

    def _on_sighup(self, *args: Any) -> None:
        self.reactor.callFromThread(self.gracefulShutdown)

    def gracefulShutdown(self) -> defer.Deferred[Any]:
        log.msg("Initiating graceful shutdown")
        if self.protocol == MSGPACK:
            # this transport has no worker-to-master shutdown request
            log.msg(f"graceful shutdown is not available over {MSGPACK}; shutting down NOW")
            self._stop_reactor()
            return defer.succeed(None)
        perspective = self.connector.perspective
        if perspective is None:
            log.msg("No active connection, shutting down NOW")
            self._stop_reactor()
            return defer.succeed(None)
        log.msg("Telling the master we want to shutdown after any running builds are finished")
        d = perspective.callRemote("shutdown")
        d.addErrback(lambda f: log.msg(f"graceful shutdown request failed: {f.getErrorMessage()}"))
        return d

    def _stop_reactor(self) -> None:
        if getattr(self.reactor, "running", False):
            self.reactor.stop()


def _make_endpoint(
    reactor: Any, connection_string: str | None, host: str | None, port: Any, useTls: Any
) -> Any:
    if connection_string:
        return endpoints.clientFromString(reactor, connection_string)
    endpoint = endpoints.HostnameEndpoint(reactor, str(host).encode("idna"), int(port))
    if useTls:
        from twisted.internet import ssl

        return endpoints.wrapClientTLS(ssl.optionsForClientTLS(str(host)), endpoint)
    return endpoint


def _fs_encoding() -> str:
    import sys

    return sys.getfilesystemencoding() or "utf-8"
