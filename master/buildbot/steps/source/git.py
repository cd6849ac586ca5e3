"""The Git steps: `Git` (check out), `GitPush`, `GitTag` and `GitCommit`.

Everything runs as `git` shell commands on the worker, plus the worker's file
commands (listdir, stat, mkdir, rmdir, cpdir, downloadFile) around them. An ssh
key or http credentials are written, for the duration of the step only, to a
private directory next to the work tree (`.<workdir>.buildbot`), and given to
git through `-c` options (or the environment for older git).
"""

from __future__ import annotations

from typing import Any

from buildbot import config
from buildbot.process import buildstep
from buildbot.process.results import FAILURE, SUCCESS
from buildbot.steps.source.base import Source, _is_renderable
from buildbot.util import bytes2unicode
from buildbot.util import git as gitutil

RC_SUCCESS = gitutil.RC_SUCCESS
_CREDENTIALS_FILENAME = "git-credentials"
# git commands that talk to a remote, so need the ssh key or credentials
_REMOTE_COMMANDS = ("clone", "fetch", "submodule", "push", "ls-remote", "pull")


class GitStepMixin:
    """What all the Git steps share: feature detection, auth files, `_dovccmd`.

    The including step has `config`, `env`, `timeout`, `logEnviron`, `repourl`,
    the ssh options, `auth_credentials` and `git_credentials`, and the
    `runShell`/`runRemote` helpers of `Source` (or the same methods)."""

    features = gitutil.GitFeatures((0,))
    _auth_dir: str | None = None

    def _check_git_config(self: Any, owner: str) -> None:
        gitutil.check_ssh_config(owner, self.sshPrivateKey, self.sshHostKey, self.sshKnownHosts)
        gitutil.check_auth_config(owner, self.auth_credentials, self.git_credentials)
        cfg = self.config
        if cfg is not None and not _is_renderable(cfg) and not isinstance(cfg, dict):
            config.error(f"{owner}: config must be a dict: {cfg!r}")

    async def checkFeatureSupport(self: Any) -> gitutil.GitFeatures:
        """Ask the worker's git for its version; fails the step with a setup
        error when there is no git."""
        cmd = await self.runShell(["git", "--version"], abandonOnFailure=False, collectStdout=True)
        if cmd.didFail():
            raise buildstep.WorkerSetupError("git is not installed on worker")
        try:
            self.features = gitutil.GitFeatures(gitutil.parse_git_version(cmd.stdout))
        except ValueError as e:
            raise buildstep.WorkerSetupError(str(e)) from e
        return self.features

    # --- auth files -----------------------------------------------------------------

    def _needs_auth_files(self: Any) -> bool:
        return bool(self.sshPrivateKey or self.auth_credentials or self.git_credentials)

    def _auth_data_dir(self: Any) -> str:
        """`.<workdir>.buildbot` beside the work tree (not in it: clone wants an
        empty directory), absolute when the worker told us its directories."""
        pm = self.build.path_module
        workdir = str(self.workdir).rstrip("/\\")
        name = f".{pm.basename(workdir)}.buildbot"
        parent = pm.dirname(workdir)
        if pm.isabs(workdir):
            return pm.join(parent, name)
        builddir = self.getProperty("builddir")
        if builddir:
            return pm.join(builddir, parent, name)
        return pm.join(parent, name)

    def _auth_path(self: Any, filename: str) -> str:
        return self.build.path_module.join(self._auth_dir, filename)

    def _download_dir(self: Any) -> str:
        # downloads resolve relative destinations against their workdir
        return self.workdir if self.build.path_module.isabs(self._auth_dir) else "."

    async def _download_auth_files(self: Any) -> None:
        if not self._needs_auth_files():
            return
        self._auth_dir = self._auth_data_dir()
        await self.runMkdir(self._auth_dir)
        workdir = self._download_dir()
        if self.sshPrivateKey:
            key = self.sshPrivateKey
            if not key.endswith("\n"):
                key += "\n"
            await self.downloadFileContentToWorker(
                self._auth_path(gitutil.SSH_KEY_FILENAME),
                key,
                abandonOnFailure=True,
                mode=0o400,
                workdir=workdir,
            )
            known_hosts = None
            if self.sshHostKey:
                known_hosts = gitutil.known_hosts_contents(self.sshHostKey)
            elif self.sshKnownHosts:
                known_hosts = self.sshKnownHosts
            if known_hosts is not None:
                await self.downloadFileContentToWorker(
                    self._auth_path(gitutil.SSH_KNOWN_HOSTS_FILENAME),
                    known_hosts,
                    abandonOnFailure=True,
                    mode=0o400,
                    workdir=workdir,
                )
            if not self.features.ssh_command_env:
                key_path, hosts_path = self._ssh_paths()
                await self.downloadFileContentToWorker(
                    self._auth_path(gitutil.SSH_WRAPPER_FILENAME),
                    gitutil.ssh_wrapper_script(key_path, hosts_path),
                    abandonOnFailure=True,
                    mode=0o700,
                    workdir=workdir,
                )
        for description in self._credential_descriptions():
            store = gitutil.credential_store_args(self._auth_path(_CREDENTIALS_FILENAME))
            await self.runShell(
                ["git", *store, "credential", "approve"], initialStdin=description + "\n"
            )

    def _credential_descriptions(self: Any) -> list[str]:
        if self.auth_credentials:
            user, password = self.auth_credentials
            return [gitutil.credential_description(self.repourl, user, password)]
        if self.git_credentials:
            return [str(c).rstrip("\n") + "\n" for c in self.git_credentials.credentials]
        return []

    async def _remove_auth_files(self: Any) -> None:
        if self._auth_dir is not None:
            await self.runRmdir(self._auth_dir, abandonOnFailure=False)
            self._auth_dir = None

    def _ssh_paths(self: Any) -> tuple[str, str | None]:
        hosts = None
        if self.sshHostKey or self.sshKnownHosts:
            hosts = self._auth_path(gitutil.SSH_KNOWN_HOSTS_FILENAME)
        return self._auth_path(gitutil.SSH_KEY_FILENAME), hosts

    def _auth_args_and_env(self: Any, command: list[str]) -> tuple[list[str], dict[str, str]]:
        if self._auth_dir is None or not command or command[0] not in _REMOTE_COMMANDS:
            return [], {}
        args: list[str] = []
        env: dict[str, str] = {}
        if self.sshPrivateKey:
            key_path, hosts_path = self._ssh_paths()
            args += gitutil.ssh_config_args(self.features, key_path, hosts_path)
            wrapper = self._auth_path(gitutil.SSH_WRAPPER_FILENAME)
            env.update(gitutil.ssh_env(self.features, key_path, hosts_path, wrapper))
        if self.auth_credentials or self.git_credentials:
            use_http_path = getattr(self.git_credentials, "use_http_path", None)
            store = self._auth_path(_CREDENTIALS_FILENAME)
            args += gitutil.credential_store_args(store, use_http_path)
        return args, env

    def _git_command(self: Any, command: list[str]) -> tuple[list[str], dict[str, str]]:
        full = ["git"]
        for name, value in (self.config or {}).items():
            full += ["-c", f"{name}={value}"]
        auth_args, env = self._auth_args_and_env(command)
        return [*full, *auth_args, *command], env

    async def _dovccmd(
        self: Any,
        command: list[str],
        abandonOnFailure: bool = True,
        collectStdout: bool = False,
        initialStdin: str | None = None,
    ) -> Any:
        """Run `git <command>`; the output (collectStdout) or the exit code."""
        full, env = self._git_command(command)
        cmd = await self.runShell(
            full,
            abandonOnFailure=abandonOnFailure,
            collectStdout=collectStdout,
            initialStdin=initialStdin,
            env=env,
        )
        if collectStdout:
            return cmd.stdout
        return cmd.rc


class Git(GitStepMixin, Source):
    """Clone or update a Git repository and check out the build's revision."""

    name = "git"
    renderables = [
        "repourl",
        "reference",
        "branch",
        "codebase",
        "mode",
        "method",
        "origin",
        "shallow",
        "config",
        "sshPrivateKey",
        "sshHostKey",
        "sshKnownHosts",
        "auth_credentials",
        "git_credentials",
        "filters",
    ]

    def __init__(
        self,
        repourl: Any = None,
        port: int = 22,
        branch: Any = "HEAD",
        mode: Any = "incremental",
        method: Any = None,
        reference: Any = None,
        submodules: bool = False,
        remoteSubmodules: bool = False,
        tags: bool = False,
        shallow: Any = False,
        filters: Any = None,
        progress: bool = True,
        retryFetch: bool = False,
        clobberOnFailure: bool = False,
        getDescription: Any = False,
        config: Any = None,
        origin: Any = None,
        sshPrivateKey: Any = None,
        sshHostKey: Any = None,
        sshKnownHosts: Any = None,
        auth_credentials: Any = None,
        git_credentials: Any = None,
        **kwargs: Any,
    ) -> None:
        self.repourl = repourl
        self.port = port
        self.branch = branch
        self.method = method
        self.reference = reference
        self.submodules = submodules
        self.remoteSubmodules = remoteSubmodules
        self.tags = tags
        self.shallow = shallow
        self.filters = filters
        self.prog = progress
        self.retryFetch = retryFetch
        self.clobberOnFailure = clobberOnFailure
        self.getDescription = getDescription
        self.config = config
        self.origin = origin
        self.sshPrivateKey = sshPrivateKey
        self.sshHostKey = sshHostKey
        self.sshKnownHosts = sshKnownHosts
        self.auth_credentials = auth_credentials
        self.git_credentials = git_credentials
        self.srcdir = "source"
        self.revision: Any = None
        super().__init__(mode=mode, **kwargs)
        self._check_config_git()

    def _check_config_git(self) -> None:
        self._check_git_config("Git")
        if self.repourl is None:
            config.error("Git: must provide repourl.")
        mode, method = self.mode, self.method
        if not _is_renderable(mode) and mode not in ("incremental", "full"):
            config.error(f"Git: mode must be 'incremental' or 'full', not {mode!r}")
        if (
            mode == "full"
            and not _is_renderable(method)
            and method not in ("clean", "fresh", "clobber", "copy", None)
        ):
            config.error(f"Git: invalid method for mode == full: {method!r}")
        shallow = self.shallow
        if not _is_renderable(shallow):
            if isinstance(shallow, bool) or shallow is None:
                pass
            elif not isinstance(shallow, int) or shallow < 0:
                config.error(f"Git: shallow must be a bool or a depth: {shallow!r}")
        if (
            shallow
            and method is not None
            and not _is_renderable(method)
            and (mode != "full" or method != "clobber")
        ):
            config.error("Git: in mode 'full' shallow only possible with method 'clobber'.")
        if not isinstance(self.getDescription, bool | dict):
            config.error("Git: getDescription must be a boolean or a dict.")
        filters = self.filters
        if filters is not None and not _is_renderable(filters):
            if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
                config.error("Git: filters must be a list of strings.")
        for name in ("submodules", "remoteSubmodules", "tags", "retryFetch", "clobberOnFailure"):
            value = getattr(self, name)
            if not _is_renderable(value) and not isinstance(value, bool):
                config.error(f"Git: {name} must be a bool: {value!r}")

    def computeSourceRevision(self, changes: list[Any]) -> Any:
        if not changes:
            return None
        last = changes[-1]
        return last.get("revision") if isinstance(last, dict) else last.revision

    # --- the run ----------------------------------------------------------------------

    async def run_vc(self, branch: Any, revision: Any, patch: Any) -> int:
        self.branch = branch or "HEAD"
        self.revision = revision
        self.method = self._method()
        await self.checkFeatureSupport()
        try:
            if await self.sourcedirIsPatched():
                await self._dovccmd(["clean", "-f", "-f", "-d", "-x"])
            await self._download_auth_files()
            if self.mode == "incremental":
                await self.mode_incremental()
            else:
                await self.mode_full()
            if patch:
                await self.patch(patch)
            await self.parseGotRevision()
            await self.parseCommitDescription()
        finally:
            await self._remove_auth_files()
        return SUCCESS

    def _method(self) -> Any:
        if self.mode != "full":
            return None
        return self.method or "fresh"

    async def mode_full(self) -> None:
        if self.method == "clobber":
            await self.clobber()
            return
        if self.method == "copy":
            await self.copy()
            return
        action = await self._sourcedir_is_updatable()
        if action == "clobber":
            await self.clobber()
        elif action == "clone":
            await self._full_clone_or_fallback(self.shallow)
        elif self.method == "clean":
            await self.clean()
        else:
            await self.fresh()

    async def mode_incremental(self) -> None:
        action = await self._sourcedir_is_updatable()
        if action == "clobber":
            await self.clobber()
            return
        if action == "clone":
            await self._full_clone_or_fallback(self.shallow)
            return
        await self._fetch_or_fallback()
        await self._sync_submodule()
        await self._update_submodule()

    async def clean(self) -> None:
        await self._clean_then_update(["clean", "-f", "-f", "-d"])

    async def fresh(self) -> None:
        await self._clean_then_update(["clean", "-f", "-f", "-d", "-x"])

    async def _clean_then_update(self, clean_command: list[str]) -> None:
        await self._dovccmd(clean_command)
        await self._fetch_or_fallback()
        await self._sync_submodule()
        await self._update_submodule()
        await self._clean_submodule()

    async def clobber(self) -> None:
        await self._do_clobber()
        if await self._full_clone(self.shallow) != RC_SUCCESS:
            raise buildstep.BuildStepFailed()

    async def copy(self) -> None:
        await self.runRmdir(self.workdir, abandonOnFailure=False, timeout=self.timeout)
        old_workdir = self.workdir
        self.workdir = self.srcdir
        try:
            await self.mode_incremental()
            args = {
                "fromdir": self.srcdir,
                "todir": old_workdir,
                "logEnviron": self.logEnviron,
                "timeout": self.timeout,
            }
            cmd = await self.runRemote("cpdir", args)
            if cmd.didFail():
                raise buildstep.BuildStepFailed()
        finally:
            self.workdir = old_workdir

    async def _do_clobber(self) -> None:
        await self.runRmdir(self.workdir, timeout=self.timeout)

    async def _sourcedir_is_updatable(self) -> str:
        """'update' for a git work tree, 'clone' for a missing or empty directory,
        'clobber' for a directory holding something else."""
        version = self.workerVersion("listdir")
        if version is None or self.workerVersionIsOlderThan("listdir", "2.16"):
            exists = await self.pathExists(self.build.path_module.join(self.workdir, ".git"))
            return "update" if exists else "clone"
        args = {"dir": self.workdir, "logEnviron": self.logEnviron, "timeout": self.timeout}
        cmd = await self.runRemote("listdir", args)
        if "files" not in cmd.updates:
            return "clone"
        files = cmd.updates["files"][-1]
        if ".git" in files:
            return "update"
        return "clobber" if files else "clone"

    # --- fetch and clone ------------------------------------------------------------------

    def _depth_args(self, shallow: Any) -> list[str]:
        return ["--depth", str(int(shallow))] if shallow else []

    async def _fetch(self, shallow: Any, abandonOnFailure: bool = True) -> int:
        fetch_required = True
        # a revision already present needs no fetch, unless tags are wanted
        if self.revision and not self.tags:
            rc = await self._dovccmd(["cat-file", "-e", self.revision], abandonOnFailure=False)
            fetch_required = rc != RC_SUCCESS
        if fetch_required:
            command = ["fetch", "-f", *self._depth_args(shallow)]
            if self.tags:
                command.append("--tags")
            if self.prog and self.features.progress:
                command.append("--progress")
            command += [self.repourl, self.branch]
            rc = await self._dovccmd(command, abandonOnFailure=abandonOnFailure)
            if rc != RC_SUCCESS:
                return rc
        rev = self.revision or "FETCH_HEAD"
        rc = await self._dovccmd(["checkout", "-f", rev], abandonOnFailure=abandonOnFailure)
        if rc == RC_SUCCESS and self.branch != "HEAD":
            # name the local branch after the remote one; failing that is harmless
            await self._dovccmd(["checkout", "-B", self.branch], abandonOnFailure=False)
        return rc

    async def _fetch_or_fallback(self) -> None:
        fallback = self.retryFetch or self.clobberOnFailure
        rc = await self._fetch(self.shallow, abandonOnFailure=not fallback)
        if rc == RC_SUCCESS:
            return
        if self.retryFetch:
            await self._fetch(self.shallow)
        elif self.clobberOnFailure:
            await self.clobber()
        else:
            raise buildstep.BuildStepFailed()

    async def _clone(self, shallow: Any) -> int:
        command = ["clone"]
        switch_to_branch = False
        if self.branch != "HEAD":
            if self.branch.startswith("refs/") or not self.features.clone_branch:
                # `clone --branch` takes only branch and tag names
                command.append("--no-checkout")
                switch_to_branch = True
            else:
                command += ["--branch", self.branch]
        command += self._depth_args(shallow)
        if self.reference:
            command += ["--reference", self.reference]
        if self.origin:
            command += ["--origin", self.origin]
        if self.filters and self.features.filters:
            for f in self.filters:
                command += ["--filter", f]
        command += [self.repourl, "."]
        if self.prog and self.features.progress:
            command.append("--progress")
        retries_left = self.retry[1] if self.retry else 0
        # a failed shallow clone ends the step (a full one may still be retried)
        abandon = retries_left <= 0 and bool(shallow)
        rc = await self._dovccmd(command, abandonOnFailure=abandon)
        if switch_to_branch and rc == RC_SUCCESS:
            rc = await self._fetch(shallow)
        if rc != RC_SUCCESS and not self.stopped and retries_left > 0:
            delay, repeats = self.retry
            self.retry = (delay, repeats - 1)
            await self.sleep(delay)
            await self._do_clobber()
            return await self._clone(shallow)
        return rc

    async def _full_clone(self, shallow: Any = False) -> int:
        rc = await self._clone(shallow)
        if rc != RC_SUCCESS:
            return rc
        abandon = bool(shallow)
        if self.revision:
            rc = await self._dovccmd(["checkout", "-f", self.revision], abandonOnFailure=abandon)
            if rc != RC_SUCCESS:
                return rc
        if self.submodules:
            command = ["submodule", "update", "--init", "--recursive"]
            if self.remoteSubmodules:
                command.append("--remote")
            command += self._depth_args(shallow)
            rc = await self._dovccmd(command, abandonOnFailure=abandon)
        return rc

    async def _full_clone_or_fallback(self, shallow: Any) -> None:
        if await self._full_clone(shallow) == RC_SUCCESS:
            return
        if not self.clobberOnFailure:
            raise buildstep.BuildStepFailed()
        await self.clobber()

    # --- submodules -----------------------------------------------------------------------

    async def _sync_submodule(self) -> None:
        if self.submodules:
            await self._dovccmd(["submodule", "sync"])

    async def _update_submodule(self) -> None:
        if not self.submodules:
            return
        command = ["submodule", "update", "--init", "--recursive"]
        if self.features.submodule_force:
            command.append("--force")
        if self.features.submodule_checkout:
            command.append("--checkout")
        if self.remoteSubmodules:
            command.append("--remote")
        await self._dovccmd(command)

    async def _clean_submodule(self) -> None:
        if not self.submodules:
            return
        subcommand = "git clean -f -f -d"
        if self.method == "fresh":
            subcommand += " -x"
        await self._dovccmd(["submodule", "foreach", "--recursive", subcommand])

    # --- results ----------------------------------------------------------------------

    async def parseGotRevision(self) -> str:
        stdout = await self._dovccmd(["rev-parse", "HEAD"], collectStdout=True)
        revision = stdout.strip()
        if not gitutil.is_sha(revision):
            raise buildstep.BuildStepFailed()
        self.updateSourceProperty("got_revision", revision)
        return revision

    async def parseCommitDescription(self) -> None:
        args = gitutil.describe_args(self.getDescription)
        if args is None:
            return
        full, env = self._git_command(args)
        cmd = await self.runShell(full, abandonOnFailure=False, collectStdout=True, env=env)
        # a repository without tags has no description: not an error
        if not cmd.didFail():
            self.updateSourceProperty("commit-description", cmd.stdout.strip())

    async def applyPatch(self, patch: Any) -> None:
        await self._dovccmd(["update-index", "-q", "--refresh"], abandonOnFailure=False)
        await self._dovccmd(["apply", "--index", f"-p{patch[0]}", ".buildbot-diff"])


class _GitStep(GitStepMixin, Source):
    """Base of the steps acting on an existing work tree (push, tag, commit): a
    Source for its command helpers, but not reading the sourcestamp."""

    repourl: Any = None
    sshPrivateKey: Any = None
    sshHostKey: Any = None
    sshKnownHosts: Any = None
    auth_credentials: Any = None
    git_credentials: Any = None

    def __init__(
        self,
        workdir: Any = None,
        env: Any = None,
        timeout: Any = 20 * 60,
        logEnviron: Any = True,
        config: Any = None,
        **kwargs: Any,
    ) -> None:
        self.config = config
        super().__init__(
            workdir=workdir,
            env=env,
            timeout=timeout,
            logEnviron=logEnviron,
            description=kwargs.pop("description", None) or [self.name],
            descriptionDone=kwargs.pop("descriptionDone", None) or [self.name],
            **kwargs,
        )
        if workdir is None:
            config_error(self, "workdir must be specified")
        self._check_git_config(type(self).__name__)

    async def run(self) -> int:
        self.addLogForRemoteCommands("stdio")
        self.stdio_log = await self.addLog("stdio")
        await self.checkFeatureSupport()
        try:
            await self._download_auth_files()
            return await self.run_git()
        finally:
            await self._remove_auth_files()

    async def run_git(self) -> int:
        raise NotImplementedError


def config_error(step: Any, message: str) -> None:
    config.error(f"{type(step).__name__}: {message}")


class GitPush(_GitStep):
    """Push a local branch of the work tree to `repourl`."""

    name = "gitpush"
    renderables = [
        "repourl",
        "branch",
        "force",
        "config",
        "sshPrivateKey",
        "sshHostKey",
        "sshKnownHosts",
        "auth_credentials",
        "git_credentials",
    ]

    def __init__(
        self,
        workdir: Any = None,
        repourl: Any = None,
        branch: Any = None,
        force: Any = False,
        sshPrivateKey: Any = None,
        sshHostKey: Any = None,
        sshKnownHosts: Any = None,
        auth_credentials: Any = None,
        git_credentials: Any = None,
        **kwargs: Any,
    ) -> None:
        self.repourl = repourl
        self.branch = branch
        self.force = force
        self.sshPrivateKey = sshPrivateKey
        self.sshHostKey = sshHostKey
        self.sshKnownHosts = sshKnownHosts
        self.auth_credentials = auth_credentials
        self.git_credentials = git_credentials
        super().__init__(workdir=workdir, **kwargs)
        if not self.branch:
            config_error(self, "must provide branch")
        if not self.repourl:
            config_error(self, "must provide repourl")

    async def run_git(self) -> int:
        command = ["push", self.repourl, self.branch]
        if self.force:
            command.append("--force")
        rc = await self._dovccmd(command, abandonOnFailure=False)
        return SUCCESS if rc == RC_SUCCESS else FAILURE


class GitTag(_GitStep):
    """Create a (lightweight or annotated) tag in the work tree's repository."""

    name = "gittag"
    renderables = ["tagName", "messages", "annotated", "force", "config"]

    def __init__(
        self,
        workdir: Any = None,
        tagName: Any = None,
        annotated: Any = False,
        messages: Any = None,
        force: Any = False,
        **kwargs: Any,
    ) -> None:
        self.tagName = tagName
        self.annotated = annotated
        self.messages = messages
        self.force = force
        super().__init__(workdir=workdir, **kwargs)
        if not tagName:
            config_error(self, "tagName must be specified")
        if not _is_renderable(messages):
            if messages is not None and not isinstance(messages, list):
                config_error(self, "messages must be a list")
            if annotated and not messages:
                config_error(self, "annotated tags need messages")
            if messages and not annotated and not _is_renderable(annotated):
                config_error(self, "messages are only used with annotated tags")

    async def run_git(self) -> int:
        command = ["tag"]
        if self.annotated:
            command.append("-a")
        for message in self.messages or []:
            command += ["-m", message]
        if self.force:
            command.append("--force")
        command += ["--", self.tagName]
        rc = await self._dovccmd(command, abandonOnFailure=False)
        return SUCCESS if rc == RC_SUCCESS else FAILURE


_EMPTY_COMMITS = ("disallow", "create-empty-commit", "ignore")


class GitCommit(_GitStep):
    """Add `paths` to the index and commit them with `messages`."""

    name = "gitcommit"
    renderables = ["paths", "messages", "emptyCommits", "no_verify", "config"]

    def __init__(
        self,
        workdir: Any = None,
        messages: Any = None,
        paths: Any = None,
        emptyCommits: Any = "disallow",
        no_verify: Any = False,
        **kwargs: Any,
    ) -> None:
        self.messages = messages
        self.paths = paths
        self.emptyCommits = emptyCommits
        self.no_verify = no_verify
        super().__init__(workdir=workdir, **kwargs)
        if not _is_renderable(messages) and not (isinstance(messages, list) and messages):
            config_error(self, "messages must be a non-empty list")
        if not _is_renderable(paths) and not (isinstance(paths, list) and paths):
            config_error(self, "paths must be a non-empty list")
        if not _is_renderable(emptyCommits) and emptyCommits not in _EMPTY_COMMITS:
            config_error(self, f"emptyCommits must be one of {', '.join(_EMPTY_COMMITS)}")

    async def run_git(self) -> int:
        # committing on a detached HEAD would leave the commit on no branch
        rc = await self._dovccmd(["symbolic-ref", "HEAD"], abandonOnFailure=False)
        if rc != RC_SUCCESS:
            await self.stdio_log.addStderr("You are in detached HEAD\n")
            return FAILURE
        await self._dovccmd(["add", "--", *self.paths])
        if self.emptyCommits == "ignore":
            status = await self._dovccmd(["status", "--porcelain=v1"], collectStdout=True)
            if not any(line[:1] not in (" ", "?") for line in status.splitlines() if line):
                await self.stdio_log.addStdout("Nothing to commit\n")
                return SUCCESS
        command = ["commit"]
        for message in self.messages:
            command += ["-m", bytes2unicode(message)]
        if self.emptyCommits == "create-empty-commit":
            command.append("--allow-empty")
        if self.no_verify:
            command.append("--no-verify")
        rc = await self._dovccmd(command, abandonOnFailure=False)
        return SUCCESS if rc == RC_SUCCESS else FAILURE
