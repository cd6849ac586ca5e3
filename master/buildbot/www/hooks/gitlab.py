"""The `gitlab` dialect: push, tag_push and merge_request events.

Options: `secret` (the request's `X-Gitlab-Token` must equal it; may be a
`util.Secret`). The URL may carry `?project=` and `?codebase=`; a `codebase`
option (a value or a callable of the payload) is used when the URL has none.

Changes: category is the event ('push', 'tag_push', 'merge_request'); a push
gives one change per distinct commit on the branch (or tag) name; a merge request
that is opened, reopened or gets new commits gives one change on its target
branch, with the source and target in properties.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from twisted.internet import defer
from twisted.python import log

from buildbot.www.hooks.base import (
    BaseHookHandler,
    HookForbidden,
    arg,
    codebase_for,
    header,
    json_payload,
    parse_timestamp,
    render_secret,
)

# the X-Gitlab-Event header of older GitLab versions, for payloads without object_kind
_EVENTS = {"Push Hook": "push", "Tag Push Hook": "tag_push", "Merge Request Hook": "merge_request"}
_NULL_SHA = "0" * 40


def _person(who: Any) -> str | None:
    if not who:
        return None
    name, email = who.get("name"), who.get("email")
    return f"{name} <{email}>" if name and email else name or email


class GitLabHandler(BaseHookHandler):
    def getChanges(self, request: Any) -> Any:
        return defer.ensureDeferred(self._changes(request))

    async def _changes(self, request: Any) -> tuple[list[dict[str, Any]], str]:
        secret = self.options.get("secret")
        if secret:
            expected = await render_secret(self.master, secret)
            received = header(request, "X-Gitlab-Token")
            if received is None:
                raise HookForbidden("no X-Gitlab-Token header")
            if not hmac.compare_digest(received.encode(), (expected or "").encode()):
                raise HookForbidden("invalid X-Gitlab-Token")
        payload = json_payload(request)
        event = payload.get("object_kind") or _EVENTS.get(header(request, "X-Gitlab-Event") or "")
        codebase = arg(request, "codebase")
        if codebase is None:
            codebase = codebase_for(self.options.get("codebase"), payload)
        if event in ("push", "tag_push"):
            changes = self._push(payload, event)
        elif event == "merge_request":
            changes = self._merge_request(payload, event)
        else:
            log.msg(f"GitLab hook: ignoring the {event!r} event")
            changes = []
        project = arg(request, "project")
        for change in changes:
            if codebase is not None:
                change["codebase"] = codebase
            if project:
                change["project"] = project
        if changes:
            log.msg(f"GitLab hook: {len(changes)} change(s) from the {event!r} event")
        return changes, "git"

    def _push(self, payload: Any, event: str) -> list[dict[str, Any]]:
        ref = payload["ref"]
        match = re.match(r"^refs/(heads|tags)/(.+)$", ref)
        if not match:
            log.msg(f"GitLab hook: ignoring the push to {ref!r}")
            return []
        if payload.get("after") == _NULL_SHA:
            log.msg(f"GitLab hook: {ref!r} was deleted, ignoring")
            return []
        branch = match.group(2)
        repo = payload.get("repository") or {}
        project_info = payload.get("project") or {}
        repo_url = repo.get("git_ssh_url") or repo.get("url") or project_info.get("git_ssh_url")
        project = project_info.get("path_with_namespace") or repo.get("name") or ""
        changes = []
        for commit in payload.get("commits") or []:
            if not commit.get("distinct", True):
                continue
            files = [f for kind in ("added", "modified", "removed") for f in commit.get(kind) or []]
            changes.append(
                {
                    "author": _person(commit.get("author")),
                    "files": files,
                    "comments": commit.get("message"),
                    "revision": commit["id"],
                    "when_timestamp": parse_timestamp(commit.get("timestamp")),
                    "branch": branch,
                    "revlink": commit.get("url"),
                    "repository": repo_url,
                    "project": project,
                    "category": event,
                    "properties": {"event": event},
                }
            )
        return changes

    def _merge_request(self, payload: Any, event: str) -> list[dict[str, Any]]:
        attrs = payload["object_attributes"]
        iid = attrs.get("iid")
        state = attrs.get("state")
        if state in ("closed", "merged", "approved"):
            log.msg(f"GitLab hook: MR !{iid} is {state}, ignoring")
            return []
        action = attrs.get("action")
        new_code = action == "update" and "oldrev" in attrs
        if action not in ("open", "reopen") and not new_code:
            log.msg(f"GitLab hook: MR !{iid} {action} brings no new code, ignoring")
            return []
        commit = attrs["last_commit"]
        source, target = attrs["source"], attrs["target"]
        return [
            {
                "author": _person(commit.get("author")),
                "files": [],
                "comments": (
                    f"MR#{iid}: {attrs.get('title') or ''}\n\n{attrs.get('description') or ''}"
                ),
                "revision": commit["id"],
                "when_timestamp": parse_timestamp(commit.get("timestamp")),
                "branch": attrs["target_branch"],
                "repository": target["git_ssh_url"],
                "project": target.get("path_with_namespace") or target.get("name") or "",
                "category": event,
                "revlink": attrs.get("url"),
                "properties": {
                    "source_branch": attrs["source_branch"],
                    "source_project_id": attrs.get("source_project_id"),
                    "source_repository": source["git_ssh_url"],
                    "source_git_ssh_url": source["git_ssh_url"],
                    "target_branch": attrs["target_branch"],
                    "target_project_id": attrs.get("target_project_id"),
                    "target_repository": target["git_ssh_url"],
                    "target_git_ssh_url": target["git_ssh_url"],
                    "event": event,
                },
            }
        ]


gitlab = GitLabHandler
