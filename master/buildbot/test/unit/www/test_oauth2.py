"""OAuth2 login (GitHub v3/v4, GitLab, Google) against a small OAuth2 and user-info
server on 127.0.0.1, through the real web server."""

import json
from urllib.parse import parse_qs, urlparse

import treq
from twisted.internet import reactor
from twisted.trial import unittest
from twisted.web import resource, server

from buildbot.test.util import db
from buildbot.test.util.www import WwwMixin
from buildbot.util.httpclientservice import HTTPClientService
from buildbot.www import oauth2
from buildbot.www.auth import make_auth_resource
from buildbot.www.session import sessions_for

TOKEN = "tok-123"


class Provider(resource.Resource):
    """Token endpoint and user-info API: answers by path, records what it got."""

    isLeaf = True

    def __init__(self, answers, form_token=False):
        super().__init__()
        self.answers = answers
        self.form_token = form_token
        self.requests = []

    def render(self, request):
        path = request.path.decode()
        body = request.content.read()
        self.requests.append((request.method, path, body, request.getHeader(b"authorization")))
        if path.endswith(("/access_token", "/oauth/token", "/o/oauth2/token")):
            form = parse_qs(body.decode())
            if form.get("code") != ["good"]:
                request.setResponseCode(401)
                return b'{"error": "bad_verification_code"}'
            if self.form_token:
                return f"access_token={TOKEN}&token_type=bearer".encode()
            return json.dumps({"access_token": TOKEN}).encode()
        if path not in self.answers:
            request.setResponseCode(404)
            return b"{}"
        return json.dumps(self.answers[path]).encode()


class OAuth2Mixin(WwwMixin):
    answers = {}
    form_token = False

    async def setUp(self):
        await super().setUp()
        self.provider = Provider(self.answers, self.form_token)
        self.port = reactor.listenTCP(0, server.Site(self.provider), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.provider_url = f"http://127.0.0.1:{self.port.getHost().port}"
        self.www.root.putChild(b"auth", make_auth_resource(self.www))
        await self.reconfig_www(auth=self.make_auth())
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

    async def login_get(self, query):
        res = await treq.get(
            f"{self.base_url}/auth/login?{query}", allow_redirects=False, pool=self.pool
        )
        body = await treq.content(res)
        return res, body

    async def login(self, state="/builders/1"):
        res, body = await self.login_get(f"code=good&state={state}")
        self.assertEqual(res.code, 302, body)
        cookie = res.headers.getRawHeaders("Set-Cookie")[0].split(";")[0]
        token = cookie.split("=", 1)[1]
        user = await sessions_for(self.www).decode(token)
        return res.headers.getRawHeaders("Location")[0], user


class GitHubV3(OAuth2Mixin, db.SQLiteDBMixin, unittest.TestCase):
    answers = {
        "/api/v3/user": {"login": "octo", "email": None, "name": "Octo Cat"},
        "/api/v3/user/emails": [
            {"email": "old@x.org", "primary": False, "verified": True},
            {"email": "octo@x.org", "primary": True, "verified": True},
        ],
        "/api/v3/user/orgs": [{"login": "buildbot"}],
        "/api/v3/user/teams": [{"slug": "devs", "organization": {"login": "buildbot"}}],
    }
    form_token = True  # GitHub may answer the token request form-encoded

    def make_auth(self):
        return oauth2.GitHubAuth(
            "cid", "csecret", serverURL=self.provider_url + "/", getTeamsMembership=True
        )

    async def test_redirects_to_provider(self):
        res, _ = await self.login_get("redirect=/builders")
        self.assertEqual(res.code, 302)
        url = urlparse(res.headers.getRawHeaders("Location")[0])
        self.assertEqual(
            f"{url.scheme}://{url.netloc}{url.path}", self.provider_url + "/login/oauth/authorize"
        )
        q = parse_qs(url.query)
        self.assertEqual(q["client_id"], ["cid"])
        self.assertEqual(q["redirect_uri"], ["http://bb.example.org:8010/auth/login"])
        self.assertEqual(q["state"], ["/builders"])
        self.assertEqual(q["response_type"], ["code"])

    async def test_login_with_code(self):
        location, user = await self.login()
        self.assertEqual(location, "http://bb.example.org:8010/#/builders/1")
        self.assertEqual(
            user,
            {
                "username": "octo",
                "email": "octo@x.org",
                "full_name": "Octo Cat",
                "groups": ["buildbot", "buildbot/devs"],
            },
        )
        token_req = self.provider.requests[0]
        self.assertEqual(token_req[0], b"POST")
        form = parse_qs(token_req[2].decode())
        self.assertEqual((form["client_id"], form["client_secret"]), (["cid"], ["csecret"]))
        self.assertEqual(self.provider.requests[1][3], f"token {TOKEN}".encode())

    async def test_bad_code_is_refused(self):
        res, body = await self.login_get("code=bad")
        self.assertEqual(res.code, 403)
        self.assertIn("OAuth2 token request failed (401)", json.loads(body)["error"])
        self.assertIsNone(res.headers.getRawHeaders("Set-Cookie"))

    async def test_provider_error(self):
        res, body = await self.login_get("error=access_denied")
        self.assertEqual(
            (res.code, json.loads(body)), (403, {"error": "OAuth2 login refused: access_denied"})
        )

    def test_config_dict(self):
        auth = self.make_auth()
        self.assertEqual(
            auth.getConfigDict(),
            {"name": "GitHub", "oauth2": True, "fa_icon": "fa-github", "autologin": False},
        )

    def test_urls(self):
        gh = oauth2.GitHubAuth("a", "b")
        self.assertEqual(gh.authUri, "https://github.com/login/oauth/authorize")
        self.assertEqual(gh.resourceEndpoint, "https://api.github.com")
        self.assertEqual(
            oauth2.GitHubAuth("a", "b", apiVersion=4).resourceEndpoint,
            "https://api.github.com/graphql",
        )
        with self.assertRaises(ValueError):
            oauth2.GitHubAuth("a", "b", apiVersion=2)


class GitHubV4(OAuth2Mixin, db.SQLiteDBMixin, unittest.TestCase):
    answers = {
        "/api/graphql": {
            "data": {
                "viewer": {
                    "login": "octo",
                    "email": "octo@x.org",
                    "name": "Octo",
                    "organizations": {
                        "edges": [
                            {
                                "node": {
                                    "login": "bb",
                                    "teams": {"edges": [{"node": {"slug": "core"}}]},
                                }
                            }
                        ]
                    },
                }
            }
        }
    }

    def make_auth(self):
        return oauth2.GitHubAuth(
            "cid", "cs", serverURL=self.provider_url, apiVersion=4, getTeamsMembership=True
        )

    async def test_login_with_graphql(self):
        _, user = await self.login()
        self.assertEqual(user["groups"], ["bb", "bb/core"])
        method, path, body, _ = self.provider.requests[1]
        self.assertEqual((method, path), (b"POST", "/api/graphql"))
        self.assertIn("teams", json.loads(body)["query"])


class GitLab(OAuth2Mixin, db.SQLiteDBMixin, unittest.TestCase):
    answers = {
        "/api/v4/user": {
            "username": "gl",
            "email": "gl@x.org",
            "name": "G L",
            "avatar_url": "http://a",
        },
        "/api/v4/groups": [{"full_path": "grp/sub", "path": "sub"}, {"path": "top"}],
    }

    def make_auth(self):
        return oauth2.GitLabAuth(self.provider_url + "/", "cid", "cs")

    async def test_login(self):
        location, user = await self.login(state="")
        self.assertEqual(location, "http://bb.example.org:8010/")
        self.assertEqual(
            user,
            {
                "username": "gl",
                "email": "gl@x.org",
                "full_name": "G L",
                "avatar_url": "http://a",
                "groups": ["grp/sub", "top"],
            },
        )
        self.assertEqual(self.provider.requests[1][3], f"Bearer {TOKEN}".encode())

    async def test_user_info_failure(self):
        del self.provider.answers["/api/v4/user"]
        self.addCleanup(
            self.provider.answers.__setitem__, "/api/v4/user", GitLab.answers.get("/api/v4/user")
        )
        res, body = await self.login_get("code=good")
        self.assertEqual(res.code, 403)
        self.assertIn("user failed (404)", json.loads(body)["error"])


class Google(OAuth2Mixin, db.SQLiteDBMixin, unittest.TestCase):
    answers = {"/oauth2/v1/userinfo": {"email": "g@x.org", "name": "G", "picture": "http://p"}}

    def make_auth(self):
        auth = oauth2.GoogleAuth("cid", "cs")
        auth.tokenUri = self.provider_url + "/o/oauth2/token"
        auth.resourceEndpoint = self.provider_url + "/oauth2/v1"
        return auth

    async def test_login(self):
        _, user = await self.login()
        self.assertEqual(
            user, {"username": "g", "email": "g@x.org", "full_name": "G", "avatar_url": "http://p"}
        )
