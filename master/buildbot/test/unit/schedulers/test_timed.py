"""Timed schedulers: the cron arithmetic in local time, the timer and its saved
state across restarts, onlyIfChanged, force_at_*, and NightlyTriggerable."""

from __future__ import annotations

import os
import time

from twisted.trial import unittest

from buildbot import config, interfaces
from buildbot.process.properties import Properties
from buildbot.process.results import SUCCESS
from buildbot.schedulers.base import DisabledSchedulerError
from buildbot.schedulers.timed import (
    Nightly,
    NightlyTriggerable,
    Periodic,
    Timed,
    cron_field,
    next_cron_time,
)
from buildbot.test import fakedb
from buildbot.test.unit.schedulers.test_base import Started
from buildbot.util import eventual

# Central European time, with its DST rule, spelt so that no tz database is needed
CET = "CET-1CEST,M3.5.0,M10.5.0/3"


def set_tz(testcase, tz):
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()

    def restore():
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()

    testcase.addCleanup(restore)


def local(y, mo, d, h=0, mi=0, s=0):
    """Epoch seconds of a local wall-clock time (in the TZ the test set)."""
    return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))


def as_local(ts):
    return time.strftime("%Y-%m-%d %H:%M %a", time.localtime(ts))


def config_errors(fn):
    with config.capture_config_errors() as errors:
        fn()
    return errors.errors


class ConfigTests(unittest.TestCase):
    def test_positional_forms(self):
        p = Periodic("p", ["a"], 30)
        self.assertEqual((p.name, p.listBuilderNames(), p.periodicBuildTimer), ("p", ["a"], 30))
        n = Nightly("n", ["a"], 5, 3, 1, 2, 4)
        self.assertEqual((n.minute, n.hour, n.dayOfMonth, n.month, n.dayOfWeek), (5, 3, 1, 2, 4))
        t = NightlyTriggerable("t", ["a"], 7, 3)
        self.assertEqual((t.minute, t.hour), (7, 3))
        self.assertNotIsInstance(t, Nightly)
        self.assertEqual(len(config_errors(lambda: NightlyTriggerable("t", ["a"], hour=24))), 1)
        self.assertTrue(interfaces.ITriggerableScheduler.providedBy(t))
        self.assertFalse(interfaces.ITriggerableScheduler.providedBy(n))
        self.assertTrue(interfaces.IScheduler.providedBy(t))

    def test_defaults(self):
        n = Nightly("n", ["a"])
        self.assertEqual(n.reason, "The Nightly scheduler named 'n' triggered this build")
        self.assertEqual(
            (n.minute, n.hour, n.dayOfMonth, n.month, n.dayOfWeek), (0, "*", "*", "*", "*")
        )
        self.assertFalse(n.onlyIfChanged)
        self.assertFalse(n.force_at_enabled)
        self.assertIs(n.branch, Timed.NoBranch)
        self.assertEqual(n.codebases, {"": {}})
        self.assertEqual(n.properties, {"scheduler": ("n", "Scheduler")})
        self.assertEqual(
            Periodic("p", ["a"], 1).reason, "The Periodic scheduler named 'p' triggered this build"
        )
        self.assertEqual(
            NightlyTriggerable("t", ["a"]).reason,
            "The NightlyTriggerable scheduler named 't' triggered this build",
        )
        self.assertEqual(Nightly("n", ["a"]).getPendingBuildTimes(), [])

    def test_common_arguments(self):
        important = lambda c: True  # noqa: E731
        n = Nightly(
            "n",
            ["a"],
            reason="why %(name)s (%(classname)s)",
            onlyIfChanged=True,
            branch=None,
            fileIsImportant=important,
            onlyImportant=True,
            createAbsoluteSourceStamps=True,
            properties={"x": 1},
            codebases=["c1", "c2"],
            priority=3,
        )
        self.assertEqual(n.reason, "why n (Nightly)")
        self.assertTrue(n.onlyIfChanged and n.onlyImportant and n.createAbsoluteSourceStamps)
        self.assertIsNone(n.branch)
        self.assertIs(n.fileIsImportant, important)
        self.assertEqual(n.properties["x"], (1, "Scheduler"))
        self.assertEqual(n.codebases, {"c1": {}, "c2": {}})
        self.assertEqual(n.priority, 3)

    def test_force_at_defaults(self):
        n = Nightly("n", ["a"], force_at_hour=3)
        self.assertTrue(n.force_at_enabled)
        self.assertEqual(
            (
                n.force_at_minute,
                n.force_at_hour,
                n.force_at_day_of_month,
                n.force_at_month,
                n.force_at_day_of_week,
            ),
            (0, 3, "*", "*", "*"),
        )

    def test_periodic_timer_must_be_positive(self):
        for bad in (0, -5, "60", None, True):
            errors = config_errors(lambda bad=bad: Periodic("p", ["a"], bad))
            self.assertEqual(len(errors), 1, (bad, errors))
            self.assertIn("periodicBuildTimer", errors[0])
        with self.assertRaises(TypeError):
            Periodic("p", ["a"])  # the timer is required
        self.assertEqual(config_errors(lambda: Periodic("p", ["a"], 0.5)), [])

    def test_bad_times(self):
        for kwargs in (
            {"minute": 60},
            {"hour": "x"},
            {"minute": []},
            {"minute": [1, "2"]},
            {"dayOfWeek": 7},
            {"dayOfWeek": [0, -1]},
            {"month": 1.5},
            {"force_at_minute": 99},
        ):
            errors = config_errors(lambda kwargs=kwargs: Nightly("n", ["a"], **kwargs))
            self.assertEqual(len(errors), 1, (kwargs, errors))

    def test_bad_common_arguments(self):
        for kwargs in (
            {"reason": 3},
            {"reason": "%(nope)s"},
            {"fileIsImportant": "yes"},
            {"change_filter": "main"},
        ):
            errors = config_errors(lambda kwargs=kwargs: Nightly("n", ["a"], **kwargs))
            self.assertEqual(len(errors), 1, (kwargs, errors))
        with self.assertRaises(TypeError):
            Nightly("n", ["a"], treeStableTimer=3)

    def test_cron_fields(self):
        self.assertEqual(cron_field(5), "5")
        self.assertEqual(cron_field([0, 30]), "0,30")
        self.assertEqual(cron_field(range(0, 24, 6)), "0,6,12,18")
        self.assertEqual(cron_field({30, 0}), "0,30")
        self.assertEqual(cron_field("*/15"), "*/15")
        # Buildbot's Monday = 0 becomes cron's Monday = 1; Sunday (6) is cron's 0
        self.assertEqual(cron_field(0, day_of_week=True), "1")
        self.assertEqual(cron_field(6, day_of_week=True), "0")
        self.assertEqual(cron_field([0, 4], day_of_week=True), "1,5")
        self.assertEqual(cron_field("5,sun", day_of_week=True), "6,sun")
        self.assertEqual(cron_field("mon-fri", day_of_week=True), "mon-fri")
        self.assertEqual(cron_field("*", day_of_week=True), "*")


class CronTests(unittest.TestCase):
    """Next run times, computed in the master's local time."""

    def setUp(self):
        set_tz(self, CET)

    def next_times(self, n, after, count=1):
        got = []
        for _ in range(count):
            after = n.getNextBuildTime(after)
            got.append(as_local(after))
        return got

    def test_local_time_not_utc(self):
        n = Nightly("n", ["a"], hour=3)
        at = n.getNextBuildTime(local(2024, 1, 10, 12))
        self.assertEqual(at, local(2024, 1, 11, 3))
        # 03:00 CET is 02:00 UTC
        self.assertEqual(time.gmtime(at).tm_hour, 2)

    def test_across_month_end(self):
        n = Nightly("n", ["a"], hour=3, minute=0)
        self.assertEqual(
            self.next_times(n, local(2024, 1, 30, 12), 3),
            ["2024-01-31 03:00 Wed", "2024-02-01 03:00 Thu", "2024-02-02 03:00 Fri"],
        )
        # days 30 and 31 do not exist in February
        n = Nightly("n", ["a"], hour=3, dayOfMonth=[30, 31])
        self.assertEqual(
            self.next_times(n, local(2024, 1, 31, 3), 2),
            ["2024-03-30 03:00 Sat", "2024-03-31 03:00 Sun"],
        )

    def test_leap_years(self):
        n = Nightly("n", ["a"], hour=3)
        self.assertEqual(
            self.next_times(n, local(2024, 2, 28, 3), 2),
            ["2024-02-29 03:00 Thu", "2024-03-01 03:00 Fri"],
        )
        self.assertEqual(self.next_times(n, local(2023, 2, 28, 3)), ["2023-03-01 03:00 Wed"])
        leap_day = Nightly("n", ["a"], hour=12, dayOfMonth=29, month=2)
        self.assertEqual(
            self.next_times(leap_day, local(2021, 3, 1), 2),
            ["2024-02-29 12:00 Thu", "2028-02-29 12:00 Tue"],
        )

    def test_across_year_end(self):
        n = Nightly("n", ["a"], hour=23, minute=59)
        self.assertEqual(
            self.next_times(n, local(2023, 12, 31, 23, 59), 1), ["2024-01-01 23:59 Mon"]
        )
        hourly = Nightly("n", ["a"])
        self.assertEqual(
            self.next_times(hourly, local(2023, 12, 31, 23, 59), 2),
            ["2024-01-01 00:00 Mon", "2024-01-01 01:00 Mon"],
        )
        yearly = Nightly("n", ["a"], hour=0, dayOfMonth=1, month=1)
        self.assertEqual(
            self.next_times(yearly, local(2023, 12, 31, 23, 59), 2),
            ["2024-01-01 00:00 Mon", "2025-01-01 00:00 Wed"],
        )

    def test_lists_of_hours_and_minutes(self):
        n = Nightly("n", ["a"], hour=[6, 18], minute=[0, 30])
        self.assertEqual(
            self.next_times(n, local(2024, 5, 1, 6, 0), 4),
            [
                "2024-05-01 06:30 Wed",
                "2024-05-01 18:00 Wed",
                "2024-05-01 18:30 Wed",
                "2024-05-02 06:00 Thu",
            ],
        )

    def test_every_quarter_hour(self):
        n = Nightly("n", ["a"], minute="*/15", hour="*")
        self.assertEqual(
            self.next_times(n, local(2024, 5, 1, 10, 7), 4),
            [
                "2024-05-01 10:15 Wed",
                "2024-05-01 10:30 Wed",
                "2024-05-01 10:45 Wed",
                "2024-05-01 11:00 Wed",
            ],
        )

    def test_day_of_week_ints_are_monday_based(self):
        saturday = local(2024, 1, 6, 12)
        self.assertEqual(as_local(saturday)[-3:], "Sat")
        monday = Nightly("n", ["a"], hour=6, dayOfWeek=0)
        self.assertEqual(self.next_times(monday, saturday), ["2024-01-08 06:00 Mon"])
        sunday = Nightly("n", ["a"], hour=6, dayOfWeek=6)
        self.assertEqual(self.next_times(sunday, saturday), ["2024-01-07 06:00 Sun"])
        both = Nightly("n", ["a"], hour=6, dayOfWeek=[0, 4])
        self.assertEqual(
            self.next_times(both, saturday, 3),
            ["2024-01-08 06:00 Mon", "2024-01-12 06:00 Fri", "2024-01-15 06:00 Mon"],
        )
        # a string of plain numbers is Monday-based too
        self.assertEqual(
            self.next_times(Nightly("n", ["a"], hour=6, dayOfWeek="1"), saturday),
            ["2024-01-09 06:00 Tue"],
        )

    def test_day_of_week_names(self):
        friday_evening = local(2024, 1, 5, 20)
        workdays = Nightly("n", ["a"], hour=6, dayOfWeek="mon-fri")
        self.assertEqual(
            self.next_times(workdays, friday_evening, 2),
            ["2024-01-08 06:00 Mon", "2024-01-09 06:00 Tue"],
        )
        weekend = Nightly("n", ["a"], hour=6, dayOfWeek="sat,sun")
        self.assertEqual(
            self.next_times(weekend, friday_evening, 3),
            ["2024-01-06 06:00 Sat", "2024-01-07 06:00 Sun", "2024-01-13 06:00 Sat"],
        )

    def test_dst_changes(self):
        daily = Nightly("n", ["a"], hour=12)
        # the day is 23 hours long when summer time starts
        start = local(2024, 3, 30, 12)
        self.assertEqual(daily.getNextBuildTime(start) - start, 23 * 3600)
        # hourly runs never go back in time around the repeated hour in October
        hourly = Nightly("n", ["a"], minute=30)
        at = local(2024, 10, 26, 22)
        for _ in range(8):
            nxt = hourly.getNextBuildTime(at)
            self.assertGreater(nxt, at)
            self.assertLessEqual(nxt - at, 2 * 3600)
            at = nxt
        self.assertEqual(as_local(at), "2024-10-27 05:30 Sun")

    def test_next_cron_time_is_strictly_later(self):
        at = local(2024, 5, 1, 3)
        self.assertEqual(next_cron_time("0 3 * * *", at), local(2024, 5, 2, 3))
        self.assertEqual(next_cron_time("0 3 * * *", at - 0.5), at)


class TimedTestCase(Started, unittest.TestCase):
    START = (2024, 1, 30, 12, 0)

    async def setUp(self):
        set_tz(self, CET)
        await super().setUp()
        self.reactor.advance(local(*self.START))
        await self.master.db.insert_test_data([fakedb.Builder(id=1, name="a")])

    def buildsets(self):
        return self.updates.callsTo("addBuildset")

    async def run_to(self, ts):
        self.reactor.advance(ts - self.reactor.seconds())
        await eventual.flushEventualQueue()

    async def stop(self, scheduler):
        await scheduler.disownServiceParent()
        await eventual.flushEventualQueue()

    async def add_change(self, revision, branch="main", **kw):
        changeid = await self.updates.addChange(
            author="me",
            files=["f"],
            comments="c",
            revision=revision,
            branch=branch,
            repository="repo",
            when_timestamp=int(self.reactor.seconds()),
            **kw,
        )
        await eventual.flushEventualQueue()
        return changeid

    async def stamps_of(self, call_index):
        bsid = (await self.master.db.buildsets.getBuildsets())[call_index].bsid
        bs = await self.master.data.get(("buildsets", bsid))
        return [(ss["branch"], ss["revision"]) for ss in bs["sourcestamps"]]


class PeriodicTests(TimedTestCase):
    async def test_builds_every_n_seconds(self):
        t0 = self.reactor.seconds()
        s = await self.add(Periodic("p", ["a"], 60, properties={"x": 1}))
        # the first build as soon as the scheduler starts
        self.assertEqual(s.getPendingBuildTimes(), [t0])
        await self.run_to(t0)
        self.assertEqual(len(self.buildsets()), 1)
        call = self.buildsets()[0]
        self.assertEqual(call["reason"], "The Periodic scheduler named 'p' triggered this build")
        self.assertEqual(call["builderids"], [1])
        self.assertEqual(call["properties"]["x"], (1, "Scheduler"))
        self.assertEqual(call["properties"]["scheduler"], ("p", "Scheduler"))
        self.assertEqual(call["sourcestamps"][0]["codebase"], "")
        self.assertEqual(s.getPendingBuildTimes(), [t0 + 60])

        await self.run_to(t0 + 59)
        self.assertEqual(len(self.buildsets()), 1)
        await self.run_to(t0 + 60)
        self.assertEqual(len(self.buildsets()), 2)
        await self.run_to(t0 + 180)
        self.assertEqual(len(self.buildsets()), 4)
        self.assertEqual(await s.getState("last_build"), t0 + 180)

    async def test_restart_rearms_from_the_last_build(self):
        t0 = self.reactor.seconds()
        s = await self.add(Periodic("p", ["a"], 60))
        await self.run_to(t0 + 60)
        self.assertEqual(len(self.buildsets()), 2)
        await self.stop(s)
        self.assertEqual(s.getPendingBuildTimes(), [])

        # a new master process 30 s later: the next build is still at t0 + 120
        await self.run_to(t0 + 90)
        s2 = await self.add(Periodic("p", ["a"], 60))
        self.assertEqual(s2.getPendingBuildTimes(), [t0 + 120])
        await self.run_to(t0 + 119)
        self.assertEqual(len(self.buildsets()), 2)
        await self.run_to(t0 + 120)
        self.assertEqual(len(self.buildsets()), 3)

    async def test_runs_missed_while_down_build_once(self):
        t0 = self.reactor.seconds()
        s = await self.add(Periodic("p", ["a"], 60))
        await self.run_to(t0)
        await self.stop(s)
        await self.run_to(t0 + 500)  # eight runs missed
        s2 = await self.add(Periodic("p", ["a"], 60))
        await self.run_to(t0 + 500)
        self.assertEqual(len(self.buildsets()), 2)
        # and the period starts again from there
        self.assertEqual(s2.getPendingBuildTimes(), [t0 + 560])

    async def test_stopped_scheduler_builds_no_more(self):
        t0 = self.reactor.seconds()
        s = await self.add(Periodic("p", ["a"], 60))
        await self.run_to(t0)
        await self.stop(s)
        await self.run_to(t0 + 600)
        self.assertEqual(len(self.buildsets()), 1)

    async def test_disabled_scheduler_does_not_build(self):
        await self.master.db.insert_test_data([fakedb.Scheduler(id=7, name="p", enabled=0)])
        t0 = self.reactor.seconds()
        s = await self.add(Periodic("p", ["a"], 60))
        await self.run_to(t0 + 600)
        self.assertEqual(self.buildsets(), [])
        self.assertEqual(s.getPendingBuildTimes(), [])

        await self.updates.schedulerEnable(7, True)
        await eventual.flushEventualQueue()
        await self.run_to(t0 + 600)
        self.assertEqual(len(self.buildsets()), 1)

        await self.updates.schedulerEnable(7, False)
        await eventual.flushEventualQueue()
        self.assertEqual(s.getPendingBuildTimes(), [])
        await self.run_to(t0 + 1200)
        self.assertEqual(len(self.buildsets()), 1)

    async def test_disabled_flag_checked_at_build_time(self):
        s = await self.add(Periodic("p", ["a"], 60))
        s.enabled = False  # as if the event had not arrived yet
        await self.run_to(self.reactor.seconds())
        self.assertEqual(self.buildsets(), [])

    async def test_a_failing_build_keeps_the_timer(self):
        t0 = self.reactor.seconds()
        s = await self.add(Periodic("p", ["a"], 60))

        def broken(**kw):
            raise RuntimeError("db down")

        self.updates.override("addBuildset", broken)
        await self.run_to(t0)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(s.getPendingBuildTimes(), [t0 + 60])

    async def test_absolute_sourcestamps(self):
        t0 = self.reactor.seconds()
        cb = {"": {"repository": "repo", "branch": "main"}}
        await self.add(Periodic("p", ["a"], 60, createAbsoluteSourceStamps=True, codebases=cb))
        await self.run_to(t0)
        self.assertEqual(await self.stamps_of(0), [("main", None)])
        await self.add_change("abc")
        await self.run_to(t0 + 60)
        self.assertEqual(await self.stamps_of(1), [("main", "abc")])
        # no new change: the last revision seen, not the tip
        await self.run_to(t0 + 120)
        self.assertEqual(await self.stamps_of(2), [("main", "abc")])


class NightlyTests(TimedTestCase):
    async def test_builds_at_its_local_time(self):
        s = await self.add(Nightly("n", ["a"], hour=3))
        jan31 = local(2024, 1, 31, 3)
        self.assertEqual(s.getPendingBuildTimes(), [jan31])
        await self.run_to(jan31 - 1)
        self.assertEqual(self.buildsets(), [])
        await self.run_to(jan31)
        self.assertEqual(len(self.buildsets()), 1)
        self.assertEqual(
            self.buildsets()[0]["reason"], "The Nightly scheduler named 'n' triggered this build"
        )
        self.assertEqual(s.getPendingBuildTimes(), [local(2024, 2, 1, 3)])
        await self.run_to(local(2024, 2, 1, 3))
        self.assertEqual(len(self.buildsets()), 2)

    async def test_restart_does_not_build_twice(self):
        s = await self.add(Nightly("n", ["a"], hour=3))
        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(len(self.buildsets()), 1)
        await self.stop(s)
        # restarted the same morning: the next run is tomorrow's
        await self.run_to(local(2024, 1, 31, 9))
        s2 = await self.add(Nightly("n", ["a"], hour=3))
        self.assertEqual(s2.getPendingBuildTimes(), [local(2024, 2, 1, 3)])
        await self.run_to(local(2024, 2, 1, 2, 59))
        self.assertEqual(len(self.buildsets()), 1)
        await self.run_to(local(2024, 2, 1, 3))
        self.assertEqual(len(self.buildsets()), 2)

    async def test_runs_missed_while_down_build_once(self):
        s = await self.add(Nightly("n", ["a"], hour=3))
        await self.run_to(local(2024, 1, 31, 3))
        await self.stop(s)
        # down for two nights
        await self.run_to(local(2024, 2, 2, 9))
        s2 = await self.add(Nightly("n", ["a"], hour=3))
        self.assertEqual(s2.getPendingBuildTimes(), [local(2024, 2, 2, 9)])
        await self.run_to(local(2024, 2, 2, 9))
        self.assertEqual(len(self.buildsets()), 2)
        self.assertEqual(s2.getPendingBuildTimes(), [local(2024, 2, 3, 3)])

    async def test_reconfig_rearms(self):
        s = await self.add(Nightly("n", ["a"], hour=3))
        await s.reconfigServiceWithSibling(Nightly("n", ["a"], hour=[5, 20]))
        self.assertEqual(s.getPendingBuildTimes(), [local(2024, 1, 30, 20)])
        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(len(self.buildsets()), 1)


class OnlyIfChangedTests(TimedTestCase):
    def nightly(self, **kw):
        return Nightly(
            "n",
            ["a"],
            hour="*",
            onlyIfChanged=True,
            fileIsImportant=lambda change: change.revision != "doc",
            **kw,
        )

    async def first_run(self, **kw):
        """Start the scheduler and pass its first run (which builds)."""
        s = await self.add(self.nightly(**kw))
        await self.run_to(local(2024, 1, 30, 13))
        self.assertEqual(len(self.buildsets()), 1)
        return s

    async def test_first_run_builds(self):
        await self.first_run()
        self.assertEqual(await self.stamps_of(0), [(None, None)])

    async def test_no_change_no_build(self):
        await self.first_run()
        await self.run_to(local(2024, 1, 30, 16))
        self.assertEqual(len(self.buildsets()), 1)

    async def test_unimportant_change_only_no_build(self):
        await self.first_run()
        await self.add_change("doc")
        await self.run_to(local(2024, 1, 30, 14))
        self.assertEqual(len(self.buildsets()), 1)

    async def test_important_change_builds_its_sourcestamp(self):
        s = await self.first_run()
        await self.add_change("doc")
        await self.add_change("abc")
        await self.run_to(local(2024, 1, 30, 14))
        self.assertEqual(len(self.buildsets()), 2)
        # the latest change gives the sourcestamp
        self.assertEqual(await self.stamps_of(1), [("main", "abc")])
        # the changes are consumed: the next run has nothing to build
        self.assertEqual(await self.master.db.schedulers.getChangeClassifications(s.serviceid), {})
        await self.run_to(local(2024, 1, 30, 15))
        self.assertEqual(len(self.buildsets()), 2)

    async def test_changes_survive_a_restart(self):
        s = await self.first_run()
        await self.add_change("abc")
        await self.stop(s)
        await self.add(self.nightly())
        await self.run_to(local(2024, 1, 30, 14))
        self.assertEqual(len(self.buildsets()), 2)
        self.assertEqual(await self.stamps_of(1), [("main", "abc")])

    async def test_other_branch_ignored(self):
        await self.first_run(branch="main")
        await self.add_change("xyz", branch="dev")
        await self.run_to(local(2024, 1, 30, 14))
        self.assertEqual(len(self.buildsets()), 1)
        await self.add_change("abc", branch="main")
        await self.run_to(local(2024, 1, 30, 15))
        self.assertEqual(len(self.buildsets()), 2)

    async def test_switching_only_if_changed_on_builds_once(self):
        s = await self.add(Nightly("n", ["a"], hour="*"))
        await self.run_to(local(2024, 1, 30, 13))
        self.assertEqual(await s.getState("last_only_if_changed"), False)
        await self.stop(s)
        s2 = await self.add(self.nightly())
        await self.run_to(local(2024, 1, 30, 14))
        self.assertEqual(len(self.buildsets()), 2)
        self.assertEqual(await s2.getState("last_only_if_changed"), True)
        await self.run_to(local(2024, 1, 30, 15))
        self.assertEqual(len(self.buildsets()), 2)

    async def test_without_only_if_changed_old_changes_are_forgotten(self):
        s = await self.first_run()
        await self.add_change("abc")
        await self.stop(s)
        await self.add(Nightly("n", ["a"], hour="*"))
        self.assertEqual(await self.master.db.schedulers.getChangeClassifications(s.serviceid), {})

    async def test_force_at(self):
        await self.first_run(force_at_hour=15)
        await self.run_to(local(2024, 1, 30, 14))
        self.assertEqual(len(self.buildsets()), 1)
        # the forced time builds without any change
        await self.run_to(local(2024, 1, 30, 15))
        self.assertEqual(len(self.buildsets()), 2)
        self.assertEqual(await self.stamps_of(1), [(None, None)])
        # and with an unimportant one, that change
        await self.add_change("doc")
        await self.run_to(local(2024, 1, 30, 16))
        self.assertEqual(len(self.buildsets()), 2)
        await self.run_to(local(2024, 1, 31, 15))
        self.assertEqual(len(self.buildsets()), 3)
        self.assertEqual(await self.stamps_of(2), [("main", "doc")])

    async def test_force_at_day_of_week(self):
        # Thursday 2024-02-01 is day 3
        await self.first_run(force_at_day_of_week=3, force_at_hour=0)
        await self.run_to(local(2024, 1, 31, 23))
        self.assertEqual(len(self.buildsets()), 1)
        await self.run_to(local(2024, 2, 1, 0))
        self.assertEqual(len(self.buildsets()), 2)
        await self.run_to(local(2024, 2, 1, 23))
        self.assertEqual(len(self.buildsets()), 2)


class NightlyTriggerableTests(TimedTestCase):
    async def test_builds_the_last_trigger_once(self):
        s = await self.add(NightlyTriggerable("t", ["a"], hour=3, properties={"own": 1}))
        for rev, who in (("r1", "first"), ("r2", "second")):
            props = Properties()
            props.setProperty("who", who, "Trigger")
            ids_d, results_d = s.trigger(
                False,
                sourcestamps=[
                    {"codebase": "", "repository": "repo", "branch": "b", "revision": rev}
                ],
                set_props=props,
            )
            self.assertEqual(await ids_d, (None, {}))
            self.assertEqual(await results_d, (SUCCESS, {}))
        self.assertEqual(self.buildsets(), [])

        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(len(self.buildsets()), 1)
        call = self.buildsets()[0]
        self.assertEqual(call["sourcestamps"][0]["revision"], "r2")
        self.assertEqual(call["properties"]["who"], ("second", "Trigger"))
        self.assertEqual(call["properties"]["own"], (1, "Scheduler"))
        self.assertEqual(
            call["reason"], "The NightlyTriggerable scheduler named 't' triggered this build"
        )
        # nothing triggered since: no build
        await self.run_to(local(2024, 2, 1, 3))
        self.assertEqual(len(self.buildsets()), 1)
        self.assertIsNone(await s.getState("lastTrigger"))

    async def test_trigger_survives_a_restart(self):
        await self.master.db.insert_test_data(
            [
                fakedb.Buildset(id=90),
                fakedb.BuildRequest(id=91, buildsetid=90, builderid=1),
                fakedb.Build(id=92, number=1, builderid=1, buildrequestid=91, masterid=824),
            ]
        )
        s = await self.add(NightlyTriggerable("t", ["a"], hour=3))
        _, results_d = s.trigger(
            True,
            sourcestamps=[{"codebase": "", "revision": "r1"}],
            parent_buildid=92,
            parent_relationship="nightly",
        )
        await results_d
        await self.stop(s)
        await self.add(NightlyTriggerable("t", ["a"], hour=3))
        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(len(self.buildsets()), 1)
        call = self.buildsets()[0]
        self.assertEqual(call["sourcestamps"][0]["revision"], "r1")
        self.assertEqual((call["parent_buildid"], call["parent_relationship"]), (92, "nightly"))

    async def test_unreadable_saved_trigger_is_ignored(self):
        s = NightlyTriggerable("t", ["a"], hour=3)
        s.master = self.master
        await s.setState("lastTrigger", ["not a list", {}, None, None])
        await self.add(s)
        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(self.buildsets(), [])

    async def test_old_saved_form(self):
        s = NightlyTriggerable("t", ["a"], hour=3)
        s.master = self.master
        await s.setState(
            "lastTrigger", [{"": {"codebase": "", "revision": "old"}}, {"p": [1, "T"]}, None, None]
        )
        await self.add(s)
        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(self.buildsets()[0]["sourcestamps"][0]["revision"], "old")
        self.assertEqual(self.buildsets()[0]["properties"]["p"], (1, "T"))

    async def test_disabled_refuses_triggers(self):
        await self.master.db.insert_test_data([fakedb.Scheduler(id=7, name="t", enabled=0)])
        s = await self.add(NightlyTriggerable("t", ["a"], hour=3))
        ids_d, results_d = s.trigger(False, sourcestamps=[])
        with self.assertRaises(DisabledSchedulerError):
            await ids_d
        with self.assertRaises(DisabledSchedulerError):
            await results_d
        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(self.buildsets(), [])


class Never(Timed):
    def getNextBuildTime(self, lastActuated):
        return None


class EdgeTests(TimedTestCase):
    async def test_no_next_time_no_timer(self):
        s = await self.add(Never("x", ["a"]))
        self.assertEqual(s.getPendingBuildTimes(), [])
        await self.run_to(self.reactor.seconds() + 86400)
        self.assertEqual(self.buildsets(), [])

    async def test_timer_firing_after_stop_does_nothing(self):
        s = await self.add(Periodic("p", ["a"], 60))
        timer = s._timer
        await self.stop(s)
        self.assertFalse(timer.active())
        s._timer_fired()  # as if the call had been on its way
        await eventual.flushEventualQueue()
        self.assertEqual(self.buildsets(), [])

    async def test_periodic_only_if_changed(self):
        t0 = self.reactor.seconds()
        await self.add(Periodic("p", ["a"], 60, onlyIfChanged=True))
        await self.run_to(t0 + 60)
        self.assertEqual(len(self.buildsets()), 1)  # the first run only
        await self.add_change("abc")
        await self.run_to(t0 + 120)
        self.assertEqual(len(self.buildsets()), 2)

    async def test_change_filter(self):
        from buildbot.changes.filter import ChangeFilter

        t0 = self.reactor.seconds()
        await self.add(
            Periodic("p", ["a"], 60, onlyIfChanged=True, change_filter=ChangeFilter(project="mine"))
        )
        await self.run_to(t0)
        await self.add_change("theirs", project="other")
        await self.run_to(t0 + 60)
        self.assertEqual(len(self.buildsets()), 1)
        await self.add_change("ours", project="mine")
        await self.run_to(t0 + 120)
        self.assertEqual(len(self.buildsets()), 2)
        self.assertEqual(await self.stamps_of(1), [("main", "ours")])

    async def test_only_important(self):
        t0 = self.reactor.seconds()
        s = await self.add(
            Periodic(
                "p",
                ["a"],
                60,
                onlyIfChanged=True,
                onlyImportant=True,
                fileIsImportant=lambda c: c.revision != "doc",
            )
        )
        await self.run_to(t0)
        await self.add_change("doc")
        self.assertEqual(await self.master.db.schedulers.getChangeClassifications(s.serviceid), {})

    async def test_absolute_stamps_keep_the_newest_change(self):
        s = await self.add(Periodic("p", ["a"], 60, createAbsoluteSourceStamps=True))

        class C:
            codebase, repository, branch = "", "repo", "main"

            def __init__(self, number, revision):
                self.number, self.revision = number, revision

        await s.gotChange(C(5, "new"), True)
        await s.gotChange(C(3, "old"), True)
        self.assertEqual((await s.getCodebaseDict(""))["revision"], "new")
        with self.assertRaises(KeyError):
            await s.getCodebaseDict("other")

    async def test_nightly_triggerable_disabled_at_build_time(self):
        s = await self.add(NightlyTriggerable("t", ["a"], hour=3))
        await s.trigger(False, sourcestamps=[])[1]
        s.enabled = False
        await self.run_to(local(2024, 1, 31, 3))
        self.assertEqual(self.buildsets(), [])

    def test_repeated_hour_when_dst_ends(self):
        # 02:10 in winter time on the night the clocks go back (the second 02:10)
        after = time.mktime((2024, 10, 27, 2, 10, 0, 0, 0, 0))
        nxt = next_cron_time("30 * * * *", after)
        self.assertGreater(nxt, after)

    async def test_failed_activation_leaves_nothing_running(self):
        s = Periodic("p", ["a"], 60, onlyIfChanged=True)
        s.getNextBuildTime = lambda last: 1 / 0
        await self.add(s)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertFalse(s.isActive())
        self.assertIsNone(s._change_consumer)
        self.assertEqual(s.getPendingBuildTimes(), [])
        # the next claim poll succeeds
        del s.getNextBuildTime
        self.reactor.advance(s.POLL_INTERVAL_SEC)
        await eventual.flushEventualQueue()
        self.assertTrue(s.isActive())
        self.assertEqual(len(self.buildsets()), 1)
