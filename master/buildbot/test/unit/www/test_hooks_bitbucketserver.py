"""The bitbucketserver dialect: plugin-format and native push and pull request events
to exact changes; bad JSON; unknown events."""

from __future__ import annotations

import copy
from typing import Any

from twisted.trial import unittest

from buildbot.test.unit.www.test_change_hook import HookMixin

REPO = {
    "scmId": "git",
    "slug": "py-repo",
    "project": {"key": "CI", "name": "Continuous Integration"},
    "links": {"self": [{"href": "http://bb.example.org:7990/projects/CI/repos/py-repo/browse"}]},
    "fullName": "CI/py-repo",
}
URL = "http://bb.example.org:7990/projects/CI/repos/py-repo/"
ACTOR = {"username": "john", "displayName": "John Smith"}
A, B = "a" * 40, "b" * 40
PUSH = {
    "actor": ACTOR,
    "repository": REPO,
    "push": {
        "changes": [
            {
                "old": {"type": "branch", "name": "main", "target": {"hash": A}},
                "new": {"type": "branch", "name": "main", "target": {"hash": B}},
            },
            {"old": None, "new": {"type": "tag", "name": "v1", "target": {"hash": B}}},
            {"old": {"type": "branch", "name": "gone", "target": {"hash": A}}, "new": None},
        ]
    },
}
PR = {
    "actor": ACTOR,
    "repository": REPO,
    "pullrequest": {
        "id": "21",
        "title": "dot it",
        "link": URL + "pull-requests/21",
        "fromRef": {"commit": {"hash": B}, "branch": {"name": "feature"}, "repository": REPO},
        "toRef": {"commit": {"hash": A}, "branch": {"name": "main"}, "repository": REPO},
    },
}
NATIVE_ACTOR = {"name": "john", "emailAddress": "john@example.org", "displayName": "John Smith"}


def change(**kw: Any) -> dict[str, Any]:
    return {
        "repository": URL,
        "author": "John Smith <john>",
        "project": "Continuous Integration",
        "src": "git",
        **kw,
    }


class BitbucketServerHookTests(HookMixin, unittest.TestCase):
    www_config = {"change_hook_dialects": {"bitbucketserver": {}}}

    def send(self, payload: Any, event: str, body: bytes | None = None) -> Any:
        headers = {"X-Event-Key": event} if event else {}
        return self.post("change_hook/bitbucketserver", payload, headers=headers, body=body)

    async def test_push(self) -> None:
        res = await self.send(PUSH, "repo:push")
        self.assertEqual(res.code, 200, res.body)
        props = {"event": "repo:push"}
        self.assertChanges(
            [
                change(
                    revision=B,
                    revlink=URL + f"commits/{B}",
                    comments=f"Bitbucket Server commit {B}",
                    branch="refs/heads/main",
                    category="push",
                    properties=props,
                ),
                change(
                    revision=B,
                    revlink=URL + f"commits/{B}",
                    comments=f"Bitbucket Server commit {B}",
                    branch="refs/tags/v1",
                    category="push",
                    properties=props,
                ),
                change(
                    revision=A,
                    revlink=URL + f"commits/{A}",
                    comments=f"Bitbucket Server commit {A}",
                    branch="refs/heads/gone",
                    category="ref-deleted",
                    properties=props,
                ),
            ]
        )

    async def test_native_push(self) -> None:
        await self.reconfig_www(change_hook_dialects={"bitbucketserver": {"codebase": "cb"}})
        payload = {
            "eventKey": "repo:refs_changed",
            "date": "2017-09-19T09:58:11+1000",
            "actor": NATIVE_ACTOR,
            "repository": REPO,
            "changes": [
                {
                    "ref": {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"},
                    "refId": "refs/heads/main",
                    "fromHash": A,
                    "toHash": B,
                    "type": "UPDATE",
                },
                {
                    "ref": {"id": "refs/heads/old", "displayId": "old", "type": "BRANCH"},
                    "refId": "refs/heads/old",
                    "fromHash": A,
                    "toHash": "0" * 40,
                    "type": "DELETE",
                },
            ],
        }
        res = await self.send(payload, "repo:refs_changed")
        self.assertEqual(res.code, 200, res.body)
        props = {"event": "repo:refs_changed"}
        who = "John Smith <john@example.org>"
        self.assertChanges(
            [
                change(
                    revision=B,
                    revlink=URL + f"commits/{B}",
                    comments=f"Bitbucket Server commit {B}",
                    branch="refs/heads/main",
                    category="push",
                    properties=props,
                    author=who,
                    codebase="cb",
                ),
                change(
                    revision=A,
                    revlink=URL + f"commits/{A}",
                    comments=f"Bitbucket Server commit {A}",
                    branch="refs/heads/old",
                    category="ref-deleted",
                    properties=props,
                    author=who,
                    codebase="cb",
                ),
            ]
        )

    async def test_pull_requests(self) -> None:
        await self.reconfig_www(
            change_hook_dialects={
                "bitbucketserver": {"bitbucket_property_whitelist": ["bitbucket.title"]}
            }
        )
        expected = []
        for event, category, branch in (
            ("pullrequest:created", "pull-created", "refs/pull-requests/21/merge"),
            ("pullrequest:updated", "pull-updated", "refs/pull-requests/21/merge"),
            ("pullrequest:rejected", "pull-rejected", "refs/heads/feature"),
            ("pullrequest:fulfilled", "pull-fulfilled", "refs/heads/main"),
        ):
            self.assertEqual((await self.send(PR, event)).code, 200)
            expected.append(
                change(
                    revision=B,
                    revlink=URL + "pull-requests/21",
                    comments="pull-request #21: dot it",
                    branch=branch,
                    category=category,
                    properties={"bitbucket.title": "dot it", "event": event},
                )
            )
        self.assertChanges(expected)

    async def test_native_pull_requests(self) -> None:
        pr = {
            "id": 7,
            "title": "native",
            "fromRef": {"id": "refs/heads/feature", "latestCommit": B, "repository": REPO},
            "toRef": {"id": "refs/heads/main", "latestCommit": A, "repository": REPO},
            "links": {"self": [{"href": URL + "pull-requests/7"}]},
        }
        payload = {
            "eventKey": "pr:opened",
            "date": "2017-09-19T09:58:11+1000",
            "actor": NATIVE_ACTOR,
            "pullRequest": pr,
        }
        expected = []
        for event, category, branch in (
            ("pr:opened", "pull-created", "refs/pull-requests/7/merge"),
            ("pr:from_ref_updated", "pull-updated", "refs/pull-requests/7/merge"),
            ("pr:declined", "pull-rejected", "refs/heads/feature"),
            ("pr:merged", "pull-fulfilled", "refs/heads/main"),
        ):
            self.assertEqual((await self.send(payload, event)).code, 200)
            expected.append(
                change(
                    revision=B,
                    revlink=URL + "pull-requests/7",
                    comments="pull-request #7: native",
                    branch=branch,
                    category=category,
                    properties={"event": event},
                    author="John Smith <john@example.org>",
                    when_timestamp=1505779091,
                )
            )
        self.assertChanges(expected)

    async def test_bad_and_unknown(self) -> None:
        self.assertRefused(await self.send(None, "repo:push", body=b"nope"), 400, "invalid JSON")
        self.assertRefused(await self.send(PUSH, ""), 400, "no X-Event-Key")
        bad = copy.deepcopy(PUSH)
        del bad["repository"]["project"]
        self.assertRefused(await self.send(bad, "repo:push"), 400, "malformed payload")
        res = await self.send({}, "repo:comment:added")
        self.assertEqual((res.code, res.json()), (200, {"changeids": []}))
