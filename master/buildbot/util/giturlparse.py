"""Owner and repository of a git URL, in the forms forges and git accept."""

from __future__ import annotations

import re
from typing import NamedTuple


class GitUrl(NamedTuple):
    proto: str  # "https", "http", "ssh", "git", or "" for scp-like `user@host:path`
    user: str | None
    domain: str
    port: int | None
    owner: str  # may hold several segments (GitLab subgroups)
    repo: str


_URL_RE = re.compile(
    r"^(?:(?P<proto>[a-z][a-z0-9+.-]*)://)?"
    r"(?:(?P<user>[^@/]+)@)?"
    r"(?P<domain>\[[^\]]+\]|[^:/]+)"
    r"(?::(?P<port>[0-9]+)(?=/))?"
    r"[:/]"
    r"(?P<path>.+)$",
    re.IGNORECASE,
)


def giturlparse(url: str | None) -> GitUrl | None:
    """Owner and repository of a git URL: ``https://host[:port]/owner/repo[.git]``,
    ``ssh://git@host[:port]/owner/repo.git``, ``git://host/owner/repo`` or the scp-like
    ``git@host:owner/repo.git``. The owner keeps every segment but the last, so GitLab's
    ``group/subgroup`` works. None if `url` is not of these forms."""
    if not url:
        return None
    m = _URL_RE.match(url.strip())
    if m is None:
        return None
    proto = (m.group("proto") or "").lower()
    if not proto and ("://" in url or "/" in url.split(":", 1)[0]):
        return None  # a local path or file:// URL, not scp-like
    path = m.group("path").strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    owner, _, repo = path.rpartition("/")
    if not owner or not repo:
        return None
    port = m.group("port")
    return GitUrl(
        proto, m.group("user"), m.group("domain"), int(port) if port else None, owner, repo
    )
