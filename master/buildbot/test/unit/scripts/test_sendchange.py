import os
import sys

from twisted.cred import checkers, portal
from twisted.internet import reactor, utils
from twisted.spread import pb
from twisted.trial import unittest
from zope.interface import implementer

from buildbot.scripts import sendchange


class ChangePerspective(pb.Avatar):
    def __init__(self, received):
        self.received = received

    def perspective_addChange(self, change):
        self.received.append(change)


@implementer(portal.IRealm)
class Realm:
    def __init__(self):
        self.received = []

    def requestAvatar(self, avatarId, mind, *interfaces):
        return pb.IPerspective, ChangePerspective(self.received), lambda: None


class PBServerMixin:
    def start_server(self):
        self.realm = Realm()
        checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(change=b"changepw", u=b"pw")
        factory = pb.PBServerFactory(portal.Portal(self.realm, [checker]))
        self.port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        return f"127.0.0.1:{self.port.getHost().port}"


def options(*args):
    opts = sendchange.SendChangeOptions()
    opts.parseOptions(list(args))
    return opts


class TestOptions(unittest.TestCase):
    def test_change_from_options(self):
        opts = options(
            "-m", "h:1", "-W", "me", "-b", "main", "-r", "abc", "-c", "msg", "-p", "a:1",
            "--property", "b:x:y", "-s", "git", "--codebase", "cb", "-w", "12.5", "f1", "f2",
        )  # fmt: skip
        change = sendchange.change_from_options(opts)
        self.assertEqual(
            change,
            {
                "who": "me",
                "files": ["f1", "f2"],
                "comments": "msg",
                "branch": "main",
                "revision": "abc",
                "category": None,
                "when": 12.5,
                "properties": {"a": "1", "b": "x:y"},
                "repository": "",
                "project": "",
                "revlink": "",
                "src": "git",
                "codebase": "cb",
            },
        )

    def test_comments_and_revision_from_files(self):
        log = self.mktemp()
        with open(log, "wb") as f:
            f.write("déjà vu\n".encode("latin-1"))
        rev = self.mktemp()
        with open(rev, "w") as f:
            f.write("  deadbeef\n")
        opts = options("-m", "h:1", "-W", "me", "-F", log, "-e", "latin-1", "--revision_file", rev)
        change = sendchange.change_from_options(opts)
        self.assertEqual((change["comments"], change["revision"]), ("déjà vu\n", "deadbeef"))
        self.assertNotIn("codebase", change)

    def test_bad_options(self):
        from twisted.python import usage

        for args, message in [
            (["-W", "me"], "master location"),
            (["-m", "nohost", "-W", "me"], "host:port"),
            (["-m", "h:1"], "committer"),
            (["-m", "h:1", "-W", "me", "-s", "rcs"], "vc must be one of"),
            (["-m", "h:1", "-W", "me", "-w", "soon"], "--when must be a number"),
            (["-m", "h:1", "-W", "me", "-p", "novalue"], "name:value"),
        ]:
            with self.assertRaises(usage.UsageError) as cm:
                options(*args)
            self.assertIn(message, str(cm.exception))

    def test_auth(self):
        self.assertEqual(sendchange.parse_auth(None), ("change", "changepw"))
        self.assertEqual(sendchange.parse_auth("u:p:q"), ("u", "p:q"))
        self.patch(sendchange.getpass, "getpass", lambda prompt: "typed")
        self.assertEqual(sendchange.parse_auth("u"), ("u", "typed"))


class TestSend(PBServerMixin, unittest.TestCase):
    async def test_send_change(self):
        master = self.start_server()
        await sendchange.send_change(reactor, master, "u", "pw", {"who": "me", "files": ["a"]})
        self.assertEqual(self.realm.received, [{"who": "me", "files": ["a"]}])

    async def test_wrong_password_fails(self):
        from twisted.cred.error import UnauthorizedLogin

        master = self.start_server()
        with self.assertRaises(pb.RemoteError) as cm:
            await sendchange.send_change(reactor, master, "u", "bad", {"who": "me"})
        self.assertIn(b"UnauthorizedLogin", cm.exception.remoteType)
        self.assertEqual(self.realm.received, [])
        self.flushLoggedErrors(UnauthorizedLogin)

    def run_command(self, *args):
        exe = os.path.join(os.path.dirname(sys.executable), "buildbot")
        return utils.getProcessOutputAndValue(exe, ["sendchange", *args], env=os.environ)

    async def test_command_line(self):
        from twisted.cred.error import UnauthorizedLogin

        master = self.start_server()
        out, err, code = await self.run_command("-m", master, "-W", "me", "-c", "hi", "f")
        self.assertEqual(code, 0, err)
        self.assertIn(b"change sent successfully", out)
        self.assertEqual(self.realm.received[0]["comments"], "hi")
        self.assertEqual(self.realm.received[0]["files"], ["f"])

        out, err, code = await self.run_command("-m", master, "-W", "me", "-a", "u:wrong")
        self.assertEqual(code, 1)
        self.assertIn(b"change not sent: the master refused the login", err)
        self.flushLoggedErrors(UnauthorizedLogin)

        out, err, code = await self.run_command("-m", master, "-W", "me", "-F", "/nonexistent/log")
        self.assertEqual(code, 1)
        self.assertIn(b"No such file", err)
        self.assertEqual(len(self.realm.received), 1)

    async def test_unreachable_master(self):
        from twisted.internet import error, protocol

        port = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
        address = f"127.0.0.1:{port.getHost().port}"
        await port.stopListening()
        with self.assertRaises(error.ConnectionRefusedError):
            await sendchange.send_change(reactor, address, "u", "pw", {})
