"""Commit statuses on GitLab (gitlab.com or self-hosted), through API v4.

For each sourcestamp the project id is looked up once by its path
(``GET /api/v4/projects/owner%2Frepo``, cached), then the status is posted
(``POST /api/v4/projects/:id/statuses/:sha``) with the ``PRIVATE-TOKEN`` header.
Merge-request builds whose change carries ``source_project_id`` / ``source_branch``
properties (set by the GitLab hook) report on the source project and branch.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from twisted.python import log

from buildbot.process.results import (
    CANCELLED,
    EXCEPTION,
    FAILURE,
    RETRY,
    SKIPPED,
    SUCCESS,
    WARNINGS,
)
from buildbot.reporters.forge import TokenStatusPushBase, properties_for, push
from buildbot.util.giturlparse import giturlparse

HOSTED_BASE_URL = "https://gitlab.com"

_STATES = {
    SUCCESS: "success",
    WARNINGS: "success",
    SKIPPED: "success",
    FAILURE: "failed",
    EXCEPTION: "failed",
    CANCELLED: "canceled",
    RETRY: "pending",
}


def gitlab_state(build: dict[str, Any]) -> str:
    if build.get("complete"):
        return _STATES.get(build.get("results"), "failed")
    return "running" if build.get("started_at") else "pending"


class GitLabStatusPush(TokenStatusPushBase):
    name: str | None = "GitLabStatusPush"  # type: ignore[assignment]
    hosted_base_url = HOSTED_BASE_URL

    def _reset_caches(self) -> None:
        # project path -> id; ids may differ on another server or for another token
        self.project_ids: dict[str, int] = {}

    async def getProjectId(self, sourcestamp: dict[str, Any], headers: dict[str, str]) -> Any:
        parsed = giturlparse(sourcestamp.get("repository"))
        if parsed is None:
            log.msg(
                f"{self.name}: skipped sourcestamp of {sourcestamp.get('repository')!r}: "
                "not a GitLab repository URL"
            )
            return None
        path = quote(f"{parsed.owner}/{parsed.repo}", safe="")
        if path not in self.project_ids:
            response = await push(
                self,
                f"lookup of project {parsed.owner}/{parsed.repo}",
                lambda: self._http.get(f"/api/v4/projects/{path}", headers=headers),
            )
            if response is None:
                return None
            try:
                self.project_ids[path] = (await response.json())["id"]
            except Exception as e:
                log.msg(f"{self.name}: no project id for {parsed.owner}/{parsed.repo}: {e!r}")
                return None
        return self.project_ids[path]

    async def sendMessage(self, reports: list[dict[str, Any]]) -> None:
        report = reports[0]
        if not report.get("builds"):
            return
        build = report["builds"][0]
        props = properties_for(self.master, build)
        state = gitlab_state(build)
        try:
            context = await props.render(self.context)
            token = await props.render(self.token)
        except Exception as e:
            log.msg(f"{self.name}: cannot render the context or token: {e!r}")
            return
        headers = {"PRIVATE-TOKEN": str(token)}
        for ss in (build.get("buildset") or {}).get("sourcestamps") or []:
            sha = ss.get("revision")
            if not sha:
                log.msg(
                    f"{self.name}: skipped sourcestamp of {ss.get('repository')!r}: no revision"
                )
                continue
            if props.hasProperty("source_project_id"):
                project_id = props.getProperty("source_project_id")
            else:
                project_id = await self.getProjectId(ss, headers)
            if project_id is None:
                continue
            branch = props.getProperty("source_branch") or ss.get("branch")
            response = await self.createStatus(
                project_id,
                branch,
                sha,
                state,
                target_url=build.get("url"),
                description=report.get("body"),
                context=context,
                headers=headers,
            )
            if response is not None and self.verbose:
                log.msg(
                    f'{self.name}: status "{state}" for project {project_id} at {sha}, '
                    f'context "{context}"'
                )

    async def createStatus(
        self,
        project_id: Any,
        branch: str | None,
        sha: str,
        state: str,
        target_url: str | None = None,
        description: str | None = None,
        context: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        payload: dict[str, Any] = {"state": state}
        if branch:
            payload["ref"] = branch
        if description is not None:
            payload["description"] = description
        if target_url is not None:
            payload["target_url"] = target_url
        if context is not None:
            payload["name"] = context
        ep = f"/api/v4/projects/{project_id}/statuses/{sha}"
        return await push(
            self,
            f'status "{state}" for project {project_id} at {sha}',
            lambda: self._http.post(ep, json=payload, headers=headers),
        )
