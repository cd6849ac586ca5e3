"""ResultSpec and Filter: in-Python filtering, ordering, paging and the parts popped for SQL."""

import datetime

from twisted.trial import unittest

from buildbot.data.resultspec import Filter, ListResult, ResultSpec, parse_value
from buildbot.util import UTC

DATA = [
    {"id": 1, "name": "a", "n": 3, "tags": ["x"]},
    {"id": 2, "name": "b", "n": None, "tags": []},
    {"id": 3, "name": "c", "n": 1, "tags": ["x", "y"]},
]


def ids(result):
    return [d["id"] for d in result]


class TestFilter(unittest.TestCase):
    def check(self, op, values, expected, field="n"):
        self.assertEqual(ids(Filter(field, op, values).apply(DATA)), expected)

    def test_operators(self):
        self.check("eq", [3], [1])
        self.check("eq", [3, None], [1, 2])
        self.check("ne", [3], [2, 3])
        self.check("in", [1, 3], [1, 3])
        self.check("notin", [1, 3], [2])
        self.check("lt", [3], [3])
        self.check("le", [3], [1, 3])
        self.check("gt", [1], [1])
        self.check("ge", [1], [1, 3])
        self.check("contains", ["y"], [3], field="tags")
        self.check("contains", ["x"], [1, 3], field="tags")
        self.check("contains", ["b", "c"], [2, 3], field="name")

    def test_unknown_operator(self):
        with self.assertRaises(ValueError):
            Filter("n", "like", [1])

    def test_incomparable_types_do_not_match(self):
        self.check("lt", ["zz"], [])


class TestResultSpec(unittest.TestCase):
    def test_order_puts_null_first_ascending_last_descending(self):
        self.assertEqual(ids(ResultSpec(order=["n"]).apply(DATA)), [2, 3, 1])
        self.assertEqual(ids(ResultSpec(order=["-n"]).apply(DATA)), [1, 3, 2])

    def test_order_several_keys(self):
        data = [{"id": 1, "a": 1, "b": 2}, {"id": 2, "a": 1, "b": 3}, {"id": 3, "a": 0, "b": 9}]
        self.assertEqual(ids(ResultSpec(order=["a", "-b"]).apply(data)), [3, 2, 1])

    def test_paging_and_total(self):
        res = ResultSpec(order=["-id"], offset=1, limit=1).apply(DATA)
        self.assertIsInstance(res, ListResult)
        self.assertEqual(ids(res), [2])
        self.assertEqual((res.total, res.offset, res.limit), (3, 1, 1))

    def test_total_counts_after_filtering(self):
        res = ResultSpec(filters=[Filter("n", "ne", [None])], limit=1).apply(DATA)
        self.assertEqual((ids(res), res.total), ([1], 2))

    def test_fields(self):
        self.assertEqual(ResultSpec(fields=["name"]).apply(DATA)[0], {"name": "a"})
        self.assertEqual(ResultSpec(fields=["id"]).apply({"id": 1, "x": 2}), {"id": 1})
        self.assertIsNone(ResultSpec().apply(None))

    def test_pop_filters(self):
        spec = ResultSpec(
            filters=[
                Filter("complete", "eq", [True]),
                Filter("claimed", "ne", [True]),
                Filter("builderid", "eq", [3]),
                Filter("x", "eq", [1, 2]),
            ]
        )
        self.assertIs(spec.popBooleanFilter("complete"), True)
        self.assertIs(spec.popBooleanFilter("claimed"), False)
        self.assertEqual(spec.popIntegerFilter("builderid"), 3)
        # several values cannot be one SQL equality: left for Python
        self.assertIsNone(spec.popOneFilter("x", "eq"))
        self.assertEqual(spec.filters, [Filter("x", "eq", [1, 2])])
        self.assertEqual(spec.popFilter("x", "eq"), [1, 2])
        self.assertEqual(spec.filters, [])
        self.assertIsNone(spec.popBooleanFilter("complete"))

    def test_pop_properties_and_pagination(self):
        spec = ResultSpec(properties=["a"], limit=2, offset=1, order=["x"])
        self.assertEqual(spec.popProperties(), ["a"])
        self.assertEqual(spec.popProperties(), [])
        spec.removePagination()
        spec.removeOrder()
        self.assertEqual((spec.limit, spec.offset, spec.order), (None, None, None))


class TestParseValue(unittest.TestCase):
    def test_types(self):
        self.assertEqual(parse_value("int", "12"), 12)
        self.assertEqual(parse_value("int?", "-3"), -3)
        for text in ("true", "Yes", "on", "1"):
            self.assertIs(parse_value("bool", text), True)
        for text in ("false", "no", "OFF", "0"):
            self.assertIs(parse_value("bool", text), False)
        self.assertEqual(
            parse_value("ts?", "10"), datetime.datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC)
        )
        self.assertEqual(parse_value("[int]", "4"), 4)
        self.assertEqual(parse_value("id(50)", "a-b.c"), "a-b.c")
        self.assertEqual(parse_value("str", "any thing"), "any thing")

    def test_invalid(self):
        for type_, text in [("int", "x"), ("bool", "maybe"), ("id(3)", "abcd"), ("id(9)", "1a")]:
            with self.assertRaises(ValueError):
                parse_value(type_, text)
