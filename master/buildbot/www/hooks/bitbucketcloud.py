"""The `bitbucketcloud` dialect (bitbucket.org webhooks), by `X-Event-Key`.

Events: `repo:push`, `pullrequest:created|updated|rejected|fulfilled`. Options:
`codebase` (a value or a callable of the payload) and
`bitbucket_property_whitelist` (fnmatch patterns over the flattened pull request,
prefixed `bitbucket.`).

Categories: 'push', 'ref-deleted', 'pull-created', 'pull-updated',
'pull-rejected', 'pull-fulfilled'; branches as the `bitbucketserver` dialect's.
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

_PR_EVENTS = {
    "pullrequest:created": ("pull-created", "merge"),
    "pullrequest:updated": ("pull-updated", "merge"),
    "pullrequest:rejected": ("pull-rejected", "source"),
    "pullrequest:fulfilled": ("pull-fulfilled", "destination"),
}


def _html(obj: Any) -> str:
    return (((obj or {}).get("links") or {}).get("html") or {}).get("href") or ""


class BitbucketCloudEventHandler(BaseHookHandler):
    def getChanges(self, request: Any) -> tuple[list[dict[str, Any]], str]:
        event = header(request, "X-Event-Key")
        if not event:
            raise ValueError("no X-Event-Key header")
        payload = json_payload(request)
        if event == "repo:push":
            changes = self.handle_repo_push(payload, event)
        elif event in _PR_EVENTS:
            changes = self.handle_pullrequest(payload, event, *_PR_EVENTS[event])
        else:
            log.msg(f"Bitbucket Cloud hook: ignoring the {event!r} event")
            return [], "git"
        codebase = codebase_for(self.options.get("codebase"), payload)
        for change in changes:
            if codebase is not None:
                change["codebase"] = codebase
        return changes, (payload.get("repository") or {}).get("scm") or "git"

    @staticmethod
    def _author(actor: Any) -> str:
        actor = actor or {}
        name = actor.get("display_name") or actor.get("nickname") or ""
        return f"{name} <{actor.get('nickname') or actor.get('username') or ''}>"

    @staticmethod
    def _project(repo: Any) -> str:
        return (repo.get("project") or {}).get("name") or repo.get("full_name") or ""

    def handle_repo_push(self, payload: Any, event: str) -> list[dict[str, Any]]:
        repo = payload["repository"]
        web_url = _html(repo)
        changes = []
        for item in payload["push"]["changes"]:
            new = item.get("new")
            ref = new or item["old"]
            target = ref["target"]
            commit_hash = target["hash"]
            changes.append(
                {
                    "revision": commit_hash,
                    "revlink": f"{web_url}/commits/{commit_hash}",
                    "repository": web_url,
                    "author": self._author(payload.get("actor")),
                    "comments": (target.get("message") if new else None)
                    or f"Bitbucket Cloud commit {commit_hash}",
                    "when_timestamp": parse_timestamp(target.get("date")) if new else None,
                    "branch": (GIT_TAG_REF if ref["type"] == "tag" else GIT_BRANCH_REF).format(
                        ref["name"]
                    ),
                    "project": self._project(repo),
                    "category": "push" if new else "ref-deleted",
                    "properties": {"event": event},
                }
            )
        return changes

    def handle_pullrequest(
        self, payload: Any, event: str, category: str, on: str
    ) -> list[dict[str, Any]]:
        pr = payload["pullrequest"]
        repo = payload["repository"]
        number = int(pr["id"])
        if on == "merge":
            branch = GIT_MERGE_REF.format(number)
        else:
            branch = GIT_BRANCH_REF.format(pr[on]["branch"]["name"])
        properties = whitelisted_properties(
            pr, "bitbucket", self.options.get("bitbucket_property_whitelist")
        )
        properties["event"] = event
        return [
            {
                "revision": pr["source"]["commit"]["hash"],
                "revlink": _html(pr),
                "repository": _html(repo),
                "author": self._author(payload.get("actor")),
                "comments": f"pull-request #{number}: {pr.get('title') or ''}",
                "when_timestamp": parse_timestamp(pr.get("updated_on")),
                "branch": branch,
                "project": self._project(repo),
                "category": category,
                "properties": properties,
            }
        ]


bitbucketcloud = BitbucketCloudEventHandler
