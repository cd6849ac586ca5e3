from twisted.internet import defer
from twisted.trial import unittest

from buildbot import config
from buildbot.changes import base
from buildbot.test import fakedb
from buildbot.test.fake import fakemaster
from buildbot.test.reactor import TestReactorMixin


class Poller(base.ReconfigurablePollingChangeSource):
    """Records the time of each poll; a poll waits for `self.block` if set."""

    def __init__(self, name="poller", **kwargs):
        super().__init__(name=name, **kwargs)
        self.times = []
        self.block = None
        self.fail_next = False

    def poll(self):
        self.times.append(self.reactor.seconds())
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("poll broke")
        if self.block is not None:
            return self.block
        return defer.succeed(None)


class TestPolling(TestReactorMixin, unittest.TestCase):
    async def setUp(self):
        self.setup_test_reactor()
        self.master = fakemaster.make_master(
            self, wantDb=True, wantData=True, wantMq=True, masterid=1
        )
        await self.master.db.insert_test_data([fakedb.Master(id=1, name="m")])
        await self.master.startService()
        self.addCleanup(self.master.stopService)

    async def start(self, **kwargs):
        poller = Poller(**kwargs)
        await poller.setServiceParent(self.master)
        self.assertTrue(poller.isActive())
        return poller

    async def test_polls_every_interval(self):
        poller = await self.start(pollInterval=10)
        self.assertEqual(poller.times, [])
        self.reactor.advance(10)
        self.reactor.advance(10)
        self.reactor.advance(5)
        self.assertEqual(poller.times, [10, 20])

    async def test_default_interval(self):
        poller = await self.start()
        self.reactor.pump([300] * 4)
        self.assertEqual(poller.times, [600, 1200])

    async def test_poll_at_launch(self):
        poller = await self.start(pollInterval=10, pollAtLaunch=True)
        self.assertEqual(poller.times, [0])
        self.reactor.advance(10)
        self.assertEqual(poller.times, [0, 10])

    async def test_random_delay_within_bounds(self):
        poller = await self.start(pollInterval=100, pollRandomDelayMin=5, pollRandomDelayMax=20)
        for _ in range(20):
            self.reactor.pump([1] * 100)
        self.reactor.pump([1] * 20)
        self.assertEqual(len(poller.times), 20)
        for i, t in enumerate(poller.times):
            self.assertTrue(100 * (i + 1) + 5 <= t <= 100 * (i + 1) + 20, (i, t))
        # not all the same delay
        self.assertGreater(len({t % 100 for t in poller.times}), 1)

    async def test_fixed_delay(self):
        poller = await self.start(pollInterval=10, pollRandomDelayMin=3, pollRandomDelayMax=3)
        self.reactor.pump([1] * 25)
        self.assertEqual(poller.times, [13, 23])

    async def test_polls_never_overlap(self):
        poller = await self.start(pollInterval=10)
        poller.block = defer.Deferred()
        self.reactor.advance(10)
        self.reactor.advance(10)
        self.reactor.advance(10)
        self.assertEqual(poller.times, [10])  # the polls due at 20 and 30 were skipped
        block, poller.block = poller.block, None
        block.callback(None)
        self.reactor.advance(10)
        self.assertEqual(poller.times, [10, 40])

    async def test_failing_poll_is_logged_and_retried(self):
        poller = await self.start(pollInterval=10)
        poller.fail_next = True
        self.reactor.advance(10)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.reactor.advance(10)
        self.assertEqual(poller.times, [10, 20])
        self.assertEqual(self.flushLoggedErrors(RuntimeError), [])

    async def test_failing_deferred_poll_is_logged(self):
        poller = await self.start(pollInterval=10)
        poller.block = defer.Deferred()
        self.reactor.advance(10)
        poller.block.errback(RuntimeError("late failure"))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        poller.block = None
        self.reactor.advance(10)
        self.assertEqual(poller.times, [10, 20])

    async def test_force_polls_now(self):
        poller = await self.start(pollInterval=10)
        self.reactor.advance(3)
        await poller.force()
        self.assertEqual(poller.times, [3])
        self.reactor.advance(7)
        self.assertEqual(poller.times, [3, 10])

    async def test_force_during_poll_polls_again_after_it(self):
        poller = await self.start(pollInterval=10)
        poller.block = defer.Deferred()
        self.reactor.advance(10)
        forced = poller.force()
        self.assertFalse(forced.called)
        block, poller.block = poller.block, None
        self.reactor.advance(1)
        block.callback(None)
        self.assertTrue(forced.called)
        self.assertEqual(poller.times, [10, 11])

    async def test_two_forces_during_poll_poll_once_more(self):
        poller = await self.start(pollInterval=10)
        poller.block = defer.Deferred()
        self.reactor.advance(10)
        forced = [poller.force(), poller.force()]
        block, poller.block = poller.block, defer.Deferred()
        block.callback(None)
        self.assertEqual(poller.times, [10, 10])
        self.assertFalse(any(d.called for d in forced))
        poller.block.callback(None)
        self.assertTrue(all(d.called for d in forced))
        self.assertEqual(poller.times, [10, 10])

    async def test_force_overtakes_a_delayed_poll(self):
        poller = await self.start(pollInterval=10, pollRandomDelayMin=5, pollRandomDelayMax=5)
        self.reactor.advance(11)
        await poller.force()
        self.reactor.pump([1] * 14)
        self.assertEqual(poller.times, [11, 25])

    async def test_force_failure_is_logged(self):
        poller = await self.start(pollInterval=10)
        poller.fail_next = True
        await poller.force()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_reconfig_changes_interval(self):
        poller = await self.start(pollInterval=10)
        self.reactor.advance(10)
        await poller.reconfigServiceWithSibling(Poller(pollInterval=50))
        self.assertEqual(poller.pollInterval, 50)
        self.reactor.pump([10] * 10)
        self.assertEqual(poller.times, [10, 60, 110])

    async def test_reconfig_same_interval_keeps_rhythm(self):
        poller = await self.start(pollInterval=10)
        self.reactor.advance(5)
        await poller.reconfigServiceWithSibling(Poller(pollInterval=10, pollRandomDelayMax=0))
        self.reactor.advance(5)
        self.assertEqual(poller.times, [10])

    async def test_stop_waits_for_poll_and_stops_polling(self):
        poller = await self.start(pollInterval=10)
        poller.block = defer.Deferred()
        self.reactor.advance(10)
        stopped = poller.disownServiceParent()
        self.assertFalse(stopped.called)
        poller.block.callback(None)
        await stopped
        self.assertFalse(poller.isActive())
        self.reactor.pump([10] * 5)
        self.assertEqual(poller.times, [10])

    async def test_stop_cancels_delayed_poll(self):
        poller = await self.start(pollInterval=10, pollRandomDelayMin=5, pollRandomDelayMax=5)
        self.reactor.advance(11)
        await poller.disownServiceParent()
        self.reactor.pump([10] * 5)
        self.assertEqual(poller.times, [])

    async def test_inactive_master_does_not_poll(self):
        other = fakemaster.make_master(
            self, wantDb=True, wantData=True, wantMq=True, masterid=2, reactor=self.reactor
        )
        other.db = self.master.db
        other.data.updates.override("trySetChangeSourceMaster", lambda serviceid, masterid: False)
        await other.startService()
        self.addCleanup(other.stopService)
        poller = Poller(pollInterval=10)
        await poller.setServiceParent(other)
        self.assertFalse(poller.isActive())
        self.reactor.pump([10] * 5)
        self.assertEqual(poller.times, [])

    def test_default_poll_does_nothing(self):
        source = base.ReconfigurablePollingChangeSource(name="x")
        self.assertTrue(source.poll().called)


class TestConfig(unittest.TestCase):
    def errors(self, **kwargs):
        with config.capture_config_errors() as errors:
            Poller(**kwargs)
        return errors.errors

    def test_valid(self):
        self.assertEqual(
            self.errors(pollInterval=60, pollRandomDelayMin=1, pollRandomDelayMax=59), []
        )

    def test_bad_interval(self):
        self.assertIn("pollInterval", self.errors(pollInterval=0)[0])
        self.assertIn("pollInterval", self.errors(pollInterval="10")[0])

    def test_negative_delays(self):
        self.assertEqual(len(self.errors(pollRandomDelayMin=-1, pollRandomDelayMax=-2)), 2)
        self.assertEqual(len(self.errors(pollRandomDelayMax=True)), 1)

    def test_min_above_max(self):
        [error] = self.errors(pollRandomDelayMin=5, pollRandomDelayMax=3)
        self.assertIn("pollRandomDelayMin", error)

    def test_max_not_below_interval(self):
        [error] = self.errors(pollInterval=10, pollRandomDelayMax=10)
        self.assertIn("must be less than pollInterval", error)

    def test_errors_raise_outside_config_loading(self):
        with self.assertRaises(config.ConfigErrors):
            Poller(pollInterval=-5)


class LegacyPoller(base.PollingChangeSource):
    def __init__(self, url, **kwargs):
        super().__init__(**kwargs)
        self.url = url


class TestPollingChangeSource(unittest.TestCase):
    def test_settings_known_at_construction(self):
        poller = LegacyPoller("u", name="legacy", pollInterval=42, pollAtLaunch=True)
        self.assertEqual((poller.name, poller.url), ("legacy", "u"))
        self.assertEqual(poller.pollInterval, 42)
        self.assertTrue(poller.pollAtLaunch)
        self.assertEqual((poller.pollRandomDelayMin, poller.pollRandomDelayMax), (0, 0))

    def test_is_a_change_source(self):
        self.assertIsInstance(LegacyPoller("u"), base.ChangeSource)
        self.assertEqual(LegacyPoller("u", name="n").describe(), "n")
