"""`changes.GitPoller`: turns the commits pushed to a remote git repository into changes.

The poller keeps a bare mirror in its `workdir`. Each poll lists the remote refs it
tracks (`git ls-remote`), fetches them into refs of its own
(``refs/buildbot/<repourl>/heads/<branch>``), and reports the commits reachable from
each new head and from no head seen before, oldest first (when no head at all was
seen before, as for the first tag of a tags poller, only the new head). The first
poll only records where the refs are. The heads seen last are kept in the DB
(state ``lastRev``, keyed by full ref name) and saved only once their changes are
added, so that a restart neither loses nor repeats a change.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from twisted.internet import defer, error, protocol
from twisted.python import log

from buildbot import config
from buildbot.changes import base
from buildbot.util import git as gitutil
from buildbot.util.state import StateMixin

# a commit of `git log` output (see _COMMIT_FORMAT) starts with this byte
_RECORD_MARK = b"\x01"
_COMMIT_FORMAT = "%x01%H%x00%ct%x00%aN <%aE>%x00%cN <%cE>%x00%s%n%b%x00"


class GitError(Exception):
    """A git command failed; the message carries git's stderr."""

    def __init__(self, command: str, rc: int | None, stderr: str) -> None:
        self.command = command
        self.rc = rc
        self.stderr = stderr
        how = f"exit code {rc}" if rc is not None else "no exit code"
        super().__init__(f"git {command} failed with {how}: {stderr.strip()}")


class _GitProcess(protocol.ProcessProtocol):
    def __init__(self, stdin: bytes | None) -> None:
        self.stdin = stdin
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.done: defer.Deferred[tuple[bytes, bytes, int | None]] = defer.Deferred()

    def connectionMade(self) -> None:
        if self.stdin:
            self.transport.write(self.stdin)
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        self.out.append(data)

    def errReceived(self, data: bytes) -> None:
        self.err.append(data)

    def processEnded(self, reason: Any) -> None:
        rc = reason.value.exitCode if isinstance(reason.value, error.ProcessTerminated) else 0
        self.done.callback((b"".join(self.out), b"".join(self.err), rc))


def _process_reactor(reactor: Any) -> Any:
    # the master's reactor is a task.Clock in unit tests; processes need a real one
    if reactor is not None and hasattr(reactor, "spawnProcess"):
        return reactor
    from twisted.internet import reactor as global_reactor

    return global_reactor


def _short_branch(ref: str) -> str:
    """The branch name a change carries: 'main' for refs/heads/main; other refs
    (tags: 'refs/tags/v1') keep their full name."""
    return ref[len("refs/heads/") :] if ref.startswith("refs/heads/") else ref


def parse_log_records(output: bytes, encoding: str) -> list[dict[str, Any]]:
    """The commits of `git log -z --name-only --format=<_COMMIT_FORMAT>` output.

    Fields are NUL-separated: the mark and sha, the commit time, author,
    committer and message, then the names of the changed files. Fields are taken
    by position, so a message may contain anything (git forbids only NUL).
    """

    def text(raw: bytes) -> str:
        return raw.decode(encoding, errors="replace")

    fields = output.split(b"\0")
    commits: list[dict[str, Any]] = []
    i = 0
    while i < len(fields):
        head = fields[i]
        if not head.startswith(_RECORD_MARK):
            i += 1
            continue
        ctime, author, committer, message = fields[i + 1 : i + 5]
        i += 5
        files: list[str] = []
        while i < len(fields) and not _is_record_start(fields[i]):
            name = fields[i].lstrip(b"\n")
            if name:
                files.append(text(name))
            i += 1
        commits.append(
            {
                "revision": text(head[1:]),
                "timestamp": int(ctime),
                "author": text(author),
                "committer": text(committer),
                "comments": text(message).strip(),
                "files": files,
            }
        )
    return commits


def _is_record_start(field: bytes) -> bool:
    return field.startswith(_RECORD_MARK) and gitutil.is_sha(field[1:].decode("ascii", "replace"))


class GitPoller(base.ReconfigurablePollingChangeSource, StateMixin):
    """Polls a git repository for new commits on some of its branches or tags."""

    # until configured (reconfigService sets them all)
    repourl = ""
    branches: Any = None
    only_tags = False

    def __init__(
        self,
        repourl: str,
        *,
        branches: list[str] | bool | Callable[[str], bool] | None = None,
        branch: str | None = None,
        workdir: str | None = None,
        pollInterval: float = 600,
        gitbin: str = "git",
        usetimestamps: bool = True,
        category: str | Callable[[dict[str, Any]], str] | None = None,
        codebase: Any = None,
        project: str | None = None,
        fetch_refspec: Any = None,
        encoding: str = "utf-8",
        name: str | None = None,
        pollAtLaunch: bool = False,
        buildPushesWithNoCommits: bool = False,
        only_tags: bool = False,
        sshPrivateKey: str | None = None,
        sshHostKey: str | None = None,
        sshKnownHosts: str | None = None,
        pollRandomDelayMin: float = 0,
        pollRandomDelayMax: float = 0,
        auth_credentials: tuple[str, str] | None = None,
        git_credentials: gitutil.GitCredentialOptions | None = None,
    ) -> None:
        self.lastRev: dict[str, str] | None = None
        self._features: gitutil.GitFeatures | None = None
        super().__init__(
            repourl,
            name=name if name is not None else repourl,
            branches=branches,
            branch=branch,
            workdir=workdir,
            pollInterval=pollInterval,
            gitbin=gitbin,
            usetimestamps=usetimestamps,
            category=category,
            codebase=codebase,
            project=project,
            fetch_refspec=fetch_refspec,
            encoding=encoding,
            pollAtLaunch=pollAtLaunch,
            buildPushesWithNoCommits=buildPushesWithNoCommits,
            only_tags=only_tags,
            sshPrivateKey=sshPrivateKey,
            sshHostKey=sshHostKey,
            sshKnownHosts=sshKnownHosts,
            pollRandomDelayMin=pollRandomDelayMin,
            pollRandomDelayMax=pollRandomDelayMax,
            auth_credentials=auth_credentials,
            git_credentials=git_credentials,
        )

    def checkConfig(  # type: ignore[override]
        self,
        repourl: str,
        branches: Any = None,
        branch: str | None = None,
        workdir: str | None = None,
        pollInterval: float = 600,
        gitbin: str = "git",
        usetimestamps: bool = True,
        category: Any = None,
        codebase: Any = None,
        project: str | None = None,
        fetch_refspec: Any = None,
        encoding: str = "utf-8",
        pollAtLaunch: bool = False,
        buildPushesWithNoCommits: bool = False,
        only_tags: bool = False,
        sshPrivateKey: str | None = None,
        sshHostKey: str | None = None,
        sshKnownHosts: str | None = None,
        pollRandomDelayMin: float = 0,
        pollRandomDelayMax: float = 0,
        auth_credentials: Any = None,
        git_credentials: Any = None,
    ) -> None:
        owner = "GitPoller"
        if not isinstance(repourl, str) or not repourl:
            config.error(f"{owner}: repourl must be a non-empty string, not {repourl!r}")
        if fetch_refspec is not None:
            config.error(
                f"{owner}: fetch_refspec is no longer supported; "
                "only the tracked branches (or tags) are fetched"
            )
        if branch is not None and branches is not None:
            config.error(f"{owner}: can't specify both branch and branches")
        if only_tags and (branch is not None or branches is not None):
            config.error(f"{owner}: can't specify only_tags and branch/branches")
        if branch is not None and not isinstance(branch, str):
            config.error(f"{owner}: branch must be a string, not {branch!r}")
        if branches is not None and not (
            branches is True
            or callable(branches)
            or (isinstance(branches, list | tuple) and all(isinstance(b, str) for b in branches))
        ):
            config.error(
                f"{owner}: branches must be a list of branch names, True or a callable, "
                f"not {branches!r}"
            )
        if category is not None and not (isinstance(category, str) or callable(category)):
            config.error(f"{owner}: category must be a string or a callable, not {category!r}")
        if codebase is not None and not isinstance(getattr(codebase, "name", None), str):
            config.error(f"{owner}: codebase must be None or a util.Codebase, not {codebase!r}")
        if project is not None and not isinstance(project, str):
            config.error(f"{owner}: project must be a string, not {project!r}")
        if workdir is not None and not isinstance(workdir, str):
            config.error(f"{owner}: workdir must be a string, not {workdir!r}")
        try:
            "".encode(encoding)
        except (LookupError, TypeError):
            config.error(f"{owner}: unknown encoding {encoding!r}")
        gitutil.check_ssh_config(owner, sshPrivateKey, sshHostKey, sshKnownHosts)
        gitutil.check_auth_config(owner, auth_credentials, git_credentials)
        super().checkConfig(
            pollInterval=pollInterval,
            pollAtLaunch=pollAtLaunch,
            pollRandomDelayMin=pollRandomDelayMin,
            pollRandomDelayMax=pollRandomDelayMax,
        )

    async def reconfigService(  # type: ignore[override]
        self,
        repourl: str,
        branches: Any = None,
        branch: str | None = None,
        workdir: str | None = None,
        pollInterval: float = 600,
        gitbin: str = "git",
        usetimestamps: bool = True,
        category: Any = None,
        codebase: Any = None,
        project: str | None = None,
        fetch_refspec: Any = None,
        encoding: str = "utf-8",
        pollAtLaunch: bool = False,
        buildPushesWithNoCommits: bool = False,
        only_tags: bool = False,
        sshPrivateKey: str | None = None,
        sshHostKey: str | None = None,
        sshKnownHosts: str | None = None,
        pollRandomDelayMin: float = 0,
        pollRandomDelayMax: float = 0,
        auth_credentials: Any = None,
        git_credentials: Any = None,
    ) -> None:
        self.repourl = repourl
        if branch is not None:
            branches = [branch]
        self.branches = list(branches) if isinstance(branches, list | tuple) else branches
        self.only_tags = only_tags
        self.gitbin = gitbin
        self.usetimestamps = usetimestamps
        self.category = category
        self.codebase = codebase
        self.project = project if project is not None else ""
        self.encoding = encoding
        self.buildPushesWithNoCommits = buildPushesWithNoCommits
        self.sshPrivateKey = sshPrivateKey
        self.sshHostKey = sshHostKey
        self.sshKnownHosts = sshKnownHosts
        self.auth_credentials = auth_credentials
        self.git_credentials = git_credentials
        workdir = workdir if workdir is not None else "gitpoller-work"
        self.workdir = os.path.join(self.master.basedir, os.path.expanduser(workdir))
        await super().reconfigService(
            pollInterval=pollInterval,
            pollAtLaunch=pollAtLaunch,
            pollRandomDelayMin=pollRandomDelayMin,
            pollRandomDelayMax=pollRandomDelayMax,
        )

    def describe(self) -> str:
        if self.only_tags:
            what = "tags"
        elif self.branches is None:
            what = "the default branch"
        elif self.branches is True:
            what = "all branches"
        elif callable(self.branches):
            what = "the refs its filter accepts"
        else:
            what = "branches " + ", ".join(self.branches)
        state = "" if self.isActive() else " [STANDBY]"
        return f"GitPoller watching {what} of the remote git repository {self.repourl}{state}"

    # the poll

    async def poll(self) -> None:  # type: ignore[override]
        await self._ensure_mirror()
        remote = await self._remote_refs()
        if remote:
            await self._fetch(sorted(remote))
        revs = await self._local_heads(sorted(remote))
        if self.lastRev is None:
            stored = await self.getState("lastRev", None)
            if stored is None:
                # first run: remember where the refs are (even if there is none yet,
                # so that the first ones to appear are news), report no history
                await self.setState("lastRev", revs)
                self.lastRev = dict(revs)
                return
            # short keys: the branch names a list of branches gave in older states
            self.lastRev = {gitutil.ref_for_branch(k): v for k, v in stored.items()}
        previous = dict(self.lastRev)
        known = sorted(set(previous.values()))
        current = dict(previous)
        for ref in sorted(revs):
            rev = revs[ref]
            if previous.get(ref) == rev:
                continue
            if known:
                new_revs = await self._new_commits(rev, known)
            else:
                # nothing seen before to compare with: the head is the news, not
                # the whole history behind it
                new_revs = [rev]
            if not new_revs and self.buildPushesWithNoCommits:
                # a branch moved to (or created at) a commit already reported
                new_revs = [rev]
            await self._add_changes(ref, new_revs)
            current[ref] = rev
            # saved branch by branch, so that a failure later in this poll
            # does not make the next one report these changes again
            await self.setState("lastRev", current)
            self.lastRev = dict(current)
        if current != revs:
            # branches deleted remotely (or no longer tracked) are forgotten
            await self.setState("lastRev", revs)
        self.lastRev = dict(revs)

    async def _ensure_mirror(self) -> None:
        if not os.path.exists(os.path.join(self.workdir, "objects")):
            log.msg(f"{self.name}: creating the mirror repository {self.workdir}")
            await self._git(["init", "--bare", self.workdir], in_mirror=False)

    def _ref_prefix(self) -> str:
        # refs of our own per repourl, so that pollers may share a workdir;
        # quoted so that any url makes a valid ref name
        return "refs/buildbot/" + quote(self.repourl, safe="").replace(".", "%2E")

    def _local_ref(self, ref: str) -> str:
        return f"{self._ref_prefix()}/{ref[len('refs/') :]}"

    async def _remote_refs(self) -> dict[str, str]:
        """{full ref: sha} of the remote refs we track."""
        if self.branches is None and not self.only_tags:
            out = await self._remote_git(["ls-remote", "--symref", self.repourl, "HEAD"])
            for line in self._decode(out).splitlines():
                if line.startswith("ref: ") and line.endswith("\tHEAD"):
                    head = line[len("ref: ") : -len("\tHEAD")]
                    sha = gitutil.parse_ls_remote(self._decode(out)).get("HEAD", "")
                    return {head: sha}
            log.msg(f"{self.name}: the remote names no default branch (empty repository?)")
            return {}
        args = ["ls-remote", "--refs"]
        if self.only_tags:
            args.append("--tags")
        elif self.branches is True:
            args.append("--heads")
        args.append(self.repourl)
        refs = gitutil.parse_ls_remote(self._decode(await self._remote_git(args)))
        if self.only_tags or self.branches is True:
            return refs
        if callable(self.branches):
            return {ref: sha for ref, sha in refs.items() if self.branches(ref)}
        # a list of names: the ones that do not exist (yet) are ignored
        wanted = {gitutil.ref_for_branch(b) for b in self.branches}
        return {ref: sha for ref, sha in refs.items() if ref in wanted}

    async def _fetch(self, refs: list[str]) -> None:
        refspecs = [f"+{ref}:{self._local_ref(ref)}" for ref in refs]
        await self._remote_git(["fetch", "--no-tags", self.repourl, *refspecs])

    async def _local_heads(self, refs: list[str]) -> dict[str, str]:
        if not refs:
            return {}
        out = await self._git(["rev-parse", *(self._local_ref(r) + "^{commit}" for r in refs)])
        return dict(zip(refs, self._decode(out).split(), strict=True))

    async def _new_commits(self, rev: str, known: list[str]) -> list[str]:
        """Commits reachable from `rev` and from none of `known`, oldest first."""
        stdin = "".join(f"^{k}\n" for k in known).encode("ascii")
        out = await self._git(
            ["rev-list", "--reverse", "--date-order", "--ignore-missing", "--stdin", rev, "--"],
            stdin=stdin,
        )
        return self._decode(out).split()

    async def _add_changes(self, ref: str, revs: list[str]) -> None:
        if not revs:
            return
        out = await self._git(
            [
                "log",
                "--no-walk=unsorted",
                f"--format={_COMMIT_FORMAT}",
                "-z",
                "--name-only",
                "-m",
                "--first-parent",
                "--stdin",
                "--",
            ],
            stdin="".join(f"{r}\n" for r in revs).encode("ascii"),
        )
        branch = _short_branch(ref)
        for commit in parse_log_records(out, self.encoding):
            change = {
                "author": commit["author"],
                "committer": commit["committer"],
                "files": commit["files"],
                "comments": commit["comments"],
                "revision": commit["revision"],
                "when_timestamp": commit["timestamp"] if self.usetimestamps else None,
                "branch": branch,
                "revlink": "",
                "repository": self.repourl,
                "project": self.project,
                "src": "git",
            }
            category = self.category
            if callable(category):
                category = category(dict(change))
            await self.master.data.updates.addChange(category=category, **change)

    # running git

    def _decode(self, raw: bytes) -> str:
        return raw.decode(self.encoding, errors="replace")

    async def _git_features(self) -> gitutil.GitFeatures:
        if self._features is None:
            out = await self._git(["--version"], in_mirror=False)
            self._features = gitutil.GitFeatures(gitutil.parse_git_version(self._decode(out)))
        return self._features

    async def _remote_git(self, args: list[str]) -> bytes:
        """Run a git command that talks to the remote, with the configured ssh key
        and credentials, written to a private directory for its duration."""
        if self.sshPrivateKey is None and not self.auth_credentials and not self.git_credentials:
            return await self._git(args)
        features = await self._git_features()
        private = tempfile.mkdtemp(prefix=".buildbot-", dir=self.workdir)  # mode 0700
        try:
            extra: list[str] = []
            env: dict[str, str] = {}
            if self.sshPrivateKey is not None:
                key = os.path.join(private, gitutil.SSH_KEY_FILENAME)
                _write_private(key, self.sshPrivateKey)
                known_hosts = None
                if self.sshHostKey is not None or self.sshKnownHosts is not None:
                    known_hosts = os.path.join(private, gitutil.SSH_KNOWN_HOSTS_FILENAME)
                    contents = (
                        gitutil.known_hosts_contents(self.sshHostKey)
                        if self.sshHostKey is not None
                        else self.sshKnownHosts
                    )
                    _write_private(known_hosts, contents)
                wrapper = None
                if not features.ssh_command_env:
                    wrapper = os.path.join(private, gitutil.SSH_WRAPPER_FILENAME)
                    _write_private(wrapper, gitutil.ssh_wrapper_script(key, known_hosts))
                    os.chmod(wrapper, 0o700)
                extra += gitutil.ssh_config_args(features, key, known_hosts)
                env.update(gitutil.ssh_env(features, key, known_hosts, wrapper))
            if self.auth_credentials or self.git_credentials:
                store = os.path.join(private, "credentials")
                _write_private(store, "")
                use_http_path = None
                descriptions: list[str] = []
                if self.auth_credentials:
                    user, password = self.auth_credentials
                    descriptions.append(
                        gitutil.credential_description(self.repourl, user, password)
                    )
                else:
                    use_http_path = self.git_credentials.use_http_path
                    descriptions.extend(str(c) for c in self.git_credentials.credentials)
                extra += gitutil.credential_store_args(store, use_http_path)
                for description in descriptions:
                    await self._git(
                        [*extra, "credential", "approve"],
                        stdin=description.encode("utf-8"),
                        in_mirror=False,
                    )
            return await self._git([*extra, *args], env=env)
        finally:
            shutil.rmtree(private, ignore_errors=True)

    async def _git(
        self,
        args: list[str],
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        in_mirror: bool = True,
    ) -> bytes:
        """Run git (in the mirror, unless told not to); its stdout, or GitError."""
        full_env = dict(os.environ)
        # never wait for a password on a terminal: fail and say so
        full_env["GIT_TERMINAL_PROMPT"] = "0"
        full_env.update(env or {})
        # the subcommand only: the options before it may hold credentials
        command = next((a for a in args if not a.startswith("-") and "=" not in a), args[0])
        proc = _GitProcess(stdin)
        try:
            _process_reactor(self.master.reactor).spawnProcess(
                proc,
                self.gitbin,
                [self.gitbin, *args],
                env=full_env,
                path=self.workdir if in_mirror else None,
            )
        except OSError as e:  # no such binary, say
            raise GitError(command, None, f"cannot run {self.gitbin!r}: {e}") from e
        out, err, rc = await proc.done
        if rc != 0:
            raise GitError(command, rc, self._decode(err))
        return out


def _write_private(path: str, contents: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(contents)
