"""The `bitbucketserver` dialect (Bitbucket Server / Data Center), by `X-Event-Key`.

It reads the events of the "Bitbucket Web Post Hooks" plugin format (`repo:push`,
`pullrequest:created|updated|rejected|fulfilled`) and the server's own webhooks
(`repo:refs_changed`, `pr:opened`, `pr:from_ref_updated`, `pr:declined`,
`pr:merged`). Options: `codebase` (a value or a callable of the payload) and
`bitbucket_property_whitelist` (fnmatch patterns over the flattened pull request,
prefixed `bitbucket.`).

Categories: 'push', 'ref-deleted', 'pull-created', 'pull-updated',
'pull-rejected', 'pull-fulfilled'. Pushes are on `refs/heads/<b>` or
`refs/tags/<t>`; an open pull request is on `refs/pull-requests/<id>/merge`; a
rejected one on its source branch, a fulfilled one on its target branch.
"""

from __future__ import annotations

from typing import Any

from twisted.python import log

from buildbot.www.hooks.base import (
    BaseHookHandler,
    codebase_for,
    header,
    json_payload,
    parse_timestamp,
    whitelisted_properties,
)

GIT_BRANCH_REF = "refs/heads/{}"
GIT_TAG_REF = "refs/tags/{}"
GIT_MERGE_REF = "refs/pull-requests/{}/merge"
_NULL_SHA = "0" * 40

# native pull request events → (category, which ref the change is on)
_NATIVE_PR = {
    "pr:opened": ("pull-created", "merge"),
    "pr:from_ref_updated": ("pull-updated", "merge"),
    "pr:declined": ("pull-rejected", "from"),
    "pr:merged": ("pull-fulfilled", "to"),
}
_PLUGIN_PR = {
    "pullrequest:created": ("pull-created", "merge"),
    "pullrequest:updated": ("pull-updated", "merge"),
    "pullrequest:rejected": ("pull-rejected", "from"),
    "pullrequest:fulfilled": ("pull-fulfilled", "to"),
}


def _web_url(repository: Any) -> str:
    links = (repository or {}).get("links") or {}
    selfs = links.get("self") or [{}]
    url = selfs[0].get("href") or ""
    return url[: -len("browse")] if url.endswith("browse") else url


def _ref_name(ref_type: str, name: str) -> str:
    return (GIT_TAG_REF if ref_type.lower() == "tag" else GIT_BRANCH_REF).format(name)


class BitbucketServerEventHandler(BaseHookHandler):
    def getChanges(self, request: Any) -> tuple[list[dict[str, Any]], str]:
        event = header(request, "X-Event-Key")
        if not event:
            raise ValueError("no X-Event-Key header")
        payload = json_payload(request)
        if event in ("repo:push", "repo:refs_changed"):
            changes = self.handle_push(payload, event)
        elif event in _PLUGIN_PR:
            changes = self.handle_pullrequest(payload, event, *_PLUGIN_PR[event])
        elif event in _NATIVE_PR:
            changes = self.handle_pr(payload, event, *_NATIVE_PR[event])
        else:
            log.msg(f"Bitbucket Server hook: ignoring the {event!r} event")
            return [], "git"
        codebase = codebase_for(self.options.get("codebase"), payload)
        for change in changes:
            if codebase is not None:
                change["codebase"] = codebase
        return changes, (payload.get("repository") or {}).get("scmId") or "git"

    def _author(self, actor: Any) -> str:
        actor = actor or {}
        name = actor.get("displayName") or actor.get("name") or ""
        who = actor.get("username") or actor.get("emailAddress") or actor.get("name") or ""
        return f"{name} <{who}>"

    def handle_push(self, payload: Any, event: str) -> list[dict[str, Any]]:
        repo = payload["repository"]
        repo_url = _web_url(repo)
        project = repo["project"]["name"]
        author = self._author(payload.get("actor"))
        changes = []
        if "push" in payload:  # the plugin's format
            refs = []
            for item in payload["push"]["changes"]:
                new = item.get("new")
                ref = new or item["old"]
                refs.append(
                    (
                        _ref_name(ref["type"], ref["name"]),
                        ref["target"]["hash"],
                        "push" if new else "ref-deleted",
                    )
                )
        else:  # repo:refs_changed
            refs = [
                (
                    item["refId"],
                    item["fromHash"] if item.get("type") == "DELETE" else item["toHash"],
                    "ref-deleted" if item.get("type") == "DELETE" else "push",
                )
                for item in payload["changes"]
            ]
        for branch, commit_hash, category in refs:
            changes.append(
                {
                    "revision": commit_hash,
                    "revlink": f"{repo_url}commits/{commit_hash}" if repo_url else "",
                    "repository": repo_url,
                    "author": author,
                    "comments": f"Bitbucket Server commit {commit_hash}",
                    "branch": branch,
                    "project": project,
                    "category": category,
                    "properties": {"event": event},
                }
            )
        return changes

    def _pr_change(
        self, payload: Any, pr: Any, event: str, category: str, branch: str, revision: str
    ) -> dict[str, Any]:
        repo = payload.get("repository") or pr["toRef"]["repository"]
        links = pr.get("links") or {}
        revlink = pr.get("link") or (links.get("self") or [{}])[0].get("href") or ""
        properties = whitelisted_properties(
            pr, "bitbucket", self.options.get("bitbucket_property_whitelist")
        )
        properties["event"] = event
        return {
            "revision": revision,
            "revlink": revlink,
            "repository": _web_url(repo),
            "author": self._author(payload.get("actor")),
            "comments": f"pull-request #{int(pr['id'])}: {pr.get('title') or ''}",
            "branch": branch,
            "project": repo["project"]["name"],
            "category": category,
            "properties": properties,
        }

    def handle_pullrequest(
        self, payload: Any, event: str, category: str, on: str
    ) -> list[dict[str, Any]]:
        pr = payload["pullrequest"]
        branch = {
            "merge": GIT_MERGE_REF.format(int(pr["id"])),
            "from": GIT_BRANCH_REF.format(pr["fromRef"]["branch"]["name"]),
            "to": GIT_BRANCH_REF.format(pr["toRef"]["branch"]["name"]),
        }[on]
        revision = pr["fromRef"]["commit"]["hash"]
        return [self._pr_change(payload, pr, event, category, branch, revision)]

    def handle_pr(self, payload: Any, event: str, category: str, on: str) -> list[dict[str, Any]]:
        pr = payload["pullRequest"]
        branch = {
            "merge": GIT_MERGE_REF.format(int(pr["id"])),
            "from": pr["fromRef"]["id"],
            "to": pr["toRef"]["id"],
        }[on]
        revision = pr["fromRef"]["latestCommit"]
        change = self._pr_change(payload, pr, event, category, branch, revision)
        change["when_timestamp"] = parse_timestamp(payload.get("date"))
        return [change]


bitbucketserver = BitbucketServerEventHandler
