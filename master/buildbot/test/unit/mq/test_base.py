"""Filter matching and the wire-form helpers."""

from __future__ import annotations

from twisted.trial import unittest

from buildbot.mq import base


class MatchTuple(unittest.TestCase):
    TABLE = [
        # (routing key, filter, matches)
        (("builds", "6", "new"), ("builds", "6", "new"), True),
        (("builds", "6", "new"), ("builds", None, "new"), True),
        (("builds", "6", "new"), ("builds", None, None), True),
        (("builds", "6", "new"), (None, None, None), True),
        (("builds", "6", "new"), ("builds", "7", "new"), False),
        (("builds", "6", "new"), ("builds", None, "finished"), False),
        (("builds", "6", "new"), ("steps", None, None), False),
        # lengths must be equal: no multi-level wildcard
        (("builds", "6", "new"), ("builds", None), False),
        (("builds", "6"), ("builds", None, None), False),
        (("builds", "6", "properties", "update"), ("builds", None, None), False),
        # inside the master '*' is a plain string, only None is the wildcard
        (("builds", "6", "new"), ("builds", "*", "new"), False),
        (("builds", "*", "new"), ("builds", "*", "new"), True),
        # ids are strings: an int in a filter never matches
        (("builds", "6", "new"), ("builds", 6, "new"), False),
        ((), (), True),
    ]

    def test_table(self) -> None:
        for key, filt, expected in self.TABLE:
            self.assertEqual(base.matchTuple(key, filt), expected, (key, filt))

    def test_lists_work_like_tuples(self) -> None:
        self.assertTrue(base.matchTuple(["a", "b"], ["a", None]))


class WireForm(unittest.TestCase):
    def test_filter_from_path(self) -> None:
        self.assertEqual(base.filter_from_path("builds/*/*"), ("builds", None, None))
        self.assertEqual(
            base.filter_from_path("steps/*/logs/stdio/new"), ("steps", None, "logs", "stdio", "new")
        )

    def test_path_from_key(self) -> None:
        self.assertEqual(base.path_from_key(("builds", "12", "finished")), "builds/12/finished")
        self.assertEqual(base.path_from_key(("builds", None, None)), "builds/*/*")

    def test_round_trip(self) -> None:
        for path in ["builds/*/*", "builders/3/builds/*/*", "builds/12/properties/*"]:
            self.assertEqual(base.path_from_key(base.filter_from_path(path)), path)


class Checks(unittest.TestCase):
    def test_good_routing_key(self) -> None:
        base.check_routing_key(("builds", "6", "new"))

    def test_bad_routing_keys(self) -> None:
        for bad in [
            ["builds", "6", "new"],
            (),
            ("builds", 6, "new"),
            ("builds", None, "new"),
            ("builds", "", "new"),
            ("steps", "1", "logs", "a/b", "new"),
            "builds/6/new",
        ]:
            with self.assertRaises(ValueError, msg=repr(bad)):
                base.check_routing_key(bad)

    def test_good_filter(self) -> None:
        base.check_filter(("builds", None, "new"))

    def test_bad_filters(self) -> None:
        for bad in [["builds", None], (), ("builds", 6), "builds/*"]:
            with self.assertRaises(ValueError, msg=repr(bad)):
                base.check_filter(bad)
