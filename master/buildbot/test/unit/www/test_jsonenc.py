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


class PrettyMatchesStdlibTests(unittest.TestCase):
    """The readable form is made from C-encoded pieces: it must stay byte for byte
    what the standard library's indented encoder writes."""

    def check(self, obj):
        self.assertEqual(jsonenc.pretty(obj), jsonenc._PRETTY.encode(obj))

    def test_entities_page(self):
        dt = datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
        build = {"buildid": 1, "started_at": dt, "complete_at": None, "properties": {}}
        step = {"stepid": 2, "urls": [{"name": "a", "url": "http://x"}], "hidden": False}
        self.check({"builds": [build, dict(build, buildid=2)], "meta": {"total": 2}})
        self.check({"steps": [step], "meta": {}})

    def test_odd_values(self):
        self.check({"s": {3, 1}, "b": b"x", "t": (1, (2,)), "f": 1.5, "u": 'é\n"', "e": []})
        self.check([[], {}, [[]], [{}], {"a": [1, {"b": set()}]}])
        self.check("x")
        self.check(None)

    def test_non_string_keys_fall_back(self):
        self.check({1: "a", 2: [1, {3: None}]})
        self.check({"a": {None: [1]}})

    def test_random_documents(self):
        import random

        rnd = random.Random(7)
        leaves = [
            None,
            True,
            0,
            -3,
            2.5,
            "",
            "x\\y",
            b"\0",
            (),
            [],
            {},
            {1},
            datetime.datetime(1960, 1, 1),
        ]

        def make(depth):
            r = rnd.random()
            if depth > 3 or r < 0.4:
                return rnd.choice(leaves)
            if r < 0.7:
                return {rnd.choice("abcde"): make(depth + 1) for _ in range(rnd.randint(0, 4))}
            return [make(depth + 1) for _ in range(rnd.randint(0, 4))]

        for _ in range(500):
            self.check(make(0))

    def test_unknown_type_in_pretty(self):
        with self.assertRaises(TypeError):
            jsonenc.dumps({"x": [object()]}, compact=False)
