"""The bitbucketcloud dialect: push and pull request events to exact changes; bad JSON;
unknown events."""

from __future__ import annotations

from typing import Any

from twisted.trial import unittest

from buildbot.test.unit.www.test_change_hook import HookMixin

WEB = "https://bitbucket.org/team/repo"
REPO = {
    "scm": "git",
    "name": "repo",
    "full_name": "team/repo",
    "links": {"html": {"href": WEB}},
    "project": {"name": "Team Project", "key": "TP"},
}
ACTOR = {"display_name": "Jane Doe", "nickname": "jane"}
A, B = "a" * 40, "b" * 40
PUSH = {
    "actor": ACTOR,
    "repository": REPO,
    "push": {
        "changes": [
            {
                "old": {"type": "branch", "name": "main", "target": {"hash": A}},
                "new": {
                    "type": "branch",
                    "name": "main",
                    "target": {
                        "hash": B,
                        "message": "Fix it\n",
                        "date": "2024-03-01T10:00:00+00:00",
                    },
                },
                "created": False,
                "closed": False,
            },
            {
                "old": {"type": "tag", "name": "v0", "target": {"hash": A}},
                "new": None,
                "created": False,
                "closed": True,
            },
        ]
    },
}
PR = {
    "actor": ACTOR,
    "repository": REPO,
    "pullrequest": {
        "id": 5,
        "title": "Add feature",
        "updated_on": "2024-03-02T12:00:00.123456+00:00",
        "links": {"html": {"href": WEB + "/pull-requests/5"}},
        "source": {"branch": {"name": "feature"}, "commit": {"hash": B}},
        "destination": {"branch": {"name": "main"}, "commit": {"hash": A}},
    },
}


def change(**kw: Any) -> dict[str, Any]:
    return {
        "repository": WEB,
        "author": "Jane Doe <jane>",
        "project": "Team Project",
        "src": "git",
        **kw,
    }


class BitbucketCloudHookTests(HookMixin, unittest.TestCase):
    www_config = {"change_hook_dialects": {"bitbucketcloud": {"codebase": "cb"}}}

    def send(self, payload: Any, event: str, body: bytes | None = None) -> Any:
        headers = {"X-Event-Key": event} if event else {}
        return self.post("change_hook/bitbucketcloud", payload, headers=headers, body=body)

    async def test_push(self) -> None:
        res = await self.send(PUSH, "repo:push")
        self.assertEqual(res.code, 200, res.body)
        props = {"event": "repo:push"}
        self.assertChanges(
            [
                change(
                    revision=B,
                    revlink=f"{WEB}/commits/{B}",
                    comments="Fix it\n",
                    when_timestamp=1709287200,
                    branch="refs/heads/main",
                    category="push",
                    properties=props,
                    codebase="cb",
                ),
                change(
                    revision=A,
                    revlink=f"{WEB}/commits/{A}",
                    comments=f"Bitbucket Cloud commit {A}",
                    branch="refs/tags/v0",
                    category="ref-deleted",
                    properties=props,
                    codebase="cb",
                ),
            ]
        )

    async def test_pull_requests(self) -> None:
        await self.reconfig_www(
            change_hook_dialects={
                "bitbucketcloud": {"bitbucket_property_whitelist": ["bitbucket.source.branch.*"]}
            }
        )
        expected = []
        for event, category, branch in (
            ("pullrequest:created", "pull-created", "refs/pull-requests/5/merge"),
            ("pullrequest:updated", "pull-updated", "refs/pull-requests/5/merge"),
            ("pullrequest:rejected", "pull-rejected", "refs/heads/feature"),
            ("pullrequest:fulfilled", "pull-fulfilled", "refs/heads/main"),
        ):
            self.assertEqual((await self.send(PR, event)).code, 200)
            expected.append(
                change(
                    revision=B,
                    revlink=WEB + "/pull-requests/5",
                    comments="pull-request #5: Add feature",
                    when_timestamp=1709380800,
                    branch=branch,
                    category=category,
                    properties={"bitbucket.source.branch.name": "feature", "event": event},
                )
            )
        self.assertChanges(expected)

    async def test_bad_and_unknown(self) -> None:
        self.assertRefused(await self.send(None, "repo:push", body=b"{]"), 400, "invalid JSON")
        self.assertRefused(await self.send(PUSH, ""), 400, "no X-Event-Key")
        self.assertRefused(await self.send({"repository": REPO}, "repo:push"), 400, "malformed")
        res = await self.send({}, "issue:created")
        self.assertEqual((res.code, res.json()), (200, {"changeids": []}))
