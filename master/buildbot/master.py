"""The build master: the root of the service tree, its start, reconfig and stop."""

from __future__ import annotations

import atexit
import os
import signal
import socket
from typing import Any

from twisted.internet import defer, task, threads
from twisted.python import failure, log

from buildbot import config
from buildbot.config.master import FileLoader, MasterConfig
from buildbot.db import connector as dbconnector
from buildbot.db import migrate
from buildbot.mq import connector as mqconnector

# the twistd.log lines `buildbot start` and `buildbot reconfig` look for (re-exported here)
from buildbot.scripts.logwatcher import (
    RECONFIG_COMPLETE,
    RECONFIG_FAILED,
    RECONFIG_STARTED,
    RUNNING,
    STARTUP_FAILED,
)
from buildbot.util import service

RECONFIG_ABORTED = "reconfig aborted without making any changes"

#: seconds between two heartbeats of a running master
HEARTBEAT_INTERVAL = 60


class LogRotation:
    """Where buildbot.tac records its log rotation settings (read by the web server)."""

    def __init__(self) -> None:
        self.rotateLength = 1_000_000
        self.maxRotatedFiles = 10


class _NamedManager(service.BuildbotServiceManager):
    """A service manager that follows one attribute of the master config."""

    def __init__(self, name: str, config_attr: str) -> None:
        super().__init__()
        self.name = name
        self.config_attr = config_attr


class BuildMaster(service.ReconfigurableServiceMixin, service.MasterService):
    """``BuildMaster(basedir, configFileName, umask)``, as buildbot.tac files create it."""

    def __init__(
        self,
        basedir: str,
        configFileName: str = "master.cfg",
        umask: int | None = None,
        reactor: Any = None,
        config_loader: Any = None,
    ) -> None:
        super().__init__(reactor=reactor)
        self.basedir = os.path.abspath(os.path.expanduser(basedir))
        self.configFileName = configFileName
        self.umask = umask
        self.config_loader = config_loader or FileLoader(self.basedir, configFileName)
        self.config = MasterConfig()
        # how the other masters of a cluster, and the masters table, know this one
        self.name = f"{socket.getfqdn()}:{self.basedir}"
        self.masterid: int | None = None
        self.log_rotation = LogRotation()
        # a master of the cluster unseen for this long is taken for dead (its builds
        # end as RETRY, its claims are released); buildbot.tac may change it
        self.master_expire_seconds = 600
        self.reconfig_active: defer.Deferred[None] | None = None
        self.reconfig_requested = False
        self._heartbeat: task.LoopingCall | None = None
        self._started = False
        self.create_child_services()

    def create_child_services(self) -> None:
        # the order is the start order: the DB first, the consumers of data last
        from buildbot.data import connector as dataconnector

        self.db = dbconnector.DBConnector(self.basedir)
        self.db.setServiceParent(self)
        self.mq = mqconnector.MQConnector()
        self.mq.setServiceParent(self)
        self.data = dataconnector.DataConnector()
        self.data.setServiceParent(self)
        from buildbot.secrets.manager import SecretManager

        # before the services that render secrets (worker and web passwords...)
        self.secrets_manager = SecretManager()
        self.secrets_manager.setServiceParent(self)
        from buildbot.pbmanager import PBManager
        from buildbot.process.botmaster import BotMaster
        from buildbot.worker.manager import WorkerManager

        self.pbmanager = PBManager()
        self.pbmanager.setServiceParent(self)
        self.workers = WorkerManager()
        self.workers.setServiceParent(self)
        self.botmaster = BotMaster()
        self.botmaster.setServiceParent(self)
        from buildbot.www.service import WWWService

        self.www = WWWService()
        self.www.setServiceParent(self)
        self.scheduler_manager = _NamedManager("scheduler_manager", "schedulers")
        self.scheduler_manager.setServiceParent(self)
        self.change_svc = _NamedManager("change_svc", "change_sources")
        self.change_svc.setServiceParent(self)
        self.service_manager = _NamedManager("service_manager", "services")
        self.service_manager.setServiceParent(self)

    # --- start ---------------------------------------------------------------

    @defer.inlineCallbacks
    def startService(self):
        # run only once the reactor runs, so that a failure can stop it
        yield task.deferLater(self.reactor, 0, lambda: None)
        try:
            yield defer.ensureDeferred(self._start())
        except Exception:
            why = failure.Failure()
            yield self._startup_failed(why)
            return
        log.msg(RUNNING)

    async def _start(self) -> None:
        if self.umask is not None:
            os.umask(self.umask)
        log.msg(f"Starting BuildMaster -- buildbot.version: {_version()}")
        log.msg(f"basedir: {self.basedir}")
        try:
            self.config = await threads.deferToThreadPool(
                self.reactor, self.reactor.getThreadPool(), self.config_loader.loadConfig
            )
        except config.ConfigErrors as e:
            raise StartupError(_config_error_text(e)) from None
        try:
            await self.db.setup()
        except migrate.DatabaseNotReadyError as e:
            raise StartupError(f"cannot use the database: {e}") from None
        await self.mq.setup()
        self.masterid = await self.db.masters.findMasterId(name=self.name)
        # the service tree starts with this configuration in place
        await service.AsyncMultiService.startService(self)
        await self.reconfigServiceWithBuildbotConfig(self.config)
        self._install_signal_handlers()
        await self.data.updates.masterActive(name=self.name, masterid=self.masterid)
        self._start_heartbeat()
        self._started = True

    async def _startup_failed(self, why: failure.Failure) -> None:
        if why.check(StartupError):
            log.msg(why.getErrorMessage())
        else:
            log.err(why, "while starting BuildMaster")
        log.msg(STARTUP_FAILED)
        try:
            await service.AsyncMultiService.stopService(self)
        except Exception:
            log.err(None, "while stopping the services of a failed start")
        self._exit_nonzero()
        self.reactor.stop()

    def _exit_nonzero(self) -> None:
        """Make the process exit with status 1 once twistd is done (it has no exit code of
        its own); twistd has removed its pid file by then."""
        atexit.register(os._exit, 1)

    def _install_signal_handlers(self) -> None:
        if not hasattr(signal, "SIGHUP") or not _is_global_reactor(self.reactor):
            return
        signal.signal(signal.SIGHUP, self._on_sighup)
        signal.signal(signal.SIGUSR1, self._on_sigusr1)

    def _on_sighup(self, *_: Any) -> None:
        log.msg("received SIGHUP: reloading the configuration")
        self.reactor.callFromThread(self.reconfig)

    def _on_sigusr1(self, *_: Any) -> None:
        # graceful stop: the build engine waits for running builds (later); for now, stop
        log.msg("received SIGUSR1: stopping cleanly")
        self.reactor.callFromThread(self.reactor.stop)

    # --- heartbeat -------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        loop = task.LoopingCall(self._beat)
        loop.clock = self.reactor
        self._heartbeat = loop
        loop.start(HEARTBEAT_INTERVAL, now=False).addErrback(log.err, "heartbeat stopped")

    @defer.inlineCallbacks
    def _beat(self):
        try:
            yield self.data.updates.masterActive(name=self.name, masterid=self.masterid)
            # masters of the cluster not seen for a while are marked inactive and
            # their claims released
            yield self.data.updates.expireMasters()
        except Exception:
            log.err(None, "during the master's heartbeat")

    # --- reconfig ----------------------------------------------------------------

    def reconfig(self) -> defer.Deferred[None]:
        """Re-read master.cfg and apply it; a second request while one runs is queued."""
        if self.reconfig_active is not None:
            log.msg("reconfig already in progress; another will follow it")
            self.reconfig_requested = True
            return self.reconfig_active
        d = self.reconfig_active = defer.ensureDeferred(self._reconfig())

        def done(_: Any) -> Any:
            self.reconfig_active = None
            if self.reconfig_requested:
                self.reconfig_requested = False
                return self.reconfig()
            return None

        return d.addBoth(done)

    async def _reconfig(self) -> None:
        log.msg(RECONFIG_STARTED)
        try:
            new_config = await threads.deferToThreadPool(
                self.reactor, self.reactor.getThreadPool(), self.config_loader.loadConfig
            )
        except config.ConfigErrors as e:
            log.msg(_config_error_text(e))
            log.msg(RECONFIG_FAILED)
            log.msg(RECONFIG_ABORTED)
            return
        except Exception:
            log.err(None, "while reading the new configuration")
            log.msg(RECONFIG_FAILED)
            log.msg(RECONFIG_ABORTED)
            return
        try:
            await self.reconfigServiceWithBuildbotConfig(new_config)
        except Exception:
            log.err(None, "while applying the new configuration")
            log.msg(RECONFIG_FAILED)
            return
        log.msg(RECONFIG_COMPLETE)

    @defer.inlineCallbacks
    def reconfigServiceWithBuildbotConfig(self, new_config):
        old = self.config
        if old.db.get("db_url") != new_config.db.get("db_url") and self._started:
            log.msg("the database URL cannot change while the master runs; restart to use it")
        self.config = new_config
        yield service.ReconfigurableServiceMixin.reconfigServiceWithBuildbotConfig(self, new_config)

    # --- stop ----------------------------------------------------------------------

    @defer.inlineCallbacks
    def stopService(self):
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        self._heartbeat = None
        core = (self.db, self.mq, self.data)
        if self.running:
            # everything but the core first, in reverse order, while the core still
            # records what they do as they stop
            for child in reversed(list(self.services)):
                if child not in core and child.running:
                    try:
                        yield defer.maybeDeferred(child.stopService)
                    except Exception:
                        log.err(None, f"while stopping {child.name!r}")
        if self._started:
            self._started = False
            try:
                yield self.data.updates.masterStopped(name=self.name, masterid=self.masterid)
            except Exception:
                log.err(None, "while marking the master stopped")
        if self.running:
            yield service.AsyncMultiService.stopService(self)
        log.msg("BuildMaster is stopped")


class StartupError(Exception):
    """The master cannot start; the message says why."""


def _config_error_text(e: config.ConfigErrors) -> str:
    return "Configuration Errors:\n" + "\n".join(f"  {m}" for m in e.errors)


def _is_global_reactor(reactor: Any) -> bool:
    from twisted.internet import reactor as global_reactor

    return reactor is global_reactor


def _version() -> str:
    import buildbot

    return buildbot.version
