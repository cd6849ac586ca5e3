"""Authz over the real REST/JSON-RPC server: allow rules, role matchers, denied
requests answered 403 without effect; and the matchers and role matchers alone."""

import base64
import json

import treq
from twisted.trial import unittest

from buildbot.schedulers.forcesched import ForceScheduler
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.test.util.www import WwwMixin
from buildbot.util import service
from buildbot.www.auth import UserPasswordAuth, make_auth_resource
from buildbot.www.authz import Authz, Forbidden, fnmatchStrMatcher, reStrMatcher, roles
from buildbot.www.authz import endpointmatchers as em

MASTERID = 824


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class AuthzMixin(WwwMixin):
    async def setUp(self):
        await super().setUp()
        self.www.root.putChild(b"auth", make_auth_resource(self.www))
        await self.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Builder(id=5, name="b5"),
                fakedb.Builder(id=6, name="release-6"),
                fakedb.Worker(id=1, name="w1"),
                fakedb.Scheduler(id=3, name="sched", enabled=1),
                fakedb.Buildset(id=10),
                fakedb.BuildsetProperty(
                    buildsetid=10, property_name="owner", property_value='["bob@x.org", "Force"]'
                ),
                fakedb.BuildRequest(id=11, buildsetid=10, builderid=5),
                fakedb.BuildRequest(id=14, buildsetid=10, builderid=5),
                fakedb.Buildset(id=20),
                fakedb.BuildRequest(id=21, buildsetid=20, builderid=6),
                fakedb.Build(
                    id=12, number=1, builderid=5, buildrequestid=11, workerid=1, masterid=MASTERID
                ),
                fakedb.Build(
                    id=22, number=1, builderid=6, buildrequestid=21, workerid=1, masterid=MASTERID
                ),
            ]
        )
        self.master.scheduler_manager = service.AsyncMultiService()
        await self.master.scheduler_manager.setServiceParent(self.master)
        for s in (ForceScheduler("force", ["b5"]), ForceScheduler("release", ["release-6"])):
            await s.setServiceParent(self.master.scheduler_manager)
        self.cookie = None

    async def login(self, user, password):
        res = await self.request(
            "GET", "auth/login", headers={"Authorization": basic(user, password)}
        )
        self.assertEqual(res.code, 200, res.body)
        self.cookie = res.header("Set-Cookie").split(";")[0]

    def headers(self, **more):
        if self.cookie:
            more["Cookie"] = self.cookie
        return more

    def call(self, path, method, params=None):
        body = {"jsonrpc": "2.0", "method": method, "params": params or {}, "id": 1}
        return self.request(
            "POST",
            f"api/v2/{path}",
            headers=self.headers(**{"Content-Type": "application/json"}),
            body=json.dumps(body).encode(),
        )

    def read(self, path):
        return self.request(
            "GET", f"api/v2/{path}", headers=self.headers(Accept="application/json")
        )

    async def buildset_ids(self):
        return [bs["bsid"] for bs in (await self.get("buildsets")).json()["buildsets"]]

    def assertDenied(self, res, role):
        self.assertEqual(res.code, 403, res.body)
        self.assertEqual(res.header("Content-Type"), "application/json")
        self.assertEqual(
            res.json(),
            {
                "jsonrpc": "2.0",
                "id": 1,
                "error": {"code": -32600, "message": f"you need to have role '{role}'"},
            },
        )


class AdminOnlyControls(AuthzMixin, db.SQLiteDBMixin, unittest.TestCase):
    www_config = {
        "auth": UserPasswordAuth({"admin": "pw", "bob": "bobpw"}),
        "authz": Authz(
            allowRules=[
                em.ForceBuildEndpointMatcher(role="admins"),
                em.StopBuildEndpointMatcher(role="admins"),
                em.RebuildBuildEndpointMatcher(role="admins"),
                em.EnableSchedulerEndpointMatcher(role="admins"),
            ],
            roleMatchers=[roles.RolesFromUsername(roles=["admins"], usernames=["admin"])],
        ),
    }

    async def test_anonymous_cannot_force(self):
        before = await self.buildset_ids()
        res = await self.call("forceschedulers/force", "force", {"builderNames": ["b5"]})
        self.assertDenied(res, "admins")
        self.assertEqual(await self.buildset_ids(), before)

    async def test_anonymous_cannot_stop_or_cancel(self):
        self.assertDenied(await self.call("builds/12", "stop"), "admins")
        self.assertDenied(await self.call("builders/5/builds/1", "stop"), "admins")
        self.assertDenied(await self.call("buildrequests/14", "cancel"), "admins")
        self.assertEqual(self.mq.productions, [])
        br = (await self.get("buildrequests/14")).json()["buildrequests"][0]
        self.assertFalse(br["complete"])

    async def test_anonymous_cannot_rebuild_or_disable(self):
        before = await self.buildset_ids()
        self.assertDenied(await self.call("builds/12", "rebuild"), "admins")
        self.assertDenied(await self.call("schedulers/3", "enable", {"enabled": False}), "admins")
        self.assertEqual(await self.buildset_ids(), before)
        self.assertTrue((await self.get("schedulers/3")).json()["schedulers"][0]["enabled"])

    async def test_anonymous_can_read(self):
        res = await self.read("builds/12")
        self.assertEqual(res.code, 200)

    async def test_other_user_is_denied(self):
        await self.login("bob", "bobpw")
        self.assertDenied(await self.call("builds/12", "stop"), "admins")

    async def test_admin_can_force_and_is_the_owner(self):
        await self.login("admin", "pw")
        res = await self.call("forceschedulers/force", "force", {"builderNames": ["b5"]})
        self.assertEqual(res.code, 200, res.body)
        bsid = res.json()["result"][0]
        self.assertIn(bsid, await self.buildset_ids())
        props = (await self.get(f"buildsets/{bsid}/properties")).json()["properties"][0]
        self.assertEqual(props["owner"], ["admin", "Force Build Form"])

    async def test_admin_can_stop_cancel_rebuild_enable(self):
        await self.login("admin", "pw")
        self.assertEqual((await self.call("builds/12", "stop")).code, 200)
        self.assertIn(
            (("control", "builds", "12", "stop"), {"reason": "no reason"}), self.mq.productions
        )
        self.assertEqual((await self.call("buildrequests/14", "cancel")).code, 200)
        self.assertEqual((await self.call("builds/12", "rebuild")).code, 200)
        res = await self.call("schedulers/3", "enable", {"enabled": False})
        self.assertEqual(res.code, 200)
        self.assertFalse((await self.get("schedulers/3")).json()["schedulers"][0]["enabled"])

    async def test_wrong_password_is_401(self):
        res = await self.request(
            "GET", "auth/login", headers={"Authorization": basic("admin", "no")}
        )
        self.assertEqual(res.code, 401)
        self.assertEqual(res.header("WWW-Authenticate"), 'Basic realm="buildbot"')
        self.assertIsNone(res.header("Set-Cookie"))

    async def test_logout_forgets_the_user(self):
        await self.login("admin", "pw")
        res = await treq.get(
            f"{self.base_url}/auth/logout",
            headers=self.headers(),
            allow_redirects=False,
            pool=self.pool,
        )
        await treq.content(res)
        self.assertEqual(res.code, 302)
        # to the UI home, as Buildbot 4.3
        self.assertEqual(res.headers.getRawHeaders("Location"), ["http://bb.example.org:8010/#/"])
        self.cookie = res.headers.getRawHeaders("Set-Cookie")[0].split(";")[0]
        self.assertEqual(self.cookie, "TWISTED_SESSION=")
        self.assertDenied(await self.call("builds/12", "stop"), "admins")

    async def test_forged_cookie_is_anonymous(self):
        await self.login("bob", "bobpw")
        name, token = self.cookie.split("=", 1)
        header, claims, sig = token.split(".")
        payload = json.loads(base64.urlsafe_b64decode(claims + "=="))
        payload["user_info"]["username"] = "admin"
        forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        self.cookie = f"{name}={header}.{forged}.{sig}"
        self.assertDenied(await self.call("builds/12", "stop"), "admins")


class ScopedRules(AuthzMixin, db.SQLiteDBMixin, unittest.TestCase):
    www_config = {
        "auth": UserPasswordAuth([("alice", "a"), ("bob", b"b"), ("rel", "r")]),
        "authz": Authz(
            allowRules=[
                em.ForceBuildEndpointMatcher(builder="release-*", role="releasers"),
                em.StopBuildEndpointMatcher(builder="release-*", role="releasers"),
                em.StopBuildEndpointMatcher(role="owner"),
                em.AnyControlEndpointMatcher(role="devs", defaultDeny=False),
                em.AnyEndpointMatcher(role="readers"),
            ],
            roleMatchers=[
                roles.RolesFromUsername(roles="releasers", usernames=["rel"]),
                roles.RolesFromOwner(role="owner"),
                roles.RolesFromEmails(readers=["bob@x.org"]),
                roles.RolesFromGroups(groupPrefix="bb-"),
            ],
        ),
    }

    def setUp(self):
        # emails for the users: a user info provider
        auth = self.www_config["auth"]

        class Info:
            def getUserInfo(self, username):
                from twisted.internet import defer

                return defer.succeed({"email": f"{username}@x.org", "groups": ["bb-readers"]})

        auth.userInfoProvider = Info()
        return super().setUp()

    async def test_release_builder_needs_releasers(self):
        await self.login("alice", "a")
        self.assertDenied(await self.call("forceschedulers/release", "force", {}), "releasers")
        self.assertDenied(await self.call("builds/22", "stop"), "releasers")
        await self.login("rel", "r")
        res = await self.call("forceschedulers/release", "force", {})
        self.assertEqual(res.code, 200, res.body)
        self.assertEqual((await self.call("builds/22", "stop")).code, 200)

    async def test_owner_may_stop_own_build(self):
        await self.login("alice", "a")
        self.assertDenied(await self.call("builds/12", "stop"), "owner")
        self.assertDenied(await self.call("buildrequests/14", "cancel"), "owner")
        await self.login("bob", "b")  # bob@x.org owns buildset 10
        self.assertEqual((await self.call("builds/12", "stop")).code, 200)
        self.assertEqual((await self.call("buildrequests/14", "cancel")).code, 200)

    async def test_reads_need_readers_role(self):
        res = await self.read("builds")
        self.assertEqual(res.code, 403)
        self.assertEqual(res.json(), {"error": "you need to have role 'readers'"})
        await self.login("alice", "a")  # a reader through its group
        self.assertEqual((await self.read("builds")).code, 200)

    async def test_force_non_release_falls_through_to_any(self):
        # not a release builder; AnyControl does not deny; AnyEndpoint wants readers
        res = await self.call("forceschedulers/force", "force", {})
        self.assertDenied(res, "readers")
        await self.login("alice", "a")
        self.assertEqual((await self.call("forceschedulers/force", "force", {})).code, 200)


class DefaultAllowsAll(AuthzMixin, db.SQLiteDBMixin, unittest.TestCase):
    async def test_anonymous_can_control(self):
        res = await self.call("forceschedulers/force", "force", {})
        self.assertEqual(res.code, 200, res.body)
        self.assertEqual((await self.call("builds/12", "stop")).code, 200)

    async def test_no_login_with_noauth(self):
        res = await self.request("GET", "auth/login")
        self.assertEqual(res.code, 501)
        self.assertEqual(res.json(), {"error": "not implemented"})
        self.assertEqual((await self.request("GET", "auth/nothing")).code, 404)


class MatchersAlone(unittest.TestCase):
    def test_string_matchers(self):
        self.assertTrue(fnmatchStrMatcher("release-1", "release-*"))
        self.assertFalse(fnmatchStrMatcher("dev", "release-*"))
        self.assertTrue(reStrMatcher("release-1", r"rel\w+"))
        self.assertFalse(reStrMatcher("xrelease", "rel"))

    def test_authz_with_re_matcher(self):
        authz = Authz(
            allowRules=[em.AnyEndpointMatcher(role="adm.*")],
            roleMatchers=[roles.RolesFromGroups()],
            stringsMatcher=reStrMatcher,
        )
        authz.setMaster(None)
        d = authz.assertUserAllowed(("builds",), "get", {}, {"groups": ["admins"]})
        return d

    async def test_denied_raises_forbidden(self):
        authz = Authz(allowRules=[em.AnyEndpointMatcher(role="x")])
        with self.assertRaises(Forbidden) as cm:
            await authz.assertUserAllowed(("builds",), "GET", {}, None)
        self.assertEqual(cm.exception.message, "you need to have role 'x'")

    async def test_view_and_branch_matchers_never_match(self):
        for m in (
            em.ViewBuildsEndpointMatcher(role="r"),
            em.BranchEndpointMatcher("main", role="r"),
        ):
            self.assertIsNone(await m.match(("builds",), "get"))
        self.assertIn("role='r'", repr(em.ViewBuildsEndpointMatcher(role="r")))

    async def test_any_control_ignores_reads(self):
        m = em.AnyControlEndpointMatcher(role="r")
        self.assertIsNone(await m.match(("builds",), "GET"))
        self.assertIsNone(await m.match(("builds",), "head"))
        self.assertIsNotNone(await m.match(("builds", 1), "stop"))

    def test_roles(self):
        self.assertEqual(
            roles.RolesFromGroups("bb-").getRolesFromUser({"groups": ["bb-a", "c"]}), ["a"]
        )
        self.assertEqual(roles.RolesFromGroups().getRolesFromUser({}), [])
        emails = roles.RolesFromEmails(admins=["a@x.org"], devs="a@x.org")
        self.assertEqual(sorted(emails.getRolesFromUser({"email": "a@x.org"})), ["admins", "devs"])
        self.assertEqual(emails.getRolesFromUser({}), [])
        dom = roles.RolesFromDomain(staff=["Example.org"])
        self.assertEqual(dom.getRolesFromUser({"email": "u@example.ORG"}), ["staff"])
        self.assertEqual(dom.getRolesFromUser({"email": "nobody"}), [])
        self.assertEqual(dom.getRolesFromUser({"email": "u@other.org"}), [])
        users = roles.RolesFromUsername(roles=["a", "b"], usernames="joe")
        self.assertEqual(users.getRolesFromUser({"username": "joe"}), ["a", "b"])
        self.assertEqual(users.getRolesFromUser({"anonymous": True}), [])
        owner = roles.RolesFromOwner("own")
        self.assertEqual(owner.getRolesFromUser({"email": "o@x"}, "o@x"), ["own"])
        self.assertEqual(owner.getRolesFromUser({"email": "o@x"}, None), [])
        self.assertEqual(owner.getRolesFromUser({"email": "p@x"}, "o@x"), [])
        with self.assertRaises(NotImplementedError):
            roles.RolesFromBase().getRolesFromUser({})
