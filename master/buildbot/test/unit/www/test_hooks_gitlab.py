"""The gitlab dialect: push, tag push and merge request payloads to exact changes;
X-Gitlab-Token checks; bad JSON; ignored events and states."""

from __future__ import annotations

import copy
from typing import Any

from twisted.trial import unittest

from buildbot.test.unit.www.test_change_hook import HookMixin

REPO = {
    "name": "Diaspora",
    "url": "git@example.com:mike/diaspora.git",
    "homepage": "http://example.com/mike/diaspora",
    "git_ssh_url": "git@example.com:mike/diaspora.git",
    "git_http_url": "http://example.com/mike/diaspora.git",
}
PUSH = {
    "object_kind": "push",
    "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
    "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "ref": "refs/heads/master",
    "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    "user_name": "John Smith",
    "project": {
        "name": "Diaspora",
        "path_with_namespace": "mike/diaspora",
        "git_ssh_url": "git@example.com:mike/diaspora.git",
    },
    "repository": REPO,
    "commits": [
        {
            "id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
            "message": "Update Catalan translation to e38cb41.",
            "timestamp": "2011-12-12T14:27:31+02:00",
            "url": "http://example.com/mike/diaspora/commit/b6568db1",
            "author": {"name": "Jordi Mallach", "email": "jordi@softcatala.org"},
            "added": ["CHANGELOG"],
            "modified": ["app/controller/application.rb"],
            "removed": [],
        },
        {
            "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "message": "fixed readme",
            "timestamp": "2012-01-03T23:36:29+02:00",
            "url": "http://example.com/mike/diaspora/commit/da156088",
            "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
            "added": [],
            "modified": [],
            "removed": ["README"],
        },
    ],
    "total_commits_count": 2,
}

MR = {
    "object_kind": "merge_request",
    "user": {"name": "Administrator", "username": "root"},
    "object_attributes": {
        "id": 99,
        "iid": 1,
        "title": "MS-Viewport",
        "description": "Fix the viewport",
        "state": "opened",
        "action": "open",
        "url": "http://example.com/diaspora/merge_requests/1",
        "source_branch": "ms-viewport",
        "source_project_id": 14,
        "target_branch": "master",
        "target_project_id": 14,
        "source": {"name": "Awesome Project", "git_ssh_url": "git@example.com:awesome/src.git"},
        "target": {
            "name": "Awesome Project",
            "path_with_namespace": "awesome/project",
            "git_ssh_url": "git@example.com:awesome/project.git",
        },
        "last_commit": {
            "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "message": "fixed readme",
            "timestamp": "2012-01-03T23:36:29+02:00",
            "url": "http://example.com/awesome/project/commits/da156088",
            "author": {"name": "GitLab dev user", "email": "gitlabdev@example.com"},
        },
    },
}


def push_changes(category: str = "push", branch: str = "master") -> list[dict[str, Any]]:
    common = {
        "branch": branch,
        "repository": "git@example.com:mike/diaspora.git",
        "project": "mike/diaspora",
        "category": category,
        "properties": {"event": category},
        "src": "git",
    }
    return [
        {
            **common,
            "author": "Jordi Mallach <jordi@softcatala.org>",
            "files": ["CHANGELOG", "app/controller/application.rb"],
            "comments": "Update Catalan translation to e38cb41.",
            "revision": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
            "when_timestamp": 1323692851,
            "revlink": "http://example.com/mike/diaspora/commit/b6568db1",
        },
        {
            **common,
            "author": "GitLab dev user <gitlabdev@dv6700.(none)>",
            "files": ["README"],
            "comments": "fixed readme",
            "revision": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
            "when_timestamp": 1325626589,
            "revlink": "http://example.com/mike/diaspora/commit/da156088",
        },
    ]


class GitLabHookTests(HookMixin, unittest.TestCase):
    www_config = {"change_hook_dialects": {"gitlab": {"secret": "tok"}}}

    def send(self, payload: Any, event: str = "Push Hook", token: str | None = "tok", **kw: Any):
        headers = {"X-Gitlab-Event": event}
        if token is not None:
            headers["X-Gitlab-Token"] = token
        return self.post(
            "change_hook/gitlab" + kw.get("query", ""),
            payload,
            headers=headers,
            body=kw.get("body"),
        )

    async def test_push(self) -> None:
        res = await self.send(PUSH)
        self.assertEqual(res.code, 200, res.body)
        self.assertChanges(push_changes())

    async def test_tag_push_from_header_with_codebase_and_project(self) -> None:
        payload = {k: v for k, v in PUSH.items() if k != "object_kind"}
        payload["ref"] = "refs/tags/v1.0.0"
        res = await self.send(payload, event="Tag Push Hook", query="?codebase=cb&project=p")
        self.assertEqual(res.code, 200, res.body)
        changes = push_changes("tag_push", "v1.0.0")
        self.assertChanges([{**c, "codebase": "cb", "project": "p"} for c in changes])

    async def test_ignored_pushes(self) -> None:
        not_distinct = copy.deepcopy(PUSH)
        for c in not_distinct["commits"]:
            c["distinct"] = False
        for payload in ({**PUSH, "after": "0" * 40}, {**PUSH, "ref": "refs/merge/x"}, not_distinct):
            self.assertEqual((await self.send(payload)).json(), {"changeids": []})
        res = await self.send({"object_kind": "note"}, event="Note Hook")
        self.assertEqual((res.code, res.json()), (200, {"changeids": []}))
        self.assertEqual(self.added(), [])

    async def test_merge_request(self) -> None:
        res = await self.send(MR, event="Merge Request Hook")
        self.assertEqual(res.code, 200, res.body)
        self.assertChanges(
            [
                {
                    "author": "GitLab dev user <gitlabdev@example.com>",
                    "files": [],
                    "comments": "MR#1: MS-Viewport\n\nFix the viewport",
                    "revision": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                    "when_timestamp": 1325626589,
                    "branch": "master",
                    "repository": "git@example.com:awesome/project.git",
                    "project": "awesome/project",
                    "category": "merge_request",
                    "revlink": "http://example.com/diaspora/merge_requests/1",
                    "properties": {
                        "source_branch": "ms-viewport",
                        "source_project_id": 14,
                        "source_repository": "git@example.com:awesome/src.git",
                        "source_git_ssh_url": "git@example.com:awesome/src.git",
                        "target_branch": "master",
                        "target_project_id": 14,
                        "target_repository": "git@example.com:awesome/project.git",
                        "target_git_ssh_url": "git@example.com:awesome/project.git",
                        "event": "merge_request",
                    },
                    "src": "git",
                }
            ]
        )

    async def test_merge_request_states(self) -> None:
        def mr(**attrs: Any) -> Any:
            m = copy.deepcopy(MR)
            m["object_attributes"].update(attrs)
            return m

        for payload in (mr(state="merged"), mr(action="update"), mr(action="approved")):
            res = await self.send(payload, event="Merge Request Hook")
            self.assertEqual(res.json(), {"changeids": []})
        self.assertEqual(self.added(), [])
        res = await self.send(mr(action="update", oldrev="1" * 40), event="Merge Request Hook")
        self.assertEqual(len(res.json()["changeids"]), 1)

    async def test_token(self) -> None:
        self.assertRefused(await self.send(PUSH, token="wrong"), 403, "invalid X-Gitlab-Token")
        self.assertRefused(await self.send(PUSH, token=None), 403, "no X-Gitlab-Token")
        await self.reconfig_www(change_hook_dialects={"gitlab": {}})
        self.assertEqual((await self.send(PUSH, token=None)).code, 200)

    async def test_bad_json(self) -> None:
        self.assertRefused(await self.send(None, body=b"{"), 400, "invalid JSON payload")
        self.assertRefused(await self.send({"object_kind": "push"}), 400, "malformed payload")
