"""JSON-RPC controls over HTTP POST: request checks, results and the error shapes."""

import json

from twisted.trial import unittest

from buildbot.process.results import CANCELLED
from buildbot.schedulers.forcesched import ForceScheduler
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.test.util.www import WwwMixin
from buildbot.util import service

MASTERID = 824


class JsonRpcTests(WwwMixin, db.SQLiteDBMixin, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Builder(id=5, name="b5"),
                fakedb.Worker(id=1, name="w1"),
                fakedb.Scheduler(id=3, name="sched", enabled=1),
                fakedb.SourceStamp(id=20, branch="main", revision="abc"),
                fakedb.Buildset(id=10),
                fakedb.BuildsetSourceStamp(buildsetid=10, sourcestampid=20),
                fakedb.BuildRequest(id=11, buildsetid=10, builderid=5),
                fakedb.BuildRequest(id=14, buildsetid=10, builderid=5),
                fakedb.Build(
                    id=12, number=1, builderid=5, buildrequestid=11, workerid=1, masterid=MASTERID
                ),
            ]
        )
        # a configured force scheduler, not started (no claim needed to force)
        self.master.scheduler_manager = service.AsyncMultiService()
        await self.master.scheduler_manager.setServiceParent(self.master)
        self.force = ForceScheduler("force", ["b5"])
        await self.force.setServiceParent(self.master.scheduler_manager)

    def post(self, path, body, content_type="application/json"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return self.request(
            "POST", f"api/v2/{path}", headers={"Content-Type": content_type}, body=body
        )

    def assertRpcError(self, res, code, rpc_code, message, rpc_id=..., with_id=True):
        self.assertEqual(res.code, code, res.body)
        self.assertEqual(res.header("Content-Type"), "application/json")
        body = res.json()
        self.assertEqual(
            list(body), ["jsonrpc", "id", "error"] if with_id else ["jsonrpc", "error"]
        )
        if with_id:
            self.assertEqual(body["id"], rpc_id)
        self.assertEqual(body["error"], {"code": rpc_code, "message": message})

    # --- successes --------------------------------------------------------------------

    async def test_stop_build(self):
        res = await self.rpc("builds/12", "stop", {"reason": "enough"}, rpc_id="a")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.header("Content-Type"), "application/json")
        self.assertEqual(res.body, b'{"id":"a","jsonrpc":"2.0","result":null}')
        self.assertIn(
            (("control", "builds", "12", "stop"), {"reason": "enough"}), self.mq.productions
        )

    async def test_stop_build_by_builder_path(self):
        res = await self.rpc("builders/5/builds/1", "stop", rpc_id=None)
        self.assertEqual(res.json(), {"id": None, "jsonrpc": "2.0", "result": None})

    async def test_rebuild(self):
        res = await self.rpc("builds/12", "rebuild", rpc_id=7)
        self.assertEqual(res.code, 200, res.body)
        bsid, brids = res.json()["result"]
        self.assertEqual(list(brids), ["5"])
        bs = (await self.get(f"buildsets/{bsid}")).json()["buildsets"][0]
        self.assertEqual((bs["reason"], bs["rebuilt_buildid"]), ("rebuild", 12))

    async def test_cancel_buildrequest(self):
        res = await self.rpc("buildrequests/14", "cancel", {"reason": "no"})
        self.assertEqual(res.json()["result"], None)
        br = (await self.get("buildrequests/14")).json()["buildrequests"][0]
        self.assertEqual((br["complete"], br["results"]), (True, CANCELLED))

    async def test_enable_scheduler(self):
        res = await self.rpc("schedulers/3", "enable", {"enabled": False})
        self.assertEqual(res.json()["result"], None)
        sched = (await self.get("schedulers/3")).json()["schedulers"][0]
        self.assertFalse(sched["enabled"])

    async def test_force(self):
        res = await self.rpc("forceschedulers/force", "force", {"builderNames": ["b5"]})
        self.assertEqual(res.code, 200, res.body)
        bsid, brids = res.json()["result"]
        self.assertEqual(list(brids), ["5"])
        bs = (await self.get(f"buildsets/{bsid}", {"property": "*"})).json()["buildsets"][0]
        # an anonymous request: the owner is the form's username, empty here
        self.assertEqual(bs["reason"], "A build was forced by 'anonymous': force build")

    async def test_force_owner_is_set_by_the_server(self):
        res = await self.rpc("forceschedulers/force", "force", {"owner": "mallory"})
        bsid = res.json()["result"][0]
        bs = (await self.get(f"buildsets/{bsid}")).json()["buildsets"][0]
        self.assertNotIn("mallory", bs["reason"])

    async def test_force_unknown_scheduler_is_a_server_error(self):
        # as in the reference: 500 with the repr of an AttributeError
        res = await self.rpc("forceschedulers/nope", "force", {})
        self.assertRpcError(
            res, 500, -32603, "AttributeError(\"'NoneType' object has no attribute 'force'\")", 1
        )
        self.assertEqual(len(self.flushLoggedErrors(AttributeError)), 1)

    async def test_force_unknown_builder_is_a_server_error(self):
        # as in the reference: 500 with the repr of a KeyError
        res = await self.rpc("forceschedulers/force", "force", {"builderNames": ["zz"]})
        self.assertRpcError(
            res, 500, -32603, "KeyError('builderNames not specified or not supported')", 1
        )
        res = await self.rpc("forceschedulers/force", "force", {"builderid": 99})
        self.assertRpcError(res, 500, -32603, "KeyError('no builder with id 99')", 1)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 2)

    async def test_force_validation_error(self):
        res = await self.rpc("forceschedulers/force", "force", {"priority": "high"})
        self.assertEqual(res.code, 400, res.body)
        error = res.json()["error"]
        self.assertEqual(error["code"], -32602)
        self.assertIsInstance(error["message"], dict)
        self.assertIn("priority", error["message"])

    # --- errors from the data API -----------------------------------------------------

    async def test_unknown_path(self):
        self.assertRpcError(
            await self.rpc("nope/1", "stop"), 404, -32600, "Invalid path: nope/1", 1
        )
        self.assertRpcError(await self.rpc("", "stop"), 404, -32600, "Invalid path: ", 1)

    async def test_unknown_build(self):
        res = await self.rpc("builds/99", "stop", rpc_id=3)
        self.assertRpcError(res, 404, -32600, "no such build", 3)

    async def test_unsupported_action(self):
        res = await self.rpc("builds/12", "explode")
        self.assertRpcError(res, 501, -32601, "action: explode is not supported", 1)
        res = await self.rpc("masters/824", "stop")
        self.assertRpcError(res, 501, -32601, "action: stop is not supported", 1)

    async def test_handler_exception(self):
        res = await self.rpc("buildrequests/14", "set_priority", {})
        self.assertRpcError(res, 500, -32603, "KeyError('priority')", 1)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    async def test_error_reply_format(self):
        res = await self.rpc("builds/12", "explode", rpc_id=2)
        self.assertTrue(
            res.body.startswith(b'{"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, '),
            res.body,
        )

    # --- malformed requests -----------------------------------------------------------

    async def test_content_type(self):
        good = {"jsonrpc": "2.0", "method": "stop", "params": {}, "id": 1}
        res = await self.post("builds/12", good, "text/plain")
        self.assertRpcError(
            res, 400, -32600, "Invalid content-type (use application/json)", with_id=False
        )
        res = await self.post("builds/12", good, "application/json; charset=utf-8")
        self.assertEqual(res.code, 200)

    async def test_not_json(self):
        res = await self.post("builds/12", b"{nope")
        self.assertEqual(res.code, 400)
        body = res.json()
        self.assertNotIn("id", body)
        self.assertEqual(body["error"]["code"], -32700)
        self.assertTrue(body["error"]["message"].startswith("JSON parse error: "))

    async def test_invalid_requests(self):
        ok = {"jsonrpc": "2.0", "method": "stop", "params": {}, "id": 1}
        cases = [
            ([ok], "JSONRPC batch requests are not supported"),
            ("stop", "JSONRPC root object must be an object"),
            ({k: v for k, v in ok.items() if k != "id"}, "missing key 'id'"),
            ({k: v for k, v in ok.items() if k != "params"}, "missing key 'params'"),
            ({**ok, "jsonrpc": "1.0"}, "only JSONRPC 2.0 is supported"),
            ({**ok, "params": []}, "'params' must be an object"),
            ({**ok, "method": 3}, "'method' must be a string"),
            ({**ok, "id": {"a": 1}}, "'id' must be a string, number, or null"),
            ({**ok, "id": True}, "'id' must be a string, number, or null"),
        ]
        for body, message in cases:
            res = await self.post("builds/12", body)
            self.assertRpcError(res, 400, -32600, message, with_id=False)
        self.assertEqual(self.mq.productions, [])
