"""ChangeFilter: every criterion of config.md §6, and the scheduler helper."""

import re

from twisted.trial import unittest

from buildbot import config
from buildbot.changes.changes import Change
from buildbot.changes.filter import ChangeFilter, NotABranch


def config_errors(fn):
    with config.capture_config_errors() as errors:
        result = fn()
    return errors.errors, result


def change(**kw):
    props = kw.pop("properties", {})
    args = {
        "who": "me",
        "files": ["a.c"],
        "comments": "fix",
        "branch": "main",
        "project": "proj",
        "repository": "https://x/repo.git",
        "category": "cat",
        "codebase": "cb",
        **kw,
    }
    return Change(properties=props, **args)


class AttributeTests(unittest.TestCase):
    def check(self, f, expected, **kw):
        self.assertEqual(f.filter_change(change(**kw)), expected, (f, kw))

    def test_no_criteria_accepts_everything(self):
        f = ChangeFilter()
        self.check(f, True)
        self.check(f, True, branch=None)
        self.assertEqual(repr(f), "<ChangeFilter on anything>")

    def test_plain_value_and_list(self):
        for attr in ("project", "repository", "branch", "category", "codebase"):
            value = getattr(change(), attr)
            self.check(ChangeFilter(**{attr: value}), True)
            self.check(ChangeFilter(**{attr: [value, "other"]}), True)
            self.check(ChangeFilter(**{attr: "other"}), False)
            self.check(ChangeFilter(**{attr: ["x", "y"]}), False)

    def test_not_eq_re_not_re_fn_for_each_attribute(self):
        for attr in ("project", "repository", "branch", "category", "codebase"):
            value = getattr(change(), attr)
            self.check(ChangeFilter(**{f"{attr}_not_eq": value}), False)
            self.check(ChangeFilter(**{f"{attr}_not_eq": ["x", "y"]}), True)
            self.check(ChangeFilter(**{f"{attr}_re": re.escape(value[:2])}), True)
            self.check(ChangeFilter(**{f"{attr}_re": "zz"}), False)
            self.check(ChangeFilter(**{f"{attr}_not_re": re.escape(value[:2])}), False)
            self.check(ChangeFilter(**{f"{attr}_not_re": ["zz", "yy"]}), True)
            self.check(ChangeFilter(**{f"{attr}_fn": lambda v, value=value: v == value}), True)
            self.check(ChangeFilter(**{f"{attr}_fn": lambda v: False}), False)

    def test_regex_uses_match_not_search(self):
        f = ChangeFilter(branch_re="rel")
        self.check(f, True, branch="release")
        self.check(f, False, branch="prerelease")
        self.check(ChangeFilter(branch_re=re.compile(".*rel")), True, branch="prerelease")

    def test_branch_none_is_the_default_branch(self):
        f = ChangeFilter(branch=None)
        self.check(f, True, branch=None)
        self.check(f, False, branch="main")
        # unset: anything
        self.check(ChangeFilter(branch=NotABranch), True, branch="main")
        # None for other attributes means unset
        self.check(ChangeFilter(category=None), True, category="x")

    def test_regex_on_missing_value(self):
        self.check(ChangeFilter(category_re="c"), False, category=None)
        self.check(ChangeFilter(category_not_re="c"), True, category=None)

    def test_filter_fn_sees_the_change(self):
        seen = []

        def fn(ch):
            seen.append(ch.who)
            return ch.who == "me"

        self.check(ChangeFilter(filter_fn=fn), True)
        self.check(ChangeFilter(filter_fn=fn), False, who="you")
        self.assertEqual(seen, ["me", "you"])

    def test_all_criteria_must_pass(self):
        f = ChangeFilter(project="proj", branch="main", filter_fn=lambda c: "y" in c.comments)
        self.check(f, False)
        self.check(f, True, comments="yy")
        self.check(f, False, comments="yy", branch="dev")

    def test_properties(self):
        props = {"os": "linux", "prio": 3, "tag": "v1.2"}
        self.check(ChangeFilter(property_eq={"os": "linux"}), True, properties=props)
        self.check(ChangeFilter(property_eq={"os": ["win", "linux"]}), True, properties=props)
        self.check(ChangeFilter(property_eq={"os": "win"}), False, properties=props)
        self.check(ChangeFilter(property_eq={"prio": 3}), True, properties=props)
        self.check(ChangeFilter(property_eq={"missing": "x"}), False, properties=props)
        self.check(ChangeFilter(property_not_eq={"os": "linux"}), False, properties=props)
        self.check(ChangeFilter(property_not_eq={"missing": "x"}), True, properties=props)
        self.check(ChangeFilter(property_re={"tag": r"v\d"}), True, properties=props)
        self.check(ChangeFilter(property_re={"tag": ["x", "y"]}), False, properties=props)
        self.check(ChangeFilter(property_re={"prio": "3"}), False, properties=props)
        self.check(ChangeFilter(property_not_re={"tag": "v"}), False, properties=props)
        self.check(ChangeFilter(property_not_re={"missing": "v"}), True, properties=props)
        f = ChangeFilter(property_eq={"os": "linux"}, property_not_re={"os": "lin"})
        self.check(f, False, properties=props)

    def test_repr(self):
        def mine(c):
            return True

        f = ChangeFilter(branch="main", property_eq={"os": "linux"}, filter_fn=mine)
        self.assertEqual(
            repr(f), "<ChangeFilter on branch in ['main'] and property os in ['linux'] and mine()>"
        )

    def test_equality(self):
        self.assertEqual(ChangeFilter(branch="a"), ChangeFilter(branch=["a"]))
        self.assertNotEqual(ChangeFilter(branch="a"), ChangeFilter(branch="b"))
        self.assertNotEqual(ChangeFilter(branch=None), ChangeFilter())
        self.assertEqual(
            ChangeFilter(property_re={"x": "a"}), ChangeFilter(property_re={"x": re.compile("a")})
        )


class ErrorTests(unittest.TestCase):
    def test_uncompilable_regex(self):
        errors, _ = config_errors(lambda: ChangeFilter(branch_re="(", project_not_re=["ok", "["]))
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("ChangeFilter: project_not_re: cannot compile regex '['", errors[0])
        self.assertIn("ChangeFilter: branch_re: cannot compile regex '('", errors[1])

    def test_not_callable(self):
        errors, _ = config_errors(lambda: ChangeFilter(filter_fn="x", branch_fn=1))
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("filter_fn must be a callable", errors[0])
        self.assertIn("branch_fn must be a callable", errors[1])

    def test_bad_property_args(self):
        errors, _ = config_errors(lambda: ChangeFilter(property_eq=["x"], property_re={"p": "("}))
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("property_eq must be a dict", errors[0])
        self.assertIn("property_re['p']", errors[1])

    def test_raised_outside_a_config_load(self):
        with self.assertRaises(config.ConfigErrors):
            ChangeFilter(codebase_re="(")


class FromSchedulerArgsTests(unittest.TestCase):
    def test_nothing(self):
        self.assertIsNone(ChangeFilter.fromSchedulerConstructorArgs())

    def test_change_filter_passes_through(self):
        f = ChangeFilter(branch="x")
        self.assertIs(ChangeFilter.fromSchedulerConstructorArgs(change_filter=f), f)

    def test_branch_and_categories(self):
        f = ChangeFilter.fromSchedulerConstructorArgs(branch="main", categories=["a", "b"])
        self.assertEqual(f, ChangeFilter(branch="main", category=["a", "b"]))
        self.assertTrue(f.filter_change(change(category="a")))
        self.assertFalse(f.filter_change(change(category="c")))
        f = ChangeFilter.fromSchedulerConstructorArgs(branch=None)
        self.assertTrue(f.filter_change(change(branch=None)))
        self.assertFalse(f.filter_change(change()))
        f = ChangeFilter.fromSchedulerConstructorArgs(categories="cat")
        self.assertTrue(f.filter_change(change(branch="any")))

    def test_both_is_an_error(self):
        for kw in ({"branch": "main"}, {"categories": ["a"]}, {"branch": None}):
            errors, _ = config_errors(
                lambda kw=kw: ChangeFilter.fromSchedulerConstructorArgs(
                    change_filter=ChangeFilter(), **kw
                )
            )
            self.assertEqual(len(errors), 1, kw)
            self.assertIn("cannot specify both change_filter and branch", errors[0])

    def test_not_a_filter(self):
        errors, result = config_errors(
            lambda: ChangeFilter.fromSchedulerConstructorArgs(change_filter="main")
        )
        self.assertIn("change_filter must be a ChangeFilter", errors[0])
        self.assertIsNone(result)

    def test_notabranch(self):
        self.assertEqual(repr(NotABranch), "NotABranch")
        self.assertFalse(NotABranch)
