"""`/avatar`: gravatar redirects, GitHub look-ups against a GitHub-like server on
127.0.0.1, methods tried in order, and the default picture."""

from __future__ import annotations

import hashlib
import json

import treq
from twisted.trial import unittest

from buildbot.config.errors import capture_config_errors
from buildbot.test.util import db
from buildbot.test.util.httpserver import HTTPTestServer
from buildbot.test.util.www import Response, WwwMixin
from buildbot.util.httpclientservice import HTTPClientService
from buildbot.www import avatar


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class PictureMethod(avatar.AvatarBase):
    name = "picture"

    def getUserAvatar(self, email, username, size, defaultAvatarUrl):
        if username == "pic":
            return ("image/png", b"PNGDATA")
        if username == "raise":
            raise avatar.Redirect("http://elsewhere/x.png")
        if username == "broken":
            raise ValueError("service down")
        return None


class AvatarMixin(WwwMixin, db.SQLiteDBMixin):
    async def get_avatar(self, **params):
        res = await treq.get(
            f"{self.base_url}/avatar", params=params, allow_redirects=False, pool=self.pool
        )
        return Response(res.code, res.headers, await treq.content(res))


class AvatarTests(AvatarMixin, unittest.TestCase):
    async def test_gravatar_default(self):
        res = await self.get_avatar(email="Foo@Example.org ")
        self.assertEqual(res.code, 302)
        self.assertEqual(
            res.header("location"),
            f"//www.gravatar.com/avatar/{md5('foo@example.org')}?d=retro&s=32",
        )
        res = await self.get_avatar(email="a@b.c", size="64")
        self.assertEqual(
            res.header("location"), f"//www.gravatar.com/avatar/{md5('a@b.c')}?d=retro&s=64"
        )
        for bad in ("abc", "-3", "0"):
            res = await self.get_avatar(email="a@b.c", size=bad)
            self.assertTrue(res.header("location").endswith("&s=32"), bad)
        # no email: the hash of nothing, as Buildbot
        res = await self.get_avatar()
        self.assertIn(md5(""), res.header("location"))

    async def test_single_method_and_order(self):
        await self.reconfig_www(avatar_methods=PictureMethod())
        res = await self.get_avatar(username="pic")
        self.assertEqual((res.code, res.body), (200, b"PNGDATA"))
        self.assertEqual(res.header("content-type"), "image/png")
        res = await self.get_avatar(username="raise")
        self.assertEqual((res.code, res.header("location")), (302, "http://elsewhere/x.png"))
        # nobody has a picture: the UI's default one
        res = await self.get_avatar(username="someone")
        self.assertEqual((res.code, res.header("location")), (302, "img/nobody.png"))
        # in a list, the next method answers when one knows nothing or fails
        await self.reconfig_www(avatar_methods=[PictureMethod(), avatar.AvatarGravatar()])
        res = await self.get_avatar(username="someone", email="x@y")
        self.assertIn("gravatar.com", res.header("location"))
        res = await self.get_avatar(username="broken", email="x@y")
        self.assertIn("gravatar.com", res.header("location"))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        res = await self.get_avatar(username="pic")
        self.assertEqual(res.body, b"PNGDATA")

    def test_base_knows_nobody(self):
        self.assertIsNone(avatar.AvatarBase().getUserAvatar("a", "b", 32, "x"))
        self.assertEqual(avatar.AvatarBase().getConfigDict(), {"name": "noavatar"})


class GitHubTests(AvatarMixin, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        self.gh = HTTPTestServer()
        self.gh.start()
        self.addCleanup(self.gh.stop)
        # the test master is not running, so shared HTTP clients would not start
        real_get = HTTPClientService.getService.__func__

        async def get_started(cls, master, *args, **kwargs):
            svc = await real_get(cls, master, *args, **kwargs)
            if not svc.running:
                await svc.startService()
                self.addCleanup(svc.disownServiceParent)
                self.addCleanup(svc.stopService)
            return svc

        self.patch(HTTPClientService, "getService", classmethod(get_started))

    def reply(self, code=200, body=None):
        self.gh.add_reply(code, json.dumps(body or {}), {"Content-Type": "application/json"})

    async def use(self, **kwargs):
        kwargs.setdefault("github_api_endpoint", self.gh.url + "/")
        await self.reconfig_www(avatar_methods=[avatar.AvatarGitHub(**kwargs)])

    async def test_by_username(self):
        await self.use(token="t0k")
        self.reply(body={"login": "known", "avatar_url": "https://av.example/u/1?v=4"})
        res = await self.get_avatar(username="known", size="64")
        self.assertEqual(
            (res.code, res.header("location")), (302, "https://av.example/u/1?v=4&s=64")
        )
        [req] = self.gh.requests
        self.assertEqual(req.path, "/users/known")
        self.assertEqual(req.headers["authorization"], "token t0k")
        self.assertEqual(req.headers["user-agent"], "Buildbot")
        self.assertEqual(req.headers["accept"], "application/vnd.github.v3+json")

    async def test_by_email_through_users_then_commits(self):
        await self.use()
        self.reply(404, {"message": "Not Found"})
        self.reply(body={"total_count": 0, "items": []})
        self.reply(body={"items": [{"author": {"avatar_url": "https://av.example/u/2"}}]})
        res = await self.get_avatar(username="nobody", email="a@b.org")
        self.assertEqual(res.header("location"), "https://av.example/u/2?s=32")
        paths = [r.path for r in self.gh.requests]
        self.assertEqual(paths, ["/users/nobody", "/search/users", "/search/commits"])
        users, commits = self.gh.requests[1], self.gh.requests[2]
        self.assertEqual(users.query, {"q": ["a@b.org in:email"]})
        self.assertEqual(
            commits.query,
            {"q": ["author-email:a@b.org"], "sort": ["committer-date"], "per_page": ["1"]},
        )
        self.assertIn("cloak-preview", commits.headers["accept"])
        self.assertNotIn("authorization", users.headers)

    async def test_email_found_in_users(self):
        await self.use(client_id="id", client_secret="sec")
        self.reply(body={"items": [{"login": "x", "avatar_url": "https://av.example/u/3?v=4"}]})
        res = await self.get_avatar(email="hit@x.org", size="20")
        self.assertEqual(res.header("location"), "https://av.example/u/3?v=4&s=20")
        [req] = self.gh.requests
        expected = "Basic " + __import__("base64").b64encode(b"id:sec").decode()
        self.assertEqual(req.headers["authorization"], expected)

    async def test_not_found_anywhere(self):
        await self.use(debug=True)
        self.reply(body={"items": []})
        self.reply(body={"items": [{"author": None}]})
        res = await self.get_avatar(email="miss@x.org")
        self.assertEqual(res.header("location"), "img/nobody.png")
        res = await self.get_avatar()
        self.assertEqual(res.header("location"), "img/nobody.png")
        self.assertEqual(len(self.gh.requests), 2)

    async def test_error_answers_are_not_found(self):
        await self.use(debug=True)
        self.reply(403, {"message": "rate limited"})
        res = await self.get_avatar(username="x")
        self.assertEqual(res.header("location"), "img/nobody.png")

    async def test_failing_lookup_falls_through(self):
        await self.reconfig_www(
            avatar_methods=[
                avatar.AvatarGitHub(github_api_endpoint=self.gh.url),
                avatar.AvatarGravatar(),
            ]
        )
        self.gh.add_reply(200, b"<html>not json</html>")
        res = await self.get_avatar(username="x", email="a@b.c")
        self.assertIn("gravatar.com", res.header("location"))
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_argument_checks(self):
        with capture_config_errors() as errors:
            avatar.AvatarGitHub(token="a", client_id="b", client_secret="c")
            avatar.AvatarGitHub(client_secret="c")
            avatar.AvatarGitHub(client_id="b", client_secret="c")
            avatar.AvatarGitHub()
        self.assertEqual(
            errors.errors,
            [
                "client_id and client_secret must not be provided when token is",
                "client_id and client_secret must be both provided or none",
            ],
        )
        self.assertEqual(avatar.AvatarGitHub().github_api_endpoint, "https://api.github.com")
        self.assertEqual(avatar.AvatarGitHub().getConfigDict(), {"name": "github"})
