import datetime

from twisted.internet import task
from twisted.trial import unittest

from buildbot import util


class Point(util.ComparableMixin):
    compare_attrs = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y


class Point3(Point):
    compare_attrs = (*Point.compare_attrs, "z")

    def __init__(self, x, y, z):
        super().__init__(x, y)
        self.z = z


class TestComparableMixin(unittest.TestCase):
    def test_equal_by_attributes(self):
        self.assertEqual(Point(1, 2), Point(1, 2))
        self.assertNotEqual(Point(1, 2), Point(1, 3))
        self.assertEqual(hash(Point(1, 2)), hash(Point(1, 2)))
        self.assertEqual(len({Point(1, 2), Point(1, 2), Point(2, 1)}), 2)

    def test_subclass_extends_and_differs(self):
        self.assertNotEqual(Point3(1, 2, 3), Point3(1, 2, 4))
        self.assertNotEqual(Point(1, 2), Point3(1, 2, 3))
        self.assertFalse(Point(1, 2) == object())

    def test_unhashable_attributes(self):
        a, b = Point([1], {"a": 1}), Point([1], {"a": 1})
        self.assertEqual(a, b)
        self.assertEqual(hash(a), hash(b))

    def test_config_dict(self):
        self.assertEqual(Point(1, 2).getConfigDict(), {"x": 1, "y": 2})


class TestConversions(unittest.TestCase):
    def test_bytes2unicode(self):
        self.assertEqual(util.bytes2unicode(b"caf\xc3\xa9"), "café")
        self.assertEqual(util.bytes2unicode("x"), "x")
        self.assertIsNone(util.bytes2unicode(None))
        self.assertEqual(util.bytes2unicode(b"\xff", errors="replace"), "\ufffd")
        self.assertRaises(UnicodeDecodeError, util.bytes2unicode, b"\xff")

    def test_unicode2bytes(self):
        self.assertEqual(util.unicode2bytes("café"), b"caf\xc3\xa9")
        self.assertEqual(util.unicode2bytes(b"x"), b"x")
        self.assertEqual(util.unicode2bytes(5), 5)

    def test_epoch_roundtrip(self):
        dt = util.epoch2datetime(1700000000)
        self.assertEqual(dt, datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC))
        self.assertEqual(util.datetime2epoch(dt), 1700000000)
        self.assertEqual(util.datetime2epoch(dt.replace(tzinfo=None)), 1700000000)
        plus_one = datetime.timezone(datetime.timedelta(hours=1))
        self.assertEqual(util.datetime2epoch(dt.astimezone(plus_one)), 1700000000)
        self.assertIsNone(util.epoch2datetime(None))
        self.assertIsNone(util.datetime2epoch(None))

    def test_datetime2epoch_rounds_down(self):
        base = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        self.assertEqual(util.datetime2epoch(base + datetime.timedelta(seconds=1.9)), 1)
        self.assertEqual(util.datetime2epoch(base - datetime.timedelta(seconds=0.5)), -1)
        self.assertEqual(util.datetime2epoch(datetime.datetime(1969, 12, 31, 23, 59)), -60)


class TestHelpers(unittest.TestCase):
    def test_now_uses_reactor(self):
        clock = task.Clock()
        clock.advance(42)
        self.assertEqual(util.now(clock), 42)

    def test_flatten(self):
        self.assertEqual(util.flatten([1, [2, (3, [4])], 5]), [1, 2, 3, 4, 5])
        self.assertEqual(util.flatten([1, [2, (3,)]], types=list), [1, 2, (3,)])
        self.assertEqual(util.flatten("abc"), "abc")

    def test_natural_sort(self):
        self.assertEqual(util.naturalSort(["a10", "a2", "b1", "a1"]), ["a1", "a2", "a10", "b1"])

    def test_join_list(self):
        self.assertEqual(util.join_list(["make", b"all"]), "make all")
        self.assertEqual(util.join_list("make all"), "make all")

    def test_safe_translate(self):
        self.assertEqual(util.safeTranslate("my builder/x:1"), b"my_builder_x_1")
        self.assertEqual(util.safeTranslate(b"ok-1.2_3"), b"ok-1.2_3")

    def test_async_sleep(self):
        clock = task.Clock()
        d = util.asyncSleep(5, reactor=clock)
        clock.advance(4.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        self.successResultOf(d)

    def test_human_readable_delta(self):
        self.assertEqual(util.human_readable_delta(0, 3723), "1 hours, 2 minutes, 3 seconds")
        self.assertEqual(util.human_readable_delta(0, 0), "0 seconds")
        self.assertEqual(util.human_readable_delta(0, 86400 * 2 + 60), "2 days, 1 minutes")

    def test_chunkify(self):
        self.assertEqual(list(util.chunkify(range(5), 2)), [[0, 1], [2, 3], [4]])
        self.assertEqual(list(util.chunkify([], 3)), [])
