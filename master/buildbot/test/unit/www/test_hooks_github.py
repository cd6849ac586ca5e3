"""The github dialect: push, tag and pull request payloads to exact changes; HMAC
signatures (sha256, sha1, strict mode, util.Secret); bad JSON; skips; unknown events."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

from twisted.trial import unittest

from buildbot.test.fake import httpclientservice as fakehttp
from buildbot.test.unit.www.test_change_hook import HookMixin
from buildbot.www.hooks.github import GitHubEventHandler

SECRET = "It's a Secret to Everybody"

PUSH = {
    "ref": "refs/heads/main",
    "before": "1111111111111111111111111111111111111111",
    "after": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "created": False,
    "deleted": False,
    "repository": {
        "id": 1296269,
        "name": "hello-world",
        "full_name": "octo/hello-world",
        "html_url": "https://github.com/octo/hello-world",
        "clone_url": "https://github.com/octo/hello-world.git",
        "owner": {"login": "octo"},
    },
    "pusher": {"name": "octo", "email": "octo@example.com"},
    "sender": {"login": "octo"},
    "commits": [
        {
            "id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "distinct": True,
            "message": "Add the README",
            "timestamp": "2024-03-01T10:00:00+01:00",
            "url": "https://github.com/octo/hello-world/commit/aaaaaaaa",
            "author": {"name": "Mona Lisa", "email": "mona@example.com", "username": "mona"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
            "added": ["README.md"],
            "removed": [],
            "modified": [],
        },
        {
            "id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "distinct": False,
            "message": "Fix the build",
            "timestamp": "2024-03-01T09:30:00Z",
            "url": "https://github.com/octo/hello-world/commit/bbbbbbbb",
            "author": {"name": "Mona Lisa", "email": "mona@example.com"},
            "committer": {"name": "Mona Lisa", "email": "mona@example.com"},
            "added": [],
            "removed": ["old.c"],
            "modified": ["main.c"],
        },
    ],
}
PUSH["head_commit"] = PUSH["commits"][1]

PUSH_CHANGES = [
    {
        "author": "Mona Lisa <mona@example.com>",
        "committer": "GitHub <noreply@github.com>",
        "files": ["README.md"],
        "comments": "Add the README",
        "revision": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "when_timestamp": 1709283600,
        "branch": "main",
        "revlink": "https://github.com/octo/hello-world/commit/aaaaaaaa",
        "repository": "https://github.com/octo/hello-world",
        "project": "octo/hello-world",
        "category": None,
        "properties": {"github_distinct": True, "event": "push"},
        "src": "git",
    },
    {
        "author": "Mona Lisa <mona@example.com>",
        "committer": "Mona Lisa <mona@example.com>",
        "files": ["old.c", "main.c"],
        "comments": "Fix the build",
        "revision": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "when_timestamp": 1709285400,
        "branch": "main",
        "revlink": "https://github.com/octo/hello-world/commit/bbbbbbbb",
        "repository": "https://github.com/octo/hello-world",
        "project": "octo/hello-world",
        "category": None,
        "properties": {"github_distinct": False, "event": "push"},
        "src": "git",
    },
]

PULL_REQUEST = {
    "action": "opened",
    "number": 42,
    "pull_request": {
        "number": 42,
        "html_url": "https://github.com/octo/hello-world/pull/42",
        "_links": {"html": {"href": "https://github.com/octo/hello-world/pull/42"}},
        "title": "Make it faster",
        "body": "Twice as fast.",
        "state": "open",
        "created_at": "2024-03-02T12:00:00Z",
        "commits": 2,
        "head": {"ref": "fast", "sha": "cccccccccccccccccccccccccccccccccccccccc"},
        "base": {"ref": "main", "repo": {"full_name": "octo/hello-world"}},
        "user": {"login": "mona"},
    },
    "repository": PUSH["repository"],
    "sender": {"login": "mona"},
}


def sign(body: bytes, secret: str = SECRET, algo: str = "sha256") -> str:
    return f"{algo}=" + hmac.new(secret.encode(), body, getattr(hashlib, algo)).hexdigest()


class GitHubHookTests(HookMixin, unittest.TestCase):
    www_config = {"change_hook_dialects": {"github": {}}}

    def send(self, payload: Any, event: str = "push", body: bytes | None = None, **headers: str):
        return self.post(
            "change_hook/github", payload, body=body, headers={"X-GitHub-Event": event, **headers}
        )

    async def test_push(self) -> None:
        res = await self.send(PUSH)
        self.assertEqual(res.code, 200, res.body)
        self.assertEqual(len(res.json()["changeids"]), 2)
        self.assertChanges(PUSH_CHANGES)
        got = await self.data.get(("changes",))
        self.assertEqual(
            [c["revision"] for c in got], [PUSH_CHANGES[0]["revision"], PUSH_CHANGES[1]["revision"]]
        )

    async def test_push_as_form_with_project_and_codebase(self) -> None:
        await self.reconfig_www(change_hook_dialects={"github": {"codebase": lambda p: "cb"}})
        body = urlencode({"payload": json.dumps(PUSH)}).encode()
        res = await self.post(
            "change_hook/github?project=proj",
            body=body,
            headers={"X-GitHub-Event": "push", "Content-Type": "application/x-www-form-urlencoded"},
        )
        self.assertEqual(res.code, 200, res.body)
        self.assertChanges([{**c, "project": "proj", "codebase": "cb"} for c in PUSH_CHANGES])

    async def test_tag_push_and_created_branch(self) -> None:
        tag = {**PUSH, "ref": "refs/tags/v1.0", "created": True, "commits": []}
        self.assertEqual((await self.send(tag)).code, 200)
        self.assertChanges(
            [
                {
                    **PUSH_CHANGES[1],
                    "branch": "v1.0",
                    "category": "tag",
                    "properties": {"github_distinct": False, "event": "push"},
                }
            ]
        )

    async def test_ignored_pushes(self) -> None:
        skipped = copy.deepcopy(PUSH)
        skipped["head_commit"]["message"] = "docs [ci skip]"
        for payload in ({**PUSH, "deleted": True}, {**PUSH, "ref": "refs/notes/x"}, skipped):
            res = await self.send(payload)
            self.assertEqual((res.code, res.json()), (200, {"changeids": []}))
        self.assertEqual(self.added(), [])

    async def test_skips_option_and_whitelist(self) -> None:
        await self.reconfig_www(
            change_hook_dialects={
                "github": {
                    "skips": [r"\[no build\]"],
                    "github_property_whitelist": ["github.pusher.*"],
                }
            }
        )
        skipped = copy.deepcopy(PUSH)
        skipped["head_commit"]["message"] = "x [ci skip]"  # not a skip any more
        self.assertEqual((await self.send(skipped)).code, 200)
        self.assertEqual(
            self.added()[0]["properties"],
            {
                "github_distinct": True,
                "event": "push",
                "github.pusher.name": "octo",
                "github.pusher.email": "octo@example.com",
            },
        )

    async def test_ping_and_unknown_events(self) -> None:
        for event in ("ping", "issues"):
            res = await self.send({"zen": "Keep it logically awesome."}, event=event)
            self.assertEqual((res.code, res.json()), (200, {"changeids": []}))
        self.assertEqual(self.added(), [])

    async def test_bad_requests(self) -> None:
        self.assertRefused(await self.send(None, body=b"{not json"), 400, "invalid JSON payload")
        self.assertRefused(await self.send(None, body=b"[1]"), 400, "not an object")
        self.assertRefused(await self.send(None, body=b"\xff"), 400, "not UTF-8")
        res = await self.post("change_hook/github", PUSH)  # no event header
        self.assertRefused(res, 400, "no X-GitHub-Event")
        res = await self.post(
            "change_hook/github",
            body=b"x=1",
            headers={"X-GitHub-Event": "push", "Content-Type": "application/x-www-form-urlencoded"},
        )
        self.assertRefused(res, 400, "no 'payload' field")
        self.assertRefused(await self.send({"ref": "refs/heads/x"}), 400, "malformed payload")

    # --- signatures ---------------------------------------------------------------------

    async def test_good_signatures(self) -> None:
        await self.reconfig_www(change_hook_dialects={"github": {"secret": SECRET, "strict": True}})
        body = json.dumps(PUSH).encode()
        res = await self.send(None, body=body, **{"X-Hub-Signature-256": sign(body)})
        self.assertEqual(res.code, 200, res.body)
        res = await self.send(None, body=body, **{"X-Hub-Signature": sign(body, algo="sha1")})
        self.assertEqual(res.code, 200, res.body)
        self.assertEqual(len(self.added()), 4)

    async def test_bad_signatures(self) -> None:
        await self.reconfig_www(change_hook_dialects={"github": {"secret": SECRET}})
        body = json.dumps(PUSH).encode()
        for headers in (
            {"X-Hub-Signature-256": sign(body, secret="wrong")},
            {"X-Hub-Signature-256": sign(body + b" ")},
            {"X-Hub-Signature": sign(body, secret="wrong", algo="sha1")},
            {"X-Hub-Signature-256": "md5=abc"},
            {"X-Hub-Signature-256": "sha256"},
        ):
            res = await self.send(None, body=body, **headers)
            self.assertRefused(res, 403, "signature does not match")

    async def test_unsigned(self) -> None:
        # without strict mode an unsigned payload passes; with it, it is refused
        await self.reconfig_www(change_hook_dialects={"github": {"secret": SECRET}})
        self.assertEqual((await self.send(PUSH)).code, 200)
        self.data.updates.calls.clear()
        await self.reconfig_www(change_hook_dialects={"github": {"secret": SECRET, "strict": True}})
        self.assertRefused(await self.send(PUSH), 403, "no signature")

    async def test_secret_from_secrets_manager(self) -> None:
        from buildbot.process.properties import Secret

        class Manager:
            def get(self, name: str) -> Any:
                return SECRET if name == "gh" else None

        self.master.secrets_manager = Manager()
        await self.reconfig_www(change_hook_dialects={"github": {"secret": Secret("gh")}})
        body = json.dumps(PUSH).encode()
        res = await self.send(None, body=body, **{"X-Hub-Signature-256": sign(body)})
        self.assertEqual(res.code, 200, res.body)
        res = await self.send(None, body=body, **{"X-Hub-Signature-256": sign(body, "x")})
        self.assertEqual(res.code, 403)
        self.assertEqual(len(self.added()), 2)

    def test_strict_needs_a_secret(self) -> None:
        with self.assertRaises(ValueError):
            GitHubEventHandler(None, strict=True)

    # --- pull requests ------------------------------------------------------------------

    async def fake_api(self, headers: dict[str, str] | None = None) -> Any:
        return await fakehttp.HTTPClientService.getService(
            self.master,
            self,
            "https://api.github.com",
            headers=headers or {"User-Agent": "Buildbot"},
        )

    async def test_pull_request(self) -> None:
        await self.reconfig_www(
            change_hook_dialects={
                "github": {"token": "tkn", "github_property_whitelist": ["github.head.*"]}
            }
        )
        http = await self.fake_api({"User-Agent": "Buildbot", "Authorization": "token tkn"})
        sha = PULL_REQUEST["pull_request"]["head"]["sha"]
        http.expect(
            "get",
            f"/repos/octo/hello-world/commits/{sha}",
            content_json={"commit": {"message": "Faster"}},
        )
        http.expect(
            "get",
            "/repos/octo/hello-world/pulls/42/files",
            content_json=[{"filename": "a.c"}, {"filename": "b.c"}],
        )
        res = await self.send(PULL_REQUEST, event="pull_request")
        self.assertEqual(res.code, 200, res.body)
        self.assertChanges(
            [
                {
                    "revision": sha,
                    "when_timestamp": 1709380800,
                    "branch": "refs/pull/42/merge",
                    "files": ["a.c", "b.c"],
                    "revlink": "https://github.com/octo/hello-world/pull/42",
                    "repository": "https://github.com/octo/hello-world",
                    "project": "octo/hello-world",
                    "category": "pull",
                    "author": "mona",
                    "comments": (
                        "GitHub Pull Request #42 (2 commits)\nMake it faster\nTwice as fast."
                    ),
                    "properties": {
                        "pullrequesturl": "https://github.com/octo/hello-world/pull/42",
                        "event": "pull_request",
                        "basename": "main",
                        "github.head.ref": "fast",
                        "github.head.sha": sha,
                    },
                    "src": "git",
                }
            ]
        )

    async def test_pull_request_head_ref_skip_and_api_errors(self) -> None:
        await self.reconfig_www(change_hook_dialects={"github": {"pullrequest_ref": "head"}})
        http = await self.fake_api()
        sha = PULL_REQUEST["pull_request"]["head"]["sha"]
        http.expect(
            "get",
            f"/repos/octo/hello-world/commits/{sha}",
            content_json={"commit": {"message": "wip [skip ci]"}},
        )
        res = await self.send(PULL_REQUEST, event="pull_request")
        self.assertEqual(res.json(), {"changeids": []})
        # GitHub failing: no skip check possible, no files, still a change
        http.expect("get", f"/repos/octo/hello-world/commits/{sha}", code=404, content="gone")
        http.expect("get", "/repos/octo/hello-world/pulls/42/files", code=500, content="oops")
        res = await self.send(PULL_REQUEST, event="pull_request")
        self.assertEqual(res.code, 200, res.body)
        (change,) = self.added()
        self.assertEqual((change["branch"], change["files"]), ("refs/pull/42/head", []))

    async def test_pull_request_ignored_actions(self) -> None:
        for action in ("closed", "labeled", "edited"):
            res = await self.send({**PULL_REQUEST, "action": action}, event="pull_request")
            self.assertEqual(res.json(), {"changeids": []})
        self.assertEqual(self.added(), [])

    async def test_custom_class(self) -> None:
        class Handler(GitHubEventHandler):
            def handle_release(self, payload: Any) -> Any:
                return [{"author": "rel", "revision": payload["tag"]}], "git"

        await self.reconfig_www(change_hook_dialects={"github": {"class": Handler}})
        res = await self.send({"tag": "v2"}, event="release")
        self.assertEqual(res.code, 200, res.body)
        self.assertChanges([{"author": "rel", "revision": "v2", "src": "git"}])
