"""The JWT session: secret kept in the DB state, lifetime, cookie name and attributes."""

import datetime
from types import SimpleNamespace

import jwt
from twisted.internet import task
from twisted.trial import unittest

from buildbot.test.util import db
from buildbot.test.util.www import WwwMixin
from buildbot.www import session


class FakeRequest:
    def __init__(self, cookies=None, secure=False):
        self.cookies = cookies or {}
        self.secure = secure
        self.added = []

    def isSecure(self):
        return self.secure

    def getCookie(self, name):
        return self.cookies.get(name)

    def addCookie(self, name, value, **kw):
        self.added.append((name, value, kw))


class SessionTests(WwwMixin, db.SQLiteDBMixin, unittest.TestCase):
    async def test_secret_is_persisted_in_the_db(self):
        first = await session.SessionManager(self.www).secret()
        again = await session.SessionManager(self.www).secret()  # e.g. after a restart
        self.assertEqual(first, again)
        self.assertEqual(len(first), 64)
        objectid = await self.master.db.state.getObjectId(*session.STATE_OBJECT)
        self.assertEqual(await self.master.db.state.getState(objectid, "session_secret"), first)

    async def test_round_trip_and_lifetime(self):
        clock = task.Clock()
        clock.advance(1000)
        self.patch(self.www, "reactor", clock)
        await self.reconfig_www(cookie_expiration_time=datetime.timedelta(hours=1))
        mgr = session.SessionManager(self.www)
        req = FakeRequest()
        await mgr.set_user_info(req, {"username": "u"})
        ((name, token, kw),) = req.added
        self.assertEqual(name, b"TWISTED_SESSION")
        self.assertEqual(kw["path"], b"/")
        self.assertTrue(kw["httpOnly"])
        claims = jwt.decode(token, await mgr.secret(), ["HS256"], options={"verify_exp": False})
        self.assertEqual(claims, {"user_info": {"username": "u"}, "exp": 4600})
        got = await mgr.get_user_info(FakeRequest({b"TWISTED_SESSION": token}))
        self.assertEqual(got, {"username": "u"})
        clock.advance(3600)
        got = await mgr.get_user_info(FakeRequest({b"TWISTED_SESSION": token}))
        self.assertEqual(got, {"anonymous": True})

    async def test_invalid_tokens_are_anonymous(self):
        mgr = session.sessions_for(self.www)
        self.assertIs(session.sessions_for(self.www), mgr)
        self.assertEqual(await mgr.get_user_info(FakeRequest()), {"anonymous": True})
        for token in (
            b"garbage",
            jwt.encode({"user_info": {"username": "x"}, "exp": 2**40}, "other"),
        ):
            got = await mgr.get_user_info(FakeRequest({b"TWISTED_SESSION": token}))
            self.assertEqual(got, {"anonymous": True})
        bad = jwt.encode({"user_info": ["x"], "exp": 2**40}, await mgr.secret())
        self.assertIsNone(await mgr.decode(bad))

    async def test_cookie_name_under_a_path_and_tls(self):
        await self.reconfig_www(buildbotURL="https://ci.example.org/bb/main")
        mgr = session.SessionManager(self.www)
        req = FakeRequest(secure=True)
        await mgr.set_user_info(req, {"username": "u"})
        mgr.clear(req)
        (name, _, kw), (name2, value2, _) = req.added
        self.assertEqual(name, b"TWISTED_SECURE_SESSION_bb_main")
        self.assertEqual((kw["path"], kw["secure"]), (b"/bb/main/", True))
        self.assertEqual((name2, value2), (name, b""))


class NoDatabase(unittest.TestCase):
    async def test_secret_without_db(self):
        www = SimpleNamespace(master=SimpleNamespace(), config={}, buildbotURL="http://x/")
        mgr = session.SessionManager(www)
        self.assertEqual(await mgr.secret(), await mgr.secret())
        self.assertEqual(mgr.lifetime(), datetime.timedelta(weeks=1))
