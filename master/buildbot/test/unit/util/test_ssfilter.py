"""SourceStampFilter and the ValueMatcher it shares with ChangeFilter."""

import re

from twisted.trial import unittest

from buildbot import config
from buildbot.util.ssfilter import UNSET, SourceStampFilter, ValueMatcher


def config_errors(fn):
    with config.capture_config_errors() as errors:
        fn()
    return errors.errors


SS = {"project": "proj", "repository": "https://x/repo.git", "branch": "main", "codebase": "cb"}


class ValueMatcherTests(unittest.TestCase):
    def test_nothing_given_matches_anything(self):
        m = ValueMatcher("o", "branch")
        self.assertFalse(m.is_set())
        self.assertTrue(m.matches(None))
        self.assertTrue(m.matches("x"))

    def test_eq_value_or_list(self):
        self.assertTrue(ValueMatcher("o", "a", eq="x").matches("x"))
        self.assertFalse(ValueMatcher("o", "a", eq="x").matches("y"))
        self.assertTrue(ValueMatcher("o", "a", eq=["x", "y"]).matches("y"))
        # None is a value to compare with, UNSET is "no check"
        self.assertTrue(ValueMatcher("o", "a", eq=None).matches(None))
        self.assertFalse(ValueMatcher("o", "a", eq=None).matches("x"))
        self.assertTrue(ValueMatcher("o", "a", eq=UNSET).matches("x"))

    def test_not_eq(self):
        m = ValueMatcher("o", "a", not_eq=["x", "y"])
        self.assertFalse(m.matches("x"))
        self.assertTrue(m.matches("z"))
        self.assertFalse(ValueMatcher("o", "a", not_eq="x").matches("x"))

    def test_regexes_match_at_the_start(self):
        m = ValueMatcher("o", "a", regex="rel-")
        self.assertTrue(m.matches("rel-1"))
        self.assertFalse(m.matches("a-rel-1"))
        self.assertFalse(m.matches(None))  # no value matches no regex
        m = ValueMatcher("o", "a", regex=[re.compile("a"), "b"])
        self.assertTrue(m.matches("bx"))
        self.assertFalse(m.matches("cx"))

    def test_not_regex(self):
        m = ValueMatcher("o", "a", not_regex="tmp/")
        self.assertFalse(m.matches("tmp/x"))
        self.assertTrue(m.matches("x"))
        self.assertTrue(m.matches(None))

    def test_fn(self):
        m = ValueMatcher("o", "a", fn=lambda v: v.endswith("!"))
        self.assertTrue(m.matches("yes!"))
        self.assertFalse(m.matches("no"))

    def test_all_must_pass(self):
        m = ValueMatcher("o", "a", eq=["x1", "x2", "y1"], not_eq="x2", regex="x")
        self.assertEqual([v for v in ("x1", "x2", "y1") if m.matches(v)], ["x1"])

    def test_bad_regex_and_fn_are_config_errors(self):
        errors = config_errors(lambda: ValueMatcher("Owner", "branch", regex="(", fn=3))
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("Owner: branch_re: cannot compile regex '('", errors[0])
        self.assertIn("branch_fn must be a callable", errors[1])
        errors = config_errors(lambda: ValueMatcher("Owner", "branch", not_regex=[5]))
        self.assertIn("branch_not_re must be a regex", errors[0])

    def test_describe_and_compare(self):
        m = ValueMatcher("o", "branch", eq="a", not_eq="b", regex="c", not_regex="d", fn=len)
        self.assertEqual(
            m.describe(),
            [
                "branch in ['a']",
                "branch not in ['b']",
                "branch ~ ['c']",
                "branch !~ ['d']",
                "len(branch)",
            ],
        )
        self.assertEqual(ValueMatcher("o", "a", eq="x"), ValueMatcher("p", "a", eq=["x"]))
        self.assertNotEqual(ValueMatcher("o", "a", eq="x"), ValueMatcher("o", "a", eq="y"))


class SourceStampFilterTests(unittest.TestCase):
    def test_empty_matches_all(self):
        f = SourceStampFilter()
        self.assertTrue(f.is_matched(SS))
        self.assertEqual(repr(f), "<SourceStampFilter on anything>")

    def test_each_attribute(self):
        for kwargs, expected in [
            ({"project_eq": "proj"}, True),
            ({"project_eq": ["a", "b"]}, False),
            ({"project_not_eq": "proj"}, False),
            ({"project_re": "pr"}, True),
            ({"project_not_re": "pr"}, False),
            ({"repository_eq": "https://x/repo.git"}, True),
            ({"repository_re": r".*\.git$"}, True),
            ({"repository_not_re": "https://"}, False),
            ({"repository_not_eq": ["z"]}, True),
            ({"branch_eq": ["main", "dev"]}, True),
            ({"branch_not_eq": "main"}, False),
            ({"branch_re": "rel"}, False),
            ({"branch_not_re": "rel"}, True),
            ({"codebase_eq": "cb"}, True),
            ({"codebase_not_eq": "cb"}, False),
            ({"codebase_re": "c"}, True),
            ({"codebase_not_re": "x"}, True),
        ]:
            self.assertEqual(SourceStampFilter(**kwargs).is_matched(SS), expected, kwargs)

    def test_all_criteria_must_pass(self):
        f = SourceStampFilter(project_eq="proj", branch_eq="dev")
        self.assertFalse(f.is_matched(SS))
        self.assertTrue(f.is_matched({**SS, "branch": "dev"}))
        self.assertEqual(
            repr(f), "<SourceStampFilter on project_eq in ['proj'] and branch_eq in ['dev']>"
        )

    def test_missing_keys_are_none(self):
        self.assertFalse(SourceStampFilter(branch_eq="main").is_matched({}))
        self.assertTrue(SourceStampFilter(branch_not_eq="main").is_matched({}))

    def test_errors(self):
        errors = config_errors(lambda: SourceStampFilter(branch_re="[", codebase_not_re="("))
        self.assertEqual(len(errors), 2, errors)
        self.assertTrue(errors[0].startswith("SourceStampFilter: branch_re"))

    def test_equality(self):
        self.assertEqual(SourceStampFilter(branch_eq="a"), SourceStampFilter(branch_eq=["a"]))
        self.assertNotEqual(SourceStampFilter(branch_eq="a"), SourceStampFilter(branch_eq="b"))
