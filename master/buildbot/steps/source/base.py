"""`Source`: the base of the steps that check out a codebase on the worker.

A source step reads what to build from the build's sourcestamp for its
codebase (branch, revision, patch), lets the VCS subclass bring the work tree
there (`run_vc`), then applies the sourcestamp's patch, if any, and reports
what it got through `updateSourceProperty('got_revision', ...)`.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, task

from buildbot import config
from buildbot.process import buildstep, remotecommand
from buildbot.process.properties import Interpolate
from buildbot.process.results import FAILURE
from buildbot.steps.worker import CompositeStepMixin
from buildbot.util import bytes2unicode

#: marker file left in a work tree that a patch was applied to
PATCHED_MARKER = ".buildbot-patched"
#: where the patch is written before it is applied
PATCH_FILE = ".buildbot-diff"

_DESCRIPTIONS = {"clobber": "checkout", "export": "exporting"}
_DESCRIPTIONS_DONE = {"clobber": "checkout", "export": "export"}


def _is_renderable(value: Any) -> bool:
    from buildbot.interfaces import IRenderable

    return IRenderable.providedBy(value)


class Source(CompositeStepMixin, buildstep.BuildStep):
    """Checks out a codebase; subclasses implement `run_vc(branch, revision, patch)`."""

    name = "source"
    haltOnFailure = True
    flunkOnFailure = True
    #: the branch used when the sourcestamp names none (VCS steps set it)
    branch: Any = None
    renderables = ["workdir", "env", "timeout", "retry", "alwaysUseLatest", "logEnviron"]

    def __init__(
        self,
        workdir: Any = None,
        mode: Any = "update",
        alwaysUseLatest: Any = False,
        timeout: Any = 20 * 60,
        retry: Any = None,
        env: Any = None,
        logEnviron: Any = True,
        description: Any = None,
        descriptionDone: Any = None,
        descriptionSuffix: Any = None,
        codebase: str = "",
        **kwargs: Any,
    ) -> None:
        mode_key = mode if isinstance(mode, str) else None
        if not description:
            description = [_DESCRIPTIONS.get(mode_key, "updating")]
        if not descriptionDone:
            descriptionDone = [_DESCRIPTIONS_DONE.get(mode_key, "update")]
        if not descriptionSuffix and codebase:
            descriptionSuffix = [codebase]
        super().__init__(
            description=description,
            descriptionDone=descriptionDone,
            descriptionSuffix=descriptionSuffix,
            **kwargs,
        )
        self.workdir = workdir
        self.mode = mode
        self.alwaysUseLatest = alwaysUseLatest
        self.timeout = timeout
        self.retry = retry
        self.env = env
        self.logEnviron = logEnviron
        self.codebase = codebase
        self.sourcestamp: Any = None
        self.stdio_log: Any = None
        if codebase:
            self.name = Interpolate(
                "%(kw:name)s-%(kw:codebase)s", name=self.name, codebase=codebase
            )
        self._check_source_config()

    def _check_source_config(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.codebase, str):
            config.error(f"{owner}: codebase must be a string: {self.codebase!r}")
        retry = self.retry
        if retry is not None and not _is_renderable(retry):
            if not (
                isinstance(retry, tuple | list)
                and len(retry) == 2
                and all(isinstance(v, int | float) for v in retry)
            ):
                config.error(f"{owner}: retry must be a (delay, repeats) pair: {retry!r}")
        timeout = self.timeout
        if timeout is not None and not _is_renderable(timeout):
            if not isinstance(timeout, int | float):
                config.error(f"{owner}: timeout must be a number: {timeout!r}")
        env = self.env
        if env is not None and not _is_renderable(env) and not isinstance(env, dict):
            config.error(f"{owner}: env must be a dict: {env!r}")

    # --- what to check out ------------------------------------------------------------

    def computeSourceRevision(self, changes: list[Any]) -> Any:
        """The revision to build when the sourcestamp names none but has changes;
        None means the latest."""
        return None

    def updateSourceProperty(self, name: str, value: Any, source: str = "") -> None:
        """Set a build property; with a codebase, the property is a dict keyed by
        codebase, shared by all the source steps of the build."""
        source = source or type(self).__name__
        if self.codebase:
            current = self.getProperty(name, None)
            merged = dict(current) if isinstance(current, dict) else {}
            merged[self.codebase] = value
            self.setProperty(name, merged, source)
        else:
            self.setProperty(name, value, source)

    async def run(self) -> int:
        self.addLogForRemoteCommands("stdio")
        self.stdio_log = await self.addLog("stdio")
        ss = self.build.getSourceStamp(self.codebase)
        self.sourcestamp = ss
        branch: Any = None
        revision: Any = None
        patch: Any = None
        if ss is not None:
            branch = ss.branch or self.branch
            revision = ss.revision
            if not revision:
                revision = self.computeSourceRevision(getattr(ss, "changes", None) or [])
                if revision is not None:
                    self.updateSourceProperty("revision", str(revision))
            patch = getattr(ss, "patch", None)
            if patch:
                await self.addCompleteLog("patch", bytes2unicode(patch[1], errors="replace"))
        elif not self.alwaysUseLatest:
            msg = f"No sourcestamp found in build for codebase '{self.codebase}'"
            self.descriptionDone = [f"Codebase {self.codebase} not in build"]
            await self.addCompleteLog("log", msg)
            return FAILURE
        if self.alwaysUseLatest:
            branch, revision = self.branch, None
        return await self.run_vc(branch, revision, patch)

    def run_vc(self, branch: Any, revision: Any, patch: Any) -> Any:
        raise NotImplementedError

    # --- running commands -------------------------------------------------------------

    async def _command_env(self, extra: dict[str, str] | None = None) -> dict[str, Any]:
        env = dict(await self.render(getattr(self.build, "env", None) or {}))
        env.update(self.env or {})
        env.update(extra or {})
        return env

    async def runShell(
        self,
        command: list[str],
        abandonOnFailure: bool = True,
        collectStdout: bool = False,
        initialStdin: str | None = None,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
    ) -> Any:
        """Run `command` in the work tree with the step's environment, logging to
        stdio; fails the step (BuildStepFailed) when it fails and
        `abandonOnFailure`. Returns the finished command."""
        sigtermTime = None
        interruptSignal = None
        # git (and friends) leave lock files behind when killed outright: ask
        # them to stop first where the worker allows it
        version = self.workerVersion("shell")
        if version is None or not remotecommand._older(version, "2.16"):
            sigtermTime = 1
        elif not remotecommand._older(version, "2.15"):
            interruptSignal = "TERM"
        cmd = remotecommand.RemoteShellCommand(
            workdir if workdir is not None else self.workdir,
            command,
            env=await self._command_env(env),
            logEnviron=self.logEnviron,
            timeout=self.timeout,
            sigtermTime=sigtermTime,
            interruptSignal=interruptSignal,
            collectStdout=collectStdout,
            initialStdin=initialStdin,
        )
        cmd.useLog(self.stdio_log, False)
        await self.runCommand(cmd)
        if abandonOnFailure and cmd.didFail():
            raise buildstep.BuildStepFailed()
        return cmd

    async def runRemote(self, name: str, args: dict[str, Any]) -> Any:
        """Run one worker command logging to stdio; returns it, failed or not."""
        cmd = remotecommand.RemoteCommand(name, args)
        cmd.useLog(self.stdio_log, False)
        await self.runCommand(cmd)
        return cmd

    def sleep(self, delay: float) -> defer.Deferred[None]:
        return task.deferLater(self.master.reactor, delay, lambda: None)

    # --- patches ----------------------------------------------------------------------

    def sourcedirIsPatched(self) -> Any:
        return self.pathExists(self.build.path_module.join(self.workdir, PATCHED_MARKER))

    async def patch(self, patch: Any) -> None:
        """Apply a sourcestamp's (level, body[, subdir]) patch to the work tree."""
        pm = self.build.path_module
        root = patch[2] if len(patch) >= 3 else None
        old_workdir = self.workdir
        if root:
            inside = pm.normpath(pm.join(self.workdir, root))
            base = pm.normpath(self.workdir)
            if inside == base or inside.startswith(base + pm.sep):
                self.workdir = inside
        try:
            await self.downloadFileContentToWorker(
                PATCH_FILE, patch[1], abandonOnFailure=True, workdir=self.workdir
            )
            await self.downloadFileContentToWorker(
                PATCHED_MARKER, "patched\n", abandonOnFailure=True, workdir=self.workdir
            )
            await self.applyPatch(patch)
            diff_path = pm.join(self.workdir, PATCH_FILE)
            if self.workerVersion("rmfile"):
                cmd = await self.runRemote("rmfile", {"path": diff_path})
            else:
                cmd = await self.runRemote("rmdir", {"dir": diff_path})
            if cmd.didFail():
                raise buildstep.BuildStepFailed()
        finally:
            self.workdir = old_workdir

    async def applyPatch(self, patch: Any) -> None:
        """Apply the downloaded patch file; VCS steps apply it with their tool."""
        command = ["patch", f"-p{patch[0]}", "--remove-empty-files", "--force", "--forward"]
        await self.runShell([*command, "-i", PATCH_FILE])
