"""The base dialect (change fields from request arguments) and the helpers the dialects
share."""

from __future__ import annotations

import json

from twisted.trial import unittest

from buildbot.test.unit.www.test_change_hook import HookMixin
from buildbot.www.hooks import base as hooks_base


class Helpers(unittest.TestCase):
    def test_parse_timestamp(self) -> None:
        p = hooks_base.parse_timestamp
        self.assertEqual(p("2024-03-01T10:00:00+01:00"), 1709283600)
        self.assertEqual(p("2024-03-01T09:00:00Z"), 1709283600)
        self.assertEqual(p("2024-03-01T09:00:00"), 1709283600)
        self.assertEqual((p(12.5), p("12"), p(None), p("")), (12, 12, None, None))
        with self.assertRaises(ValueError):
            p("last tuesday")

    def test_whitelisted_properties(self) -> None:
        data = {"a": {"b": 1, "c": [2]}, "d": "x"}
        self.assertEqual(hooks_base.flatten(data, "p"), {"p.a.b": 1, "p.a.c": [2], "p.d": "x"})
        self.assertEqual(
            hooks_base.whitelisted_properties(data, "p", ["p.a.*"]), {"p.a.b": 1, "p.a.c": [2]}
        )
        self.assertEqual(hooks_base.whitelisted_properties(data, "p", None), {})


class BaseDialectTests(HookMixin, unittest.TestCase):
    www_config = {"change_hook_dialects": {"base": True}}
    FORM = {"Content-Type": "application/x-www-form-urlencoded"}

    async def test_all_fields(self) -> None:
        from urllib.parse import urlencode

        form = {
            "author": "Jo <jo@example.org>",
            "committer": "Al <al@example.org>",
            "comments": "fix it",
            "revision": "deadbeef",
            "when_timestamp": "1700000000.5",
            "branch": "main",
            "category": "cat",
            "revlink": "http://x/deadbeef",
            "repository": "git://x/r.git",
            "project": "p",
            "codebase": "cb",
            "files": json.dumps(["a.c", "b.h"]),
            "properties": json.dumps({"k": [1]}),
        }
        res = await self.post("change_hook/base", body=urlencode(form).encode(), headers=self.FORM)
        self.assertEqual(res.code, 200, res.body)
        self.assertChanges(
            [
                {
                    "author": "Jo <jo@example.org>",
                    "committer": "Al <al@example.org>",
                    "comments": "fix it",
                    "revision": "deadbeef",
                    "when_timestamp": 1700000000,
                    "branch": "main",
                    "category": "cat",
                    "revlink": "http://x/deadbeef",
                    "repository": "git://x/r.git",
                    "project": "p",
                    "codebase": "cb",
                    "files": ["a.c", "b.h"],
                    "properties": {"k": [1]},
                }
            ]
        )

    async def test_who_and_when(self) -> None:
        res = await self.request("POST", "change_hook/base?who=me&when=12")
        self.assertEqual(res.code, 200)
        self.assertChanges(
            [{"author": "me", "when_timestamp": 12, "files": [], "properties": {}, "revlink": ""}]
        )

    async def test_bad_arguments(self) -> None:
        for query, message in (
            ("files=%5Bx", "invalid JSON in 'files'"),
            ("files=%7B%7D", "'files' must be a JSON list"),
            ("properties=%5B%5D", "'properties' must be a JSON object"),
            ("when=yesterday", "invalid when_timestamp"),
        ):
            res = await self.request("POST", f"change_hook/base?{query}")
            self.assertRefused(res, 400, message)
