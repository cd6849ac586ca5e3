"""The REST JSON encoding: sorted keys, epoch datetimes, bytes as null, two layouts."""

import datetime

from twisted.trial import unittest

from buildbot.www import jsonenc

UTC = datetime.UTC


class DumpsTests(unittest.TestCase):
    def test_compact(self):
        obj = {"b": b"\x00", "a": datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), "c": [1]}
        self.assertEqual(jsonenc.dumps(obj), b'{"a":1700000000,"b":null,"c":[1]}')

    def test_naive_datetime_is_utc(self):
        self.assertEqual(jsonenc.dumps(datetime.datetime(1970, 1, 1, 0, 1)), b"60")

    def test_pretty(self):
        self.assertEqual(
            jsonenc.dumps({"b": [1, 2], "a": None}, compact=False),
            b'{\n  "a": null, \n  "b": [\n    1, \n    2\n  ]\n}',
        )

    def test_unknown_type(self):
        with self.assertRaises(TypeError):
            jsonenc.dumps({"x": object()})
