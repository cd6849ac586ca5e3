import os

from twisted.trial import unittest

from buildbot.scripts import logwatcher

PREFIX = "2024-05-01 12:00:00+0000 [-] "


class FakeTime:
    """A clock and a sleep that advances it, for `follow`."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = 0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += seconds


class TestMessageOf(unittest.TestCase):
    def test_strips_timestamp_and_system(self):
        self.assertEqual(logwatcher.message_of(PREFIX + "hello\n"), "hello")
        self.assertEqual(logwatcher.message_of("2024-05-01T12:00:00+0200 [Broker,client] x"), "x")

    def test_continuation_line(self):
        self.assertEqual(logwatcher.message_of("\t  an error"), "  an error")

    def test_other_lines_unchanged(self):
        self.assertEqual(logwatcher.message_of("no prefix here"), "no prefix here")


class TestWatchers(unittest.TestCase):
    def feed(self, watcher, *messages):
        for m in messages:
            outcome = watcher.feed(PREFIX + m)
            if outcome is not None:
                return outcome
        return None

    def test_start_success(self):
        outcome = self.feed(logwatcher.StartWatcher(), "Loading", logwatcher.RUNNING, "x")
        self.assertEqual(outcome, (logwatcher.SUCCESS, []))

    def test_start_failure_keeps_the_reason(self):
        outcome = self.feed(
            logwatcher.StartWatcher(), "Loading", "Configuration Errors:", logwatcher.STARTUP_FAILED
        )
        self.assertEqual(outcome, (logwatcher.FAILURE, ["Loading", "Configuration Errors:"]))

    def test_start_without_outcome(self):
        watcher = logwatcher.StartWatcher()
        self.assertIsNone(self.feed(watcher, "a", "b"))
        self.assertEqual(watcher.lines, ["a", "b"])

    def test_start_keeps_a_bounded_context(self):
        watcher = logwatcher.StartWatcher()
        self.feed(watcher, *[str(i) for i in range(logwatcher.MAX_LINES + 5)])
        self.assertEqual(len(watcher.lines), logwatcher.MAX_LINES)
        self.assertEqual(watcher.lines[-1], str(logwatcher.MAX_LINES + 4))

    def test_reconfig_success(self):
        outcome = self.feed(
            logwatcher.ReconfigWatcher(),
            logwatcher.RECONFIG_STARTED,
            "loading",
            logwatcher.RECONFIG_COMPLETE,
        )
        self.assertEqual(outcome, (logwatcher.SUCCESS, []))

    def test_reconfig_failure_has_the_errors_since_it_started(self):
        watcher = logwatcher.ReconfigWatcher()
        outcome = None
        for line in [
            PREFIX + "older chatter",
            PREFIX + logwatcher.RECONFIG_STARTED,
            PREFIX + "Configuration Errors:",
            "\t  no workers",
            PREFIX + logwatcher.RECONFIG_FAILED,
        ]:
            outcome = outcome or watcher.feed(line)
        self.assertEqual(outcome, (logwatcher.FAILURE, ["Configuration Errors:", "  no workers"]))

    def test_the_master_constants_match(self):
        from buildbot import master

        self.assertEqual(
            (
                master.RUNNING,
                master.STARTUP_FAILED,
                master.RECONFIG_STARTED,
                master.RECONFIG_COMPLETE,
                master.RECONFIG_FAILED,
            ),
            (
                logwatcher.RUNNING,
                logwatcher.STARTUP_FAILED,
                logwatcher.RECONFIG_STARTED,
                logwatcher.RECONFIG_COMPLETE,
                logwatcher.RECONFIG_FAILED,
            ),
        )


class TestLogTail(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "twistd.log")

    def append(self, data):
        with open(self.path, "ab") as f:
            f.write(data)

    def test_only_new_lines(self):
        self.append(b"old 1\nold 2\n")
        tail = logwatcher.LogTail(self.path)
        self.assertEqual(tail.read_lines(), [])
        self.append(b"new 1\nnew 2\n")
        self.assertEqual(tail.read_lines(), ["new 1", "new 2"])
        self.assertEqual(tail.read_lines(), [])

    def test_missing_file_then_created(self):
        tail = logwatcher.LogTail(self.path)
        self.assertEqual(tail.read_lines(), [])
        self.append(b"first\n")
        self.assertEqual(tail.read_lines(), ["first"])

    def test_partial_line_waits_for_its_end(self):
        tail = logwatcher.LogTail(self.path)
        self.append(b"half")
        self.assertEqual(tail.read_lines(), [])
        self.append(b" and half\n")
        self.assertEqual(tail.read_lines(), ["half and half"])

    def test_invalid_utf8_is_replaced(self):
        tail = logwatcher.LogTail(self.path)
        self.append(b"caf\xe9\n")
        self.assertEqual(tail.read_lines(), ["caf\ufffd"])

    def test_rotation_starts_the_new_file_from_its_beginning(self):
        self.append(b"a long line before the follow starts\n")
        tail = logwatcher.LogTail(self.path)
        self.append(b"before rotation\n")
        self.assertEqual(tail.read_lines(), ["before rotation"])
        os.rename(self.path, self.path + ".1")
        self.append(b"after\n")
        self.assertEqual(tail.read_lines(), ["after"])

    def test_truncated_file(self):
        self.append(b"0123456789\n")
        tail = logwatcher.LogTail(self.path)
        with open(self.path, "wb") as f:
            f.write(b"x\n")
        self.assertEqual(tail.read_lines(), ["x"])


class FakeTail:
    """Hands out batches of lines, one batch per read."""

    def __init__(self, *batches):
        self.batches = list(batches)

    def read_lines(self):
        return self.batches.pop(0) if self.batches else []


class TestFollow(unittest.TestCase):
    def follow(self, tail, timeout=10, dead=None):
        self.time = FakeTime()
        return logwatcher.follow(
            tail,
            logwatcher.StartWatcher(),
            timeout,
            dead=dead,
            clock=self.time.clock,
            sleep=self.time.sleep,
            poll_interval=1,
        )

    def test_success_after_some_polls(self):
        tail = FakeTail([], [PREFIX + "Loading"], [], [PREFIX + logwatcher.RUNNING])
        self.assertEqual(self.follow(tail), (logwatcher.SUCCESS, []))
        self.assertEqual(self.time.sleeps, 3)

    def test_timeout_without_progress(self):
        outcome = self.follow(FakeTail([PREFIX + "Loading"]), timeout=5)
        self.assertEqual(outcome, (logwatcher.TIMEOUT, ["Loading"]))
        self.assertEqual(self.time.sleeps, 5)

    def test_each_new_line_restarts_the_timeout(self):
        batches = [[PREFIX + f"step {i}"] if i % 4 == 0 else [] for i in range(20)]
        tail = FakeTail(*batches, [PREFIX + logwatcher.RUNNING])
        # 20 polls in all, but never 5 seconds without a line
        self.assertEqual(self.follow(tail, timeout=5).status, logwatcher.SUCCESS)

    def test_dead_process(self):
        calls = []

        def dead():
            calls.append(1)
            return "twistd exited with status 1" if len(calls) > 2 else None

        outcome = self.follow(FakeTail([PREFIX + "Loading"]), dead=dead)
        self.assertEqual(outcome, (logwatcher.EXITED, ["twistd exited with status 1", "Loading"]))

    def test_lines_written_just_before_dying_are_read(self):
        tail = FakeTail([], [PREFIX + "why", PREFIX + logwatcher.STARTUP_FAILED])
        outcome = self.follow(tail, dead=lambda: "gone")
        self.assertEqual(outcome, (logwatcher.FAILURE, ["why"]))
