"""Path patterns: typed placeholders, and which pattern wins."""

from twisted.trial import unittest

from buildbot.data.exceptions import InvalidPathError
from buildbot.data.pathmatch import Matcher, parse_pattern


class TestMatcher(unittest.TestCase):
    def setUp(self):
        self.m = Matcher()
        for p in [
            "/builders/n:builderid",
            "/builders/s:buildername",
            "/builders/n:builderid/builds",
            "/workers/i:name",
            "/workers/n:workerid",
            "/buildsets/:buildsetid/sourcestamps",
            "/builders/n:builderid/builds/n:number",
            "/builders/s:buildername/builds/n:number",
        ]:
            self.m[parse_pattern(p)] = p

    def test_numbers_win_for_n_slots(self):
        self.assertEqual(
            self.m.match(("builders", "5")), ("/builders/n:builderid", {"builderid": 5})
        )
        self.assertEqual(self.m.match(("builders", 5)), ("/builders/n:builderid", {"builderid": 5}))
        self.assertEqual(
            self.m.match(("builders", "b5")), ("/builders/s:buildername", {"buildername": "b5"})
        )
        self.assertEqual(
            self.m.match(("builders", "x", "builds", "2")),
            ("/builders/s:buildername/builds/n:number", {"buildername": "x", "number": 2}),
        )

    def test_identifier_and_untyped(self):
        self.assertEqual(self.m.match(("workers", "w-1")), ("/workers/i:name", {"name": "w-1"}))
        with self.assertRaises(InvalidPathError):
            self.m.match(("workers", "has space"))
        self.assertEqual(
            self.m.match(("buildsets", "abc", "sourcestamps"))[1], {"buildsetid": "abc"}
        )

    def test_no_match(self):
        with self.assertRaises(InvalidPathError):
            self.m.match(("nothing",))
        with self.assertRaises(InvalidPathError):
            self.m.match(("builders", "5", "builds", "x"))

    def test_duplicate_pattern(self):
        with self.assertRaises(ValueError):
            self.m[parse_pattern("/workers/i:name")] = 1
