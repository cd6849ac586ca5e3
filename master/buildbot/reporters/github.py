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

"""

from __future__ import annotations

import re
from typing import Any

from twisted.python import log

from buildbot.process.properties import Properties
from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)
from buildbot.reporters.forge import (
    TokenStatusPushBase,
    properties_for,
    push,
    start_end_generators,
)
from buildbot.util.giturlparse import giturlparse

HOSTED_BASE_URL = "https://api.github.com"


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


class GitHubStatusPush(TokenStatusPushBase):
    name: str | None = "GitHubStatusPush"  # type: ignore[assignment]
    hosted_base_url = HOSTED_BASE_URL

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
