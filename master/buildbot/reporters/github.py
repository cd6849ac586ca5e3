"""Commit statuses and pull-request comments on GitHub (and GitHub Enterprise).

`GitHubStatusPush` posts a commit status (``POST /repos/:owner/:repo/statuses/:sha``)
for each sourcestamp of a build: pending while the build waits or runs, then the
result. `GitHubCommentPush` comments on the pull request a build came from
(``POST /repos/:owner/:repo/issues/:pr/comments``).

The token is a renderable (a plain string, `util.Secret`, `Interpolate`...) rendered
with the build's properties each time a status is sent, so a reconfiguration or a
rotated secret takes effect at the next push. A push that fails for lack of an
answer or with a server error is retried with backoff, then logged: it never fails
nor delays a build.

The helpers `giturlparse`, `properties_for` and `push` are shared with the other
forge reporters (GitLab, Bitbucket).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from twisted.python import log

from buildbot import config
from buildbot.interfaces import IRenderable
from buildbot.process.properties import Interpolate, Properties
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)
from buildbot.reporters.base import ReporterBase, retry_with_backoff
from buildbot.util import httpclientservice

HOSTED_BASE_URL = "https://api.github.com"
USER_AGENT = "Buildbot"


# --- shared by the forge reporters --------------------------------------------------


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


def properties_for(master: Any, build: dict[str, Any]) -> Properties:
    """The build's properties, able to render secrets; a pending build request's
    stand-in build gets `buildername` from its builder, as the build will."""
    props = Properties.fromDict(build.get("properties") or {})
    props.master = master
    builder = build.get("builder") or {}
    if not props.hasProperty("buildername") and builder.get("name"):
        props.setProperty("buildername", builder["name"], "Builder")
    return props


def is_2xx(code: int) -> bool:
    return 200 <= code < 300


async def push(reporter: Any, what: str, send: Callable[[], Awaitable[Any]], tries: int = 3) -> Any:
    """`send()` (an HTTP request), retried with backoff on the master's reactor while it
    fails or answers 5xx. Returns the response if it is a 2xx; otherwise logs why
    (with the answer's body) and returns None. Never raises."""
    name = getattr(reporter, "name", type(reporter).__name__)
    try:
        response = await retry_with_backoff(
            reporter.master.reactor, send, f"{name}: {what}", tries=tries
        )
    except Exception as e:
        log.msg(f"{name}: {what} failed: {e!r}")
        return None
    if not is_2xx(response.code):
        try:
            content = await response.content()
            text = content.decode("utf-8", "replace")[:1000]
        except Exception:  # pragma: no cover - bodies are already read
            text = ""
        log.msg(f"{name}: {what} failed: HTTP {response.code}: {text}")
        return None
    return response


def check_renderable(where: str, name: str, value: Any, required: bool = False) -> None:
    if value is None:
        if required:
            config.error(f"{where}: {name} is required")
        return
    if not isinstance(value, str) and not IRenderable.providedBy(value):
        config.error(f"{where}: {name} must be a string or a renderable, not {value!r}")


def check_url(where: str, name: str, value: Any) -> None:
    if value is not None and (
        not isinstance(value, str) or not value.startswith(("http://", "https://"))
    ):
        config.error(f"{where}: {name} must be an http:// or https:// URL, not {value!r}")


def start_end_generators(pending: bool, start: Any, end: Any) -> list[Any]:
    """`BuildStartEndStatusGenerator` with renderable start/end texts, preceded by a
    `BuildRequestGenerator` ("Build pending.") when `pending`."""
    from buildbot.reporters.generators.build import BuildStartEndStatusGenerator
    from buildbot.reporters.generators.buildrequest import BuildRequestGenerator
    from buildbot.reporters.message import MessageFormatterRenderable

    generators: list[Any] = []
    if pending:
        generators.append(
            BuildRequestGenerator(formatter=MessageFormatterRenderable("Build pending."))
        )
    generators.append(
        BuildStartEndStatusGenerator(
            start_formatter=MessageFormatterRenderable(start),
            end_formatter=MessageFormatterRenderable(end),
        )
    )
    return generators


# --- GitHub -------------------------------------------------------------------------

_STATES = {
    SUCCESS: "success",
    WARNINGS: "success",
    SKIPPED: "success",
    FAILURE: "failure",
    EXCEPTION: "error",
    CANCELLED: "error",
    RETRY: "pending",
}

_PULL_REF = re.compile(r"refs/pull/([0-9]+)/(?:head|merge)")


def github_state(build: dict[str, Any]) -> str:
    if not build.get("complete"):
        return "pending"
    return _STATES.get(build.get("results"), "error")


class GitHubStatusPush(ReporterBase):
    name: str | None = "GitHubStatusPush"  # type: ignore[assignment]

    def checkConfig(
        self,
        token: Any = None,
        context: Any = None,
        baseURL: str | None = None,
        verbose: bool = False,
        debug: Any = None,
        verify: Any = None,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        where = type(self).__name__
        check_renderable(where, "token", token, required=True)
        check_renderable(where, "context", context)
        check_url(where, "baseURL", baseURL)
        if generators is None:
            generators = self._create_default_generators()
        super().checkConfig(generators=generators, **kwargs)

    async def reconfigService(  # type: ignore[override]
        self,
        token: Any = None,
        context: Any = None,
        baseURL: str | None = None,
        verbose: bool = False,
        debug: Any = None,
        verify: Any = None,
        generators: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if generators is None:
            generators = self._create_default_generators()
        self.token = token
        self.context = (
            context if context is not None else Interpolate("buildbot/%(prop:buildername)s")
        )
        self.verbose = verbose
        self.baseURL = (baseURL or HOSTED_BASE_URL).rstrip("/")
        self._http = await httpclientservice.HTTPClientService.getService(
            self.master,
            self.baseURL,
            headers={"User-Agent": USER_AGENT},
            debug=debug,
            verify=verify,
        )
        await super().reconfigService(generators=generators, **kwargs)

    def _create_default_generators(self) -> list[Any]:
        return start_end_generators(True, "Build started.", "Build done.")

    async def _auth_headers(self, props: Properties) -> dict[str, str]:
        token = await props.render(self.token)
        return {"Authorization": f"token {token}"}

    @staticmethod
    def _issue_for(props: Properties, sourcestamp: dict[str, Any]) -> str | None:
        """The pull request number: from a refs/pull/N/{head,merge} branch, else from
        the `pullrequesturl` property (…/pull/N)."""
        for branch in (props.getProperty("branch"), sourcestamp.get("branch")):
            m = _PULL_REF.search(branch or "")
            if m:
                return m.group(1)
        url = props.getProperty("pullrequesturl")
        if url:
            last = str(url).rstrip("/").rsplit("/", 1)[-1]
            if last.isdigit():
                return last
        return None

    @staticmethod
    def _repo_of(sourcestamp: dict[str, Any]) -> tuple[str, str] | None:
        parsed = giturlparse(sourcestamp.get("repository"))
        if parsed is not None:
            return parsed.owner, parsed.repo
        project = sourcestamp.get("project") or ""
        if project.count("/") == 1 and all(project.split("/")):
            owner, repo = project.split("/")
            return owner, repo
        return None

    async def sendMessage(self, reports: list[dict[str, Any]]) -> None:
        report = reports[0]
        if not report.get("builds"):
            return
        build = report["builds"][0]
        props = properties_for(self.master, build)
        state = github_state(build)
        description = report.get("body")
        try:
            context = await props.render(self.context)
            headers = await self._auth_headers(props)
        except Exception as e:
            log.msg(f"{self.name}: cannot render the context or token: {e!r}")
            return
        for ss in (build.get("buildset") or {}).get("sourcestamps") or []:
            sha = ss.get("revision")
            repo = self._repo_of(ss)
            if not sha or repo is None:
                log.msg(
                    f"{self.name}: skipped sourcestamp of {ss.get('repository')!r}: "
                    f"{'no revision' if not sha else 'not a GitHub repository URL'}"
                )
                continue
            owner, name = repo
            issue = self._issue_for(props, ss)
            response = await self.createStatus(
                repo_user=owner,
                repo_name=name,
                sha=sha,
                state=state,
                target_url=build.get("url"),
                context=context,
                issue=issue,
                description=description,
                headers=headers,
            )
            if response is not None and self.verbose:
                log.msg(
                    f'{self.name}: updated status with "{state}" for {owner}/{name} at '
                    f'{sha}, context "{context}", issue {issue}'
                )

    async def createStatus(
        self,
        repo_user: str,
        repo_name: str,
        sha: str,
        state: str,
        target_url: str | None = None,
        context: str | None = None,
        issue: str | None = None,
        description: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        payload: dict[str, Any] = {"state": state}
        if description is not None:
            payload["description"] = description
        if target_url is not None:
            payload["target_url"] = target_url
        if context is not None:
            payload["context"] = context
        ep = "/".join(["/repos", repo_user, repo_name, "statuses", sha])
        return await push(
            self,
            f'status "{state}" for {repo_user}/{repo_name} at {sha}',
            lambda: self._http.post(ep, json=payload, headers=headers),
        )


class GitHubCommentPush(GitHubStatusPush):
    """Comments on the pull request a build came from; builds not from a pull
    request, and reports with no body, are skipped."""

    name: str | None = "GitHubCommentPush"  # type: ignore[assignment]

    def _create_default_generators(self) -> list[Any]:
        # no comment when the build starts: a None body is skipped
        return start_end_generators(False, None, "Build done.")

    async def sendMessage(self, reports: list[dict[str, Any]]) -> None:
        if not reports[0].get("body"):
            return
        await super().sendMessage(reports)

    async def createStatus(
        self,
        repo_user: str,
        repo_name: str,
        sha: str,
        state: str,
        target_url: str | None = None,
        context: str | None = None,
        issue: str | None = None,
        description: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        if issue is None:
            log.msg(
                f"{self.name}: skipped the comment for {repo_user}/{repo_name} at {sha}: "
                "the build is not from a pull request"
            )
            return None
        ep = "/".join(["/repos", repo_user, repo_name, "issues", issue, "comments"])
        payload = {"body": description}
        return await push(
            self,
            f"comment on {repo_user}/{repo_name}#{issue}",
            lambda: self._http.post(ep, json=payload, headers=headers),
        )
