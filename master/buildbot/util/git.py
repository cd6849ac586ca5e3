"""Pure helpers shared by everything that drives the git binary.

The master-side poller and the worker-side source step both build git command
lines, parse git's answers and set up ssh/credential access; what they share
lives here, free of I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from buildbot import config

RC_SUCCESS = 0

# file names used inside the private directory a user of an ssh key writes
SSH_KEY_FILENAME = "ssh-key"
SSH_KNOWN_HOSTS_FILENAME = "ssh-known-hosts"
SSH_WRAPPER_FILENAME = "ssh-wrapper.sh"

_VERSION_RE = re.compile(r"git version (\d+(?:\.\d+)*)")
_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def parse_git_version(output: str) -> tuple[int, ...]:
    """The version numbers of `git --version` output, e.g. (2, 39, 2).

    Vendor suffixes (`.windows.1`, ` (Apple Git-143)`) are ignored; an output
    that names no version raises ValueError.
    """
    m = _VERSION_RE.search(output)
    if not m:
        raise ValueError(f"not a git version: {output.strip()!r}")
    return tuple(int(part) for part in m.group(1).split("."))


@dataclass(frozen=True)
class GitFeatures:
    """What a git binary of a given version can do that older ones cannot."""

    version: tuple[int, ...]

    def _at_least(self, *v: int) -> bool:
        return self.version >= v

    @property
    def progress(self) -> bool:  # `--progress` on fetch/clone
        return self._at_least(1, 7, 2)

    @property
    def clone_branch(self) -> bool:  # `git clone --branch`
        return self._at_least(1, 6, 5)

    @property
    def ssh_command_env(self) -> bool:  # GIT_SSH_COMMAND
        return self._at_least(2, 3)

    @property
    def ssh_command_config(self) -> bool:  # `-c core.sshCommand=...`
        return self._at_least(2, 10)

    @property
    def submodule_force(self) -> bool:  # `submodule update --force`
        return self._at_least(1, 7, 6)

    @property
    def submodule_checkout(self) -> bool:  # `submodule update --checkout`
        return self._at_least(1, 8, 2)

    @property
    def filters(self) -> bool:  # `git clone --filter`
        return self._at_least(2, 27)


def quote_for_ssh_command(path: str) -> str:
    """Quote a path for a command line git hands to `sh` (core.sshCommand,
    GIT_SSH_COMMAND, the wrapper script); double quotes keep Windows paths
    readable while protecting spaces."""
    escaped = re.sub(r'(["\\$`])', r"\\\1", path)
    return f'"{escaped}"'


def ssh_command(key_path: str, known_hosts_path: str | None = None) -> str:
    """The ssh invocation that uses only the given key (and known hosts file):
    the value for core.sshCommand or GIT_SSH_COMMAND."""
    parts = [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-i",
        quote_for_ssh_command(key_path),
    ]
    if known_hosts_path is not None:
        parts += ["-o", quote_for_ssh_command(f"UserKnownHostsFile={known_hosts_path}")]
    return " ".join(parts)


def ssh_wrapper_script(key_path: str, known_hosts_path: str | None = None) -> str:
    """A script for GIT_SSH, for git older than 2.3 (which has no GIT_SSH_COMMAND)."""
    return f'#!/bin/sh\n{ssh_command(key_path, known_hosts_path)} "$@"\n'


def known_hosts_contents(host_key: str) -> str:
    """A known_hosts file accepting `host_key` (e.g. 'ssh-rsa AAAA...') for any host."""
    return f"* {host_key.strip()}\n"


def ssh_config_args(
    features: GitFeatures, key_path: str, known_hosts_path: str | None = None
) -> list[str]:
    """`git -c core.sshCommand=...` arguments when the git supports them, else []
    (the caller then sets GIT_SSH_COMMAND or GIT_SSH, see `ssh_env`)."""
    if features.ssh_command_config:
        return ["-c", f"core.sshCommand={ssh_command(key_path, known_hosts_path)}"]
    return []


def ssh_env(
    features: GitFeatures,
    key_path: str,
    known_hosts_path: str | None = None,
    wrapper_path: str | None = None,
) -> dict[str, str]:
    """Environment for git versions that cannot take core.sshCommand."""
    if features.ssh_command_config:
        return {}
    if features.ssh_command_env:
        return {"GIT_SSH_COMMAND": ssh_command(key_path, known_hosts_path)}
    if wrapper_path is None:
        raise ValueError("git older than 2.3 needs an ssh wrapper script")
    return {"GIT_SSH": wrapper_path}


@dataclass
class GitCredentialOptions:
    """Credentials given to git through `git credential approve`.

    `credentials` are descriptions in git's credential input format
    ('url=...\\nusername=...\\npassword=...'); `use_http_path` sets
    credential.useHttpPath while they are used.
    """

    credentials: list[Any] = field(default_factory=list)
    use_http_path: bool | None = None


def credential_store_args(store_path: str, use_http_path: bool | None = None) -> list[str]:
    """`git -c` arguments making git read credentials from (and only from) the
    `git credential-store` file at `store_path`."""
    helper = f"store --file={quote_for_ssh_command(store_path)}"
    args = ["-c", "credential.helper=", "-c", f"credential.helper={helper}"]
    if use_http_path is not None:
        args += ["-c", f"credential.useHttpPath={'true' if use_http_path else 'false'}"]
    return args


def credential_description(url: str, user: str, password: str) -> str:
    """Input for `git credential approve` storing (user, password) for url."""
    return f"url={url}\nusername={user}\npassword={password}\n"


def check_ssh_config(
    owner: str,
    sshPrivateKey: Any,
    sshHostKey: Any,
    sshKnownHosts: Any,
) -> None:
    """Report the config errors of an ssh key/host key combination."""
    if sshHostKey is not None and sshPrivateKey is None:
        config.error(f"{owner}: sshPrivateKey must be provided in order use sshHostKey")
    if sshKnownHosts is not None and sshPrivateKey is None:
        config.error(f"{owner}: sshPrivateKey must be provided in order use sshKnownHosts")
    if sshHostKey is not None and sshKnownHosts is not None:
        config.error(f"{owner}: only one of sshKnownHosts and sshHostKey can be provided")


def check_auth_config(owner: str, auth_credentials: Any, git_credentials: Any) -> None:
    """Report the config errors of the http credential arguments."""
    if auth_credentials is not None and git_credentials is not None:
        config.error(f"{owner}: only one of auth_credentials and git_credentials can be provided")
    if isinstance(auth_credentials, (tuple, list)) and len(auth_credentials) != 2:
        config.error(f"{owner}: auth_credentials must be a (username, password) pair")


def is_sha(revision: str) -> bool:
    """Whether `revision` is a full SHA-1 or SHA-256 object name."""
    return bool(_SHA_RE.match(revision))


def parse_ls_remote(output: str) -> dict[str, str]:
    """{ref: sha} from `git ls-remote` output; for an annotated tag the peeled
    (`^{}`) commit wins over the tag object."""
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split("\t", 1)
        if len(parts) != 2 or not parts[0].strip():
            continue
        sha, ref = parts[0].strip(), parts[1].strip()
        if ref.endswith("^{}"):
            peeled[ref[:-3]] = sha
        else:
            refs[ref] = sha
    refs.update(peeled)
    return refs


def ref_for_branch(branch: str) -> str:
    """The full ref of a branch name ('main' -> 'refs/heads/main'); full refs
    and HEAD are returned as they are."""
    if branch == "HEAD" or branch.startswith("refs/"):
        return branch
    return f"refs/heads/{branch}"


# `git describe` options in the order they are given; the flags take True
_DESCRIBE_FLAGS = (
    "all",
    "always",
    "contains",
    "debug",
    "long",
    "exact-match",
    "first-parent",
    "tags",
    "dirty",
)
_DESCRIBE_VALUES = ("match", "exclude", "abbrev", "candidates", "dirty")


def describe_args(getDescription: Any) -> list[str] | None:
    """`git describe` arguments for the Git step's getDescription option (None
    when descriptions are off): True or {} runs a bare describe; in a dict,
    False/None skip an option, True gives the flag, other values the option's
    parameter (`--match <pattern>` (a list repeats it), `--abbrev=7`...)."""
    if getDescription is False or getDescription is None:
        return None
    args = ["describe"]
    if isinstance(getDescription, dict):
        known = [*_DESCRIBE_FLAGS, *_DESCRIBE_VALUES]
        names = [n for n in dict.fromkeys(known) if n in getDescription]
        names += sorted(n for n in getDescription if n not in known)
        for name in names:
            value = getDescription[name]
            if value is False or value is None:
                continue
            if value is True:
                args.append(f"--{name}")
            elif name in ("match", "exclude"):
                for pattern in value if isinstance(value, list | tuple) else [value]:
                    args += [f"--{name}", str(pattern)]
            else:
                args.append(f"--{name}={value}")
    args.append("HEAD")
    return args
