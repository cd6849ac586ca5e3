"""/change_hook: dialect dispatch, answers, errors, custom classes, change_hook_auth and
reconfig, over real HTTP to a real WWWService (the master's data updates are recorded).

`HookMixin` is shared by the dialect tests (test_hooks_*.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

from twisted.cred import checkers
from twisted.trial import unittest

from buildbot.test.fake.fakedata import FakeDataConnector
from buildbot.test.util import db
from buildbot.test.util.www import WwwMixin
from buildbot.www import change_hook
from buildbot.www.hooks.base import BaseHookHandler, HookForbidden

# addChange's defaults: a recorded call holds every argument
CHANGE_DEFAULTS = {
    "files": None,
    "comments": None,
    "author": None,
    "committer": None,
    "revision": None,
    "when_timestamp": None,
    "branch": None,
    "category": None,
    "revlink": "",
    "properties": None,
    "repository": "",
    "codebase": None,
    "project": "",
    "src": None,
}


class HookMixin(WwwMixin, db.FakeDBMixin):
    """A real web server with /change_hook; `www_config` holds the dialects."""

    connector_class = FakeDataConnector

    async def setUp(self) -> None:
        await super().setUp()

    def post(
        self,
        path: str,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        params: Any = None,
    ) -> Any:
        if body is None and payload is not None:
            body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **(headers or {})}
        return self.request("POST", path, params=params, headers=headers, body=body)

    def added(self) -> list[dict[str, Any]]:
        """The addChange calls, each with every argument."""
        return [dict(c) for c in self.data.updates.callsTo("addChange")]

    def assertChanges(self, expected: list[dict[str, Any]]) -> None:
        self.assertEqual(self.added(), [{**CHANGE_DEFAULTS, **e} for e in expected])

    def assertRefused(self, res: Any, code: int, message: str) -> None:
        self.assertEqual(res.code, code, res.body)
        self.assertIn(message, res.body.decode())
        self.assertEqual(self.added(), [])


class Recorder(BaseHookHandler):
    """A custom dialect class: answers what the test puts in `outcome`."""

    outcome: Any = None

    def getChanges(self, request: Any) -> Any:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class ChangeHookResourceTests(HookMixin, unittest.TestCase):
    www_config = {"change_hook_dialects": {"base": True, "custom": {"custom_class": Recorder}}}

    def setUp(self) -> Any:
        Recorder.outcome = None
        return super().setUp()

    async def test_base_is_the_default_dialect(self) -> None:
        for path in ("change_hook", "change_hook/", "change_hook/base"):
            res = await self.post(
                path,
                body=b"revision=abc&branch=main&author=me",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            self.assertEqual(res.code, 200, res.body)
            self.assertEqual(res.header("Content-Type"), "application/json")
        ids = res.json()["changeids"]
        self.assertEqual(len(ids), 1)
        self.assertEqual(len(self.added()), 3)
        change = await self.data.get(("changes", ids[0]))
        self.assertEqual((change["revision"], change["sourcestamp"]["branch"]), ("abc", "main"))

    async def test_get_works_too(self) -> None:
        res = await self.request("GET", "change_hook/base?revision=r1&author=me")
        self.assertEqual(res.code, 200, res.body)
        self.data.updates.assertCalled("addChange", revision="r1", author="me")

    async def test_unknown_or_disabled_dialect_is_400(self) -> None:
        # Buildbot's answer, status and text
        for path in ("change_hook/nonesuch", "change_hook/github", "change_hook/base/x"):
            res = await self.post(path, {})
            self.assertRefused(res, 400, "wasn't whitelisted in change_hook")
        res = await self.post("change_hook/nonesuch", {})
        self.assertRefused(res, 400, "The dialect specified, 'nonesuch', wasn't whitelisted")

    async def test_other_methods(self) -> None:
        res = await self.request("PUT", "change_hook/base")
        self.assertEqual(res.code, 405)
        self.assertEqual(self.added(), [])

    async def test_custom_class_and_src(self) -> None:
        Recorder.outcome = (
            [{"revision": "1", "author": "a"}, {"revision": "2", "author": "a", "src": "hg"}],
            "svn",
        )
        res = await self.post("change_hook/custom", {})
        self.assertEqual(res.code, 200)
        self.assertEqual(len(res.json()["changeids"]), 2)
        self.assertChanges(
            [
                {"revision": "1", "author": "a", "src": "svn"},
                {"revision": "2", "author": "a", "src": "hg"},
            ]
        )

    async def test_value_error_is_400(self) -> None:
        Recorder.outcome = ValueError("bad payload: x")
        self.assertRefused(await self.post("change_hook/custom", {}), 400, "bad payload: x")

    async def test_forbidden_is_403(self) -> None:
        Recorder.outcome = HookForbidden("bad signature")
        self.assertRefused(await self.post("change_hook/custom", {}), 403, "bad signature")

    async def test_bad_change_lists_are_400(self) -> None:
        for outcome, message in (
            (([{"revision": "1", "author": "a"}, {"revision": "2"}], None), "needs an author"),
            (([None], None), "not a change"),
            ((None, None), "no list of changes"),
        ):
            Recorder.outcome = outcome
            self.assertRefused(await self.post("change_hook/custom", {}), 400, message)

    async def test_missing_field_is_400(self) -> None:
        Recorder.outcome = KeyError("ref")
        self.assertRefused(await self.post("change_hook/custom", {}), 400, "malformed payload")

    async def test_unexpected_error_is_500(self) -> None:
        Recorder.outcome = RuntimeError("boom")
        res = await self.post("change_hook/custom", {})
        self.assertEqual(res.code, 500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_misconfigured_dialect_is_500(self) -> None:
        await self.reconfig_www(change_hook_dialects={"github": {"strict": True}})
        res = await self.post("change_hook/github", {})
        self.assertEqual(res.code, 500)
        self.assertIn("strict mode", res.body.decode())
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    async def test_not_enabled_is_400(self) -> None:
        await self.reconfig_www(change_hook_dialects={})
        res = await self.post("change_hook/base", {})
        self.assertRefused(res, 400, "The dialect specified, 'base', wasn't whitelisted")
        res = await self.post("change_hook", {})
        self.assertRefused(res, 400, "The dialect specified, 'base', wasn't whitelisted")

    async def test_reconfig_changes_dialects(self) -> None:
        Recorder.outcome = ([{"revision": "1", "author": "a"}], None)
        self.assertEqual((await self.post("change_hook/custom", {})).code, 200)
        await self.reconfig_www(change_hook_dialects={"base": True})
        self.assertEqual((await self.post("change_hook/custom", {})).code, 400)
        self.assertEqual((await self.post("change_hook/base?author=a", {})).code, 200)

    async def test_handlers_are_kept_while_the_config_is_equal(self) -> None:
        root = self.www.root.children[b"change_hook"]
        await self.post("change_hook/custom", {})
        first = root._hooks.handler_for("custom")
        await self.reconfig_www(change_hook_dialects=dict(self.www_config["change_hook_dialects"]))
        await self.post("change_hook/custom", {})
        self.assertIs(root._hooks.handler_for("custom"), first)

    async def test_auth_pairs_and_checkers(self) -> None:
        db_checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(other=b"pw2")
        await self.reconfig_www(change_hook_auth=[("user", "pw"), db_checker])
        url = "change_hook/base?revision=r&author=a"
        for headers in (
            {},
            basic("user", "nope"),
            {"Authorization": "Bearer x"},
            {"Authorization": "Basic !!!"},
            {"Authorization": "Basic bm9jb2xvbg=="},
        ):
            res = await self.request("POST", url, headers=headers)
            self.assertEqual(res.code, 401, headers)
            self.assertEqual(res.header("WWW-Authenticate"), 'Basic realm="Protected area"')
        self.assertEqual(self.added(), [])
        self.assertEqual((await self.request("POST", url, headers=basic("user", "pw"))).code, 200)
        self.assertEqual((await self.request("POST", url, headers=basic("other", "pw2"))).code, 200)
        self.assertEqual(len(self.added()), 2)

    async def test_auth_strcred_file(self) -> None:
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("hook:s3cret\n")
        await self.reconfig_www(change_hook_auth=[f"file:{path}"])
        url = "change_hook/base?revision=r&author=a"
        self.assertEqual((await self.request("POST", url, headers=basic("hook", "x"))).code, 401)
        self.assertEqual(
            (await self.request("POST", url, headers=basic("hook", "s3cret"))).code, 200
        )

    def test_make_checkers(self) -> None:
        (memory,) = change_hook.make_checkers({"u": "p"})
        self.assertEqual(memory.users, {b"u": b"p"})
        self.assertEqual(change_hook.make_checkers(None), [])
        with self.assertRaises(ValueError):
            change_hook.make_checkers([42])
