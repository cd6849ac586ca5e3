"""Auth plugins: user/password checks, htpasswd hashes, remote user header, custom
auth, user info providers, the UI config entries; and c['www'] validation."""

import base64
import subprocess

from twisted.internet import defer
from twisted.trial import unittest

from buildbot.config.keys import _is_positive_timedelta, _is_www_auth, _is_www_authz
from buildbot.test.util import db
from buildbot.test.util.www import WwwMixin
from buildbot.www import auth
from buildbot.www.authz import Authz


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Checks(unittest.TestCase):
    def test_user_password(self):
        a = auth.UserPasswordAuth({"u": "p", "b": b"bytes"})
        self.assertTrue(a.check_credentials("u", "p"))
        self.assertTrue(a.check_credentials("b", "bytes"))
        self.assertFalse(a.check_credentials("u", "x"))
        self.assertFalse(a.check_credentials("nobody", "p"))
        self.assertEqual(auth.UserPasswordAuth([(b"u", "p")]).users, {"u": b"p"})

    def test_md5_crypt_matches_openssl(self):
        for flag, magic in (("-apr1", b"$apr1$"), ("-1", b"$1$")):
            expected = subprocess.check_output(
                ["openssl", "passwd", flag, "-salt", "abcdefgh", "pass word"]
            ).strip()
            self.assertEqual(auth.md5_crypt(b"pass word", b"abcdefgh", magic), expected)

    async def test_htpasswd(self):
        path = self.mktemp()
        apr1 = auth.md5_crypt(b"s1", b"saltsalt").decode()
        with open(path, "w") as f:
            f.write(f"apr:{apr1}\n")
            f.write(
                "sha:{SHA}"
                + base64.b64encode(__import__("hashlib").sha1(b"s2").digest()).decode()
                + "\n"
            )
            f.write("plain:s3\n")
            f.write("des:abJnggxhB/yWI\n")  # crypt("secret", "ab")
        a = auth.HTPasswdAuth(path)
        self.assertTrue(await a.check_credentials("apr", "s1"))
        self.assertFalse(await a.check_credentials("apr", "s2"))
        self.assertTrue(await a.check_credentials("sha", "s2"))
        self.assertFalse(await a.check_credentials("sha", "s1"))
        self.assertTrue(await a.check_credentials("plain", "s3"))
        self.assertFalse(await a.check_credentials("nobody", "s3"))
        self.assertIsInstance(await a.check_credentials("des", "secret"), bool)

    def test_bcrypt(self):
        try:
            import bcrypt
        except ImportError:
            raise unittest.SkipTest("bcrypt not installed")
        hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode().replace("$2b$", "$2y$")
        self.assertTrue(auth.verify_htpasswd(hashed, b"pw"))
        self.assertFalse(auth.verify_htpasswd(hashed, b"no"))

    def test_owner_of(self):
        self.assertEqual(auth.owner_of({"email": "e", "username": "u"}), "e")
        self.assertEqual(auth.owner_of({"username": "u", "full_name": "F"}), "u")
        self.assertEqual(auth.owner_of({"full_name": "F"}), "F")
        self.assertEqual(auth.owner_of({"anonymous": True}), "anonymous")

    def test_config_validation_helpers(self):
        import datetime

        self.assertTrue(_is_www_auth(auth.NoAuth()))
        self.assertFalse(_is_www_auth("NoAuth"))
        self.assertTrue(_is_www_authz(Authz()))
        self.assertFalse(_is_www_authz(object()))
        self.assertTrue(_is_positive_timedelta(datetime.timedelta(hours=1)))
        self.assertFalse(_is_positive_timedelta(datetime.timedelta(0)))
        self.assertFalse(_is_positive_timedelta(3600))

    def test_custom_auth_must_be_subclassed(self):
        with self.assertRaises(NotImplementedError):
            auth.CustomAuth().check_credentials("u", "p")
        self.assertEqual(repr(auth.NoAuth()), "NoAuth()")


class Infos(auth.UserInfoProviderBase):
    def getUserInfo(self, username):
        return defer.succeed({"email": f"{username}@corp", "groups": ["g"]})


class MyAuth(auth.CustomAuth):
    def check_credentials(self, user, password):
        return defer.succeed(password == user[::-1])


class CustomLogin(WwwMixin, db.SQLiteDBMixin, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        self.www.root.putChild(b"auth", auth.make_auth_resource(self.www))
        await self.reconfig_www(auth=MyAuth(userInfoProvider=Infos()))

    async def test_login_and_user_info(self):
        res = await self.request("GET", "auth/login", headers=basic("abc", "cba"))
        self.assertEqual(res.code, 200)
        cookie = res.header("Set-Cookie").split(";")[0]
        self.assertIn("HttpOnly", res.header("Set-Cookie"))
        token = cookie.split("=", 1)[1].encode()
        request = type(
            "R",
            (),
            {
                "getHeader": lambda s, n: None,
                "isSecure": lambda s: False,
                "getCookie": lambda s, n: token,
            },
        )()
        conf = await auth.user_config(self.www, request)
        self.assertEqual(
            conf,
            {
                "auth": {"name": "MyAuth"},
                "authz": {},
                "user": {"username": "abc", "email": "abc@corp", "groups": ["g"]},
            },
        )

    async def test_bad_login(self):
        res = await self.request("GET", "auth/login", headers=basic("abc", "abc"))
        self.assertEqual(res.code, 401)
        self.assertEqual((await self.request("GET", "auth/login")).code, 401)

    async def test_default_provider(self):
        self.assertEqual(await auth.UserInfoProviderBase().getUserInfo("x"), {"email": "x"})


class RemoteUser(WwwMixin, db.SQLiteDBMixin, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        self.www.root.putChild(b"auth", auth.make_auth_resource(self.www))
        await self.reconfig_www(
            auth=auth.RemoteUserAuth(header="X-User", headerRegex=r"(?P<username>\w+)")
        )

    async def test_header_gives_the_user(self):
        res = await self.request("GET", "auth/login", headers={"X-User": "joe"})
        self.assertEqual(res.code, 200)
        self.assertIsNotNone(res.header("Set-Cookie"))

    async def test_missing_or_bad_header_is_403(self):
        res = await self.request("GET", "auth/login")
        self.assertEqual(res.code, 403)
        self.assertIn("missing http header X-User", res.json()["error"])
        res = await self.get("builds")
        self.assertEqual(res.code, 403)
        res = await self.request("GET", "auth/login", headers={"X-User": "!!"})
        self.assertEqual(res.code, 403)
        self.assertIn("does not match regex", res.json()["error"])

    async def test_default_regex(self):
        a = auth.RemoteUserAuth()
        req = type(
            "R", (), {"getHeader": lambda s, n: b"joe@REALM" if n == b"REMOTE_USER" else None}
        )()
        self.assertEqual(
            await a.maybeAutoLogin(self.www, req), {"username": "joe", "realm": "REALM"}
        )
