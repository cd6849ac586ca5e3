from twisted.trial import unittest

from buildbot.config.builder import BuilderConfig
from buildbot.config.master import MasterConfig
from buildbot.process.botmaster import BotMaster
from buildbot.process.factory import BuildFactory
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin
from buildbot.test.unit.config.configfakes import FakeProject
from buildbot.worker import Worker
from buildbot.worker.manager import WorkerManager


def make_config(builders, workers):
    return MasterConfig.loadFromDict(
        {
            "multiMaster": True,
            "projects": [FakeProject("p")],
            "protocols": {"pb": {"port": 9989}},
            "workers": [Worker(name, "pw") for name in workers],
            "builders": [
                BuilderConfig(name=name, workernames=names, factory=BuildFactory(), **extra)
                for name, names, extra in builders
            ],
        },
        "master.cfg",
    )


class TestBotMasterAndWorkers(TestReactorMixin, unittest.TestCase):
    async def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(
            self, wantDb=True, wantMq=True, wantData=True, masterid=1
        )
        await self.master.db.insert_test_data([fakedb.Master(id=1, name="m")])
        self.botmaster = BotMaster()
        await self.botmaster.setServiceParent(self.master)
        self.workers = WorkerManager()
        await self.workers.setServiceParent(self.master)
        self.master.botmaster, self.master.workers = self.botmaster, self.workers
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def reconfig(self, builders, workers):
        cfg = make_config(builders, workers)
        # the master reconfigures its children by priority: builders, then workers
        await self.master.reconfigServiceWithBuildbotConfig(cfg)
        return cfg

    async def builders(self):
        return {
            b["name"]: b
            for b in await self.master.data.get(("builders",))
            if b["masterids"]  # builders this or another master runs
        }

    async def test_builders_added_changed_removed(self):
        await self.reconfig(
            [
                ("b1", ["w1"], {"tags": ["fast"], "description": "first", "project": "p"}),
                ("b2", ["w1", "w2"], {}),
            ],
            ["w1", "w2"],
        )
        self.assertEqual(sorted(self.botmaster.builders), ["b1", "b2"])
        self.assertEqual(self.botmaster.builderNames, ["b1", "b2"])
        b1 = self.botmaster.builders["b1"]
        builders = await self.builders()
        self.assertEqual(sorted(builders), ["b1", "b2"])
        self.assertEqual(builders["b1"]["tags"], ["fast"])
        self.assertEqual(builders["b1"]["description"], "first")
        self.assertIsNotNone(builders["b1"]["projectid"])
        self.assertEqual(builders["b2"]["masterids"], [1])
        self.assertIs(self.botmaster.getBuilderById(b1.builderid), b1)

        self.master.mq.clearProductions()
        await self.reconfig([("b1", ["w2"], {"tags": ["slow"]}), ("b3", ["w2"], {})], ["w2"])
        self.assertIs(self.botmaster.builders["b1"], b1)
        self.assertEqual(b1.config.tags, ["slow"])
        self.assertEqual(sorted(self.botmaster.builders), ["b1", "b3"])
        builders = await self.builders()
        self.assertEqual(sorted(builders), ["b1", "b3"])
        self.assertEqual(builders["b1"]["tags"], ["slow"])
        events = [k for k, _ in self.master.mq.productions if k[0] == "builders"]
        self.assertIn(("builders", str(builders["b3"]["builderid"]), "started"), events)
        stopped = [k for k in events if k[-1] == "stopped"]
        self.assertEqual(len(stopped), 1)
        self.assertIsNone(self.botmaster.getBuilderById(12345))

    async def test_workers_record_the_builders_they_serve(self):
        await self.reconfig([("b1", ["w1"], {}), ("b2", ["w1", "w2"], {})], ["w1", "w2", "w3"])
        builders = await self.builders()
        served = {}
        for w in await self.master.data.get(("workers",)):
            served[w["name"]] = sorted(c["builderid"] for c in w["configured_on"])
        ids = {name: b["builderid"] for name, b in builders.items()}
        self.assertEqual(
            served, {"w1": sorted([ids["b1"], ids["b2"]]), "w2": [ids["b2"]], "w3": []}
        )
        self.assertEqual(sorted(self.workers.namedServices), ["w1", "w2", "w3"])

        # w1 removed, w2 moves to b1: the DB follows
        await self.reconfig([("b1", ["w2"], {})], ["w2"])
        served = {
            w["name"]: [c["builderid"] for c in w["configured_on"]]
            for w in await self.master.data.get(("workers",))
        }
        self.assertEqual(served["w2"], [ids["b1"]])
        self.assertEqual(served["w1"], [])
        self.assertEqual(sorted(self.workers.namedServices), ["w2"])

    async def test_builder_missing_from_config_keeps_its_old_settings(self):
        await self.reconfig([("b1", ["w1"], {})], ["w1"])
        b1 = self.botmaster.builders["b1"]
        old = b1.config
        await b1.reconfigServiceWithBuildbotConfig(make_config([("b2", ["w1"], {})], ["w1"]))
        self.assertIs(b1.config, old)


class TestDescriptionHtml(unittest.TestCase):
    def test_only_markdown_is_rendered(self):
        from buildbot.process.builder import _description_html

        self.assertIsNone(_description_html(None, "markdown"))
        self.assertIsNone(_description_html("text", None))
        self.assertIsNone(_description_html("text", "rst"))
        try:
            import markdown  # noqa: F401
        except ImportError:
            self.assertIsNone(_description_html("*a*", "markdown"))
        else:
            self.assertIn("<em>a</em>", _description_html("*a*", "markdown"))
