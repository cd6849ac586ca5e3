from twisted.internet import reactor
from twisted.trial import unittest

from buildbot import config
from buildbot.changes.pb import PBChangeSource
from buildbot.config.master import MasterConfig
from buildbot.pbmanager import PBManager
from buildbot.scripts.sendchange import send_change
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster

PORT = "tcp:0:interface=127.0.0.1"


class TestPBChangeSource(unittest.TestCase):
    async def setUp(self):
        self.master = fakemaster.make_master(
            self, wantDb=True, wantMq=True, wantData=True, reactor=reactor, masterid=1
        )
        await self.master.db.insert_test_data([fakedb.Master(id=1, name="m")])
        self.master.config = MasterConfig()
        self.master.config.protocols = {"pb": {"port": PORT}}
        self.master.pbmanager = PBManager()
        await self.master.pbmanager.setServiceParent(self.master)
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def start(self, **kwargs):
        source = PBChangeSource(**kwargs)
        await source.setServiceParent(self.master)
        await source._activityPoll()
        self.assertTrue(source.isActive())
        dispatcher = self.master.pbmanager.getDispatcher(kwargs.get("port", PORT))
        return source, f"127.0.0.1:{dispatcher.getPort()}"

    async def changes(self):
        return await self.master.data.get(("changes",))

    async def test_sendchange_reaches_the_data_api(self):
        _, address = await self.start()
        change = {
            "who": "me <me@x>",
            "files": ["a.c", "b.c"],
            "comments": "fix",
            "branch": "main",
            "revision": "abc",
            "when": 1700000000.5,
            "properties": {"p": "1"},
            "repository": "repo",
            "project": "proj",
            "revlink": "",
            "src": "git",
            "category": None,
            "isdir": 0,
        }
        await send_change(reactor, address, "change", "changepw", change)
        [got] = await self.changes()
        self.assertEqual(got["author"], "me <me@x>")
        self.assertEqual(got["files"], ["a.c", "b.c"])
        self.assertEqual(got["when_timestamp"], 1700000000)
        self.assertEqual((got["branch"], got["revision"]), ("main", "abc"))
        self.assertEqual({k: list(v) for k, v in got["properties"].items()}, {"p": ["1", "Change"]})
        self.master.data.updates.assertCalled("addChange", author="me <me@x>", src="git")

    async def test_prefix_keeps_only_files_under_it(self):
        _, address = await self.start(prefix="trunk/", user="u", passwd="pw", name="ch")
        await send_change(
            reactor, address, "u", "pw", {"who": "a", "files": ["trunk/x.c", "other/y.c"]}
        )
        await send_change(reactor, address, "u", "pw", {"who": "a", "files": ["other/z.c"]})
        changes = await self.changes()
        self.assertEqual([c["files"] for c in changes], [["x.c"]])

    async def test_unknown_keys_are_dropped(self):
        _, address = await self.start()
        await send_change(reactor, address, "change", "changepw", {"author": "a", "frobnicate": 1})
        self.assertEqual(len(await self.changes()), 1)

    async def test_deactivated_stops_listening_for_it(self):
        source, address = await self.start(user="u", passwd="pw")
        self.assertEqual(source.describe(), "PBChangeSource listener on the workers' port")
        await source.disownServiceParent()
        self.assertIsNone(self.master.pbmanager.getDispatcher(PORT))

    async def test_reconfig_while_active_registers_again(self):
        source, _ = await self.start(user="u", passwd="pw")
        await source.reconfigServiceWithSibling(PBChangeSource(user="v", passwd="pw2"))
        dispatcher = self.master.pbmanager.getDispatcher(PORT)
        self.assertEqual(list(dispatcher.users), ["v"])
        address = f"127.0.0.1:{dispatcher.getPort()}"
        await send_change(reactor, address, "v", "pw2", {"who": "a", "files": []})
        self.assertEqual(len(await self.changes()), 1)

    async def test_own_port(self):
        _, address = await self.start(port="tcp:0:interface=127.0.0.1", name="own")
        self.assertTrue(address.startswith("127.0.0.1:"))

    def test_names_and_checks(self):
        self.assertEqual(PBChangeSource().name, "PBChangeSource:change")
        self.assertEqual(PBChangeSource(port=9999).name, "PBChangeSource:change:9999")
        with config.capture_config_errors() as errors:
            PBChangeSource(user="", port=1.5, prefix=3)
        self.assertEqual(len(errors.errors), 3)

    async def test_no_port_anywhere(self):
        self.master.config.protocols = {}
        source = PBChangeSource()
        await source.setServiceParent(self.master)
        self.assertFalse(source.isActive())
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
