"""REST reads over HTTP: paths, envelope, query parameters, formats, errors, HEAD, CORS."""

import json

from twisted.trial import unittest
from twisted.web import http

from buildbot.data import logchunks
from buildbot.data.exceptions import InvalidQueryParameter
from buildbot.test import fakedb
from buildbot.test.util import db
from buildbot.test.util.www import URL, WwwMixin
from buildbot.www import rest

NOW = 1700000000
MASTERID = 824

BUILD12 = {
    "buildid": 12,
    "number": 1,
    "builderid": 5,
    "buildrequestid": 11,
    "workerid": 1,
    "masterid": MASTERID,
    "started_at": NOW - 100,
    "complete": True,
    "complete_at": NOW - 50,
    "locks_duration_s": 0,
    "results": 0,
    "state_string": "finished",
    "properties": {},
}


def pretty(obj):
    return json.dumps(obj, sort_keys=True, indent=2, separators=(", ", ": ")).encode()


class RestTests(WwwMixin, db.SQLiteDBMixin, unittest.TestCase):
    async def setUp(self):
        await super().setUp()
        await self.insert_test_data(
            [
                fakedb.Master(id=MASTERID, name="me"),
                fakedb.Builder(id=5, name="b5"),
                fakedb.Builder(id=6, name="b6"),
                fakedb.Tag(id=1, name="fast"),
                fakedb.BuildersTags(builderid=5, tagid=1),
                fakedb.Worker(id=1, name="w1"),
                fakedb.Buildset(id=10),
                fakedb.BuildRequest(id=11, buildsetid=10, builderid=5),
                fakedb.Build(
                    id=12,
                    number=1,
                    builderid=5,
                    buildrequestid=11,
                    workerid=1,
                    masterid=MASTERID,
                    started_at=NOW - 100,
                    complete_at=NOW - 50,
                    results=0,
                    state_string="finished",
                ),
                fakedb.Build(
                    id=13,
                    number=2,
                    builderid=5,
                    buildrequestid=11,
                    workerid=1,
                    masterid=MASTERID,
                    started_at=NOW - 10,
                    state_string="building",
                ),
                fakedb.BuildProperty(buildid=12, name="p", value='"v"', source="src"),
                fakedb.Step(id=20, buildid=12, number=0, name="compile"),
                fakedb.Log(id=30, stepid=20, name="stdio", slug="stdio", type="s"),
            ]
        )
        await self.data.updates.appendLog(30, "ohello\noworld\n")

    async def ids(self, query, path="builds", key="buildid", plural="builds"):
        res = await self.get(path, query)
        self.assertEqual(res.code, 200, res.body)
        return [e[key] for e in res.json()[plural]]

    async def assertError(self, res, code, message):
        self.assertEqual((res.code, res.json()), (code, {"error": message}))
        self.assertEqual(res.header("Content-Type"), "text/plain; charset=utf-8")

    # --- paths and envelope -----------------------------------------------------------

    async def test_api_versions(self):
        res = await self.request("GET", "api")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.json(), {"api_versions": {"v2": URL + "api/v2"}})
        self.assertTrue(res.header("Content-Type").startswith("application/json"))

    async def test_latest_is_v2(self):
        res = await self.request("GET", "api/latest/builds/12")
        self.assertEqual(res.json()["builds"], [BUILD12])

    async def test_rest_minimum_version_hides_v2(self):
        await self.reconfig_www(rest_minimum_version=3)
        self.assertEqual((await self.request("GET", "api")).json(), {"api_versions": {}})
        self.assertEqual((await self.request("GET", "api/v2/builds")).code, 404)

    async def test_root_links(self):
        res = await self.get("")
        self.assertEqual(res.code, 200)
        body = res.json()
        names = [link["name"] for link in body["rootlinks"]]
        self.assertIn("builds", names)
        self.assertEqual(names, sorted(names))
        self.assertEqual(body["meta"], {"total": len(names)})

    async def test_application_spec(self):
        body = (await self.get("application.spec")).json()
        paths = {s["path"] for s in body["specs"]}
        self.assertIn("builds/n:buildid", paths)

    async def test_invalid_paths(self):
        await self.assertError(await self.get("builds/"), 404, "Invalid path: builds/")
        await self.assertError(await self.request("GET", "api/v2/"), 404, "Invalid path: ")
        await self.assertError(await self.get("nope/1"), 404, "Invalid path: nope/1")

    async def test_collection(self):
        res = await self.get("builds")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.header("Content-Type"), "application/json; charset=utf-8")
        body = res.json()
        self.assertEqual(body["meta"], {"total": 2})
        self.assertEqual(body["builds"][0], BUILD12)
        # compact and sorted
        self.assertTrue(res.body.startswith(b'{"builds":[{"builderid":5,"buildid":12,'))
        self.assertNotIn(b", ", res.body)

    async def test_single(self):
        res = await self.get("builders/b5/builds/1")
        self.assertEqual(res.json(), {"builds": [BUILD12], "meta": {}})
        self.assertEqual(await self.ids({}, "builders/5", "builderid", "builders"), [5])

    async def test_single_not_found(self):
        res = await self.get("builds/99")
        self.assertEqual(res.code, 404)
        message = res.json()["error"]
        self.assertTrue(message.startswith("not found while getting from <"), message)
        self.assertIn("'buildid': 99", message)

    async def test_empty_collection_under_unknown_parent(self):
        res = await self.get("builders/nope/builds")
        self.assertEqual(res.json(), {"builds": [], "meta": {"total": 0}})

    async def test_pretty_text_without_json_accept(self):
        for accept in ("text/html", None):
            headers = {"Accept": accept} if accept else {}
            res = await self.request("GET", "api/v2/builds/12", headers=headers)
            self.assertEqual(res.header("Content-Type"), "text/plain; charset=utf-8")
            self.assertEqual(res.body, pretty({"builds": [BUILD12], "meta": {}}))

    # --- query parameters ----------------------------------------------------------------

    async def test_field(self):
        res = await self.get("builds", {"field": ["buildid", "number"]})
        self.assertEqual(
            res.json()["builds"], [{"buildid": 12, "number": 1}, {"buildid": 13, "number": 2}]
        )
        res = await self.get("builds/12", {"field": "number"})
        self.assertEqual(res.json()["builds"], [{"number": 1}])
        await self.assertError(
            await self.get("builds", {"field": "nope"}), 400, "no such field 'nope'"
        )

    async def test_order(self):
        self.assertEqual(await self.ids({"order": "-buildid"}), [13, 12])
        self.assertEqual(await self.ids({"order": ["-complete", "buildid"]}), [12, 13])
        await self.assertError(await self.get("builds", {"order": "-x"}), 400, "no such field 'x'")

    async def test_limit_offset(self):
        res = await self.get("builds", {"order": "buildid", "offset": "1", "limit": "1"})
        self.assertEqual([b["buildid"] for b in res.json()["builds"]], [13])
        await self.assertError(await self.get("builds", {"limit": "x"}), 400, "invalid limit")
        await self.assertError(await self.get("builds", {"offset": "1.5"}), 400, "invalid offset")
        # accepted and ignored on single entities
        self.assertEqual(await self.ids({"limit": "0", "order": "number"}, "builds/12"), [12])

    async def test_meta_total_counts_filtered_before_paging(self):
        res = await self.get("builders", {"limit": "1", "name__ne": "zz"})
        self.assertEqual(res.json()["meta"], {"total": 2})
        self.assertEqual(len(res.json()["builders"]), 1)

    async def test_filter_operators(self):
        cases = [
            ({"buildid": "12"}, [12]),
            ({"buildid": ["12", "13"]}, [12, 13]),
            ({"buildid__eq": "13"}, [13]),
            ({"buildid__ne": "13"}, [12]),
            ({"buildid__ne": ["12", "13"]}, []),
            ({"buildid__lt": "13"}, [12]),
            ({"buildid__le": "13"}, [12, 13]),
            ({"buildid__gt": "12"}, [13]),
            ({"buildid__ge": "12"}, [12, 13]),
            ({"buildid__in": ["13", "99"]}, [13]),
            ({"buildid__notin": "13"}, [12]),
            ({"state_string__contains": "build"}, [13]),
            ({"state_string__contains": ["fin", "xx"]}, [12]),
            ({"started_at__gt": str(NOW - 50)}, [13]),
            ({"complete_at": str(NOW - 50)}, [12]),
        ]
        for query, expected in cases:
            self.assertEqual(await self.ids(query), expected, query)

    async def test_filter_on_list_field(self):
        self.assertEqual(
            await self.ids({"tags__contains": "fast"}, "builders", "builderid", "builders"), [5]
        )

    async def test_boolean_values(self):
        for text, expected in [
            ("true", [12]),
            ("1", [12]),
            ("yes", [12]),
            ("on", [12]),
            ("false", [13]),
            ("0", [13]),
            ("No", [13]),
            ("off", [13]),
        ]:
            self.assertEqual(await self.ids({"complete": text}), expected, text)

    async def test_bad_filter_values(self):
        for query, param in [
            ({"complete": "maybe"}, "complete"),
            ({"buildid": "x"}, "buildid"),
            ({"buildid__gt": "1.5"}, "buildid__gt"),
            ({"started_at__lt": "yesterday"}, "started_at__lt"),
        ]:
            res = await self.get("builds", query)
            await self.assertError(res, 400, f"invalid filter value for {param}")

    async def test_unknown_parameters(self):
        await self.assertError(
            await self.get("builds", {"foo": "1"}), 400, "unrecognized query parameter 'foo'"
        )
        # a malformed x__op is ignored
        for query in ({"nope__eq": "1"}, {"buildid__bogus": "1"}, {"buildid__lt": ["1", "2"]}):
            self.assertEqual(await self.ids(query), [12, 13], query)

    async def test_unselected_fields(self):
        await self.assertError(
            await self.get("builds", {"field": "number", "buildid": "12"}),
            400,
            "cannot filter on un-selected fields",
        )
        await self.assertError(
            await self.get("builds", {"field": "number", "order": "-buildid"}),
            400,
            "cannot order on un-selected fields",
        )

    async def test_filter_on_single(self):
        res = await self.get("builds/12", {"buildid": "12"})
        await self.assertError(res, 400, "this is not a collection")

    async def test_property(self):
        res = await self.get("builds/12", {"property": "*"})
        self.assertEqual(res.json()["builds"][0]["properties"], {"p": ["v", "src"]})
        res = await self.get("builds", {"property": ["p", "q"], "buildid": "12"})
        self.assertEqual(res.json()["builds"][0]["properties"], {"p": ["v", "src"]})
        res = await self.get("builds/12", {"property": "q"})
        self.assertEqual(res.json()["builds"][0]["properties"], {})

    # --- logs -------------------------------------------------------------------------

    async def test_log_contents(self):
        res = await self.get("logs/30/contents")
        self.assertEqual(
            res.json(),
            {
                "logchunks": [{"logid": 30, "firstline": 0, "content": "ohello\noworld\n"}],
                "meta": {},
            },
        )
        res = await self.get("logs/30/contents", {"offset": "1", "limit": "1"})
        self.assertEqual(res.json()["logchunks"][0]["content"], "oworld\n")
        self.assertEqual((await self.get("logs/30/contents", {"offset": "5"})).code, 404)

    async def test_raw_log(self):
        res = await self.get("builds/12/steps/compile/logs/stdio/raw")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.header("Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(
            res.header("Content-Disposition"),
            "attachment; filename=b5_build_1_step_compile_log_stdio",
        )
        self.assertEqual(res.body, b"Builder: b5\nBuild number: 1\nWorker name: w1\nhello\nworld\n")
        inline = await self.get("logs/30/raw_inline")
        self.assertEqual(inline.body, res.body)
        self.assertIsNone(inline.header("Content-Disposition"))
        self.assertEqual((await self.get("logs/99/raw")).code, 404)

    async def test_raw_log_is_read_and_sent_in_pieces(self):
        self.patch(logchunks, "RAW_CHUNK_LINES", 2)
        reads = []
        get_lines = self.master.db.logs.getLogLines

        def counting(logid, first, last):
            reads.append((first, last))
            return get_lines(logid, first, last)

        self.patch(self.master.db.logs, "getLogLines", counting)
        logid = await self.master.db.logs.addLog(20, "big", "big", "s")
        await self.master.db.logs.appendLog(logid, "".join(f"o{i}\n" for i in range(5)))
        res = await self.get(f"logs/{logid}/raw")
        self.assertEqual(res.code, 200)
        self.assertEqual(
            res.body, b"Builder: b5\nBuild number: 1\nWorker name: w1\n0\n1\n2\n3\n4\n"
        )
        self.assertEqual(reads, [(0, 1), (2, 3), (4, 4)])

    def test_write_gate(self):
        gate = rest._WriteGate()
        self.successResultOf(gate.wait())
        gate.pauseProducing()
        waiting = gate.wait()
        self.assertNoResult(waiting)
        gate.resumeProducing()
        self.successResultOf(waiting)
        gate.pauseProducing()
        waiting = gate.wait()
        gate.stopProducing()  # the client went away: the writer wakes and sees it
        self.successResultOf(waiting)
        self.assertTrue(gate.stopped)

    async def test_raw_bytes(self):
        await self.insert_test_data(
            [fakedb.BuildData(buildid=12, name="blob", value=b"\x00\xff", length=2, source="s")]
        )
        res = await self.get("builds/12/data/blob/value")
        self.assertEqual(res.body, b"\x00\xff")
        self.assertEqual(res.header("Content-Type"), "application/octet-stream; charset=utf-8")
        self.assertEqual(res.header("Content-Disposition"), "attachment; filename=blob")
        self.assertIsNone((await self.get("builds/12/data/blob")).json()["build_data"][0]["value"])

    async def test_raw_streamed(self):
        async def chunks():
            for c in ("one\n", b"two\n"):
                yield c

        async def raw(endpoint, kwargs, spec):
            return {"raw": chunks(), "mime-type": "text/plain"}

        self.patch(self.data, "getFromEndpoint", raw)
        res = await self.get("logs/30/raw_inline")
        self.assertEqual((res.code, res.body), (200, b"one\ntwo\n"))

    # --- HEAD, caching, errors -------------------------------------------------------

    async def test_head(self):
        got = await self.get("builds")
        res = await self.request("HEAD", "api/v2/builds", headers={"Accept": "application/json"})
        self.assertEqual((res.code, res.body), (200, b""))
        self.assertEqual(res.header("Content-Length"), str(len(got.body)))
        self.assertEqual((await self.request("HEAD", "api/v2/builds/99")).code, 404)

    async def test_json_cache_seconds(self):
        self.assertIsNone((await self.get("builds")).header("Expires"))
        await self.reconfig_www(json_cache_seconds=10)
        res = await self.get("builds")
        self.assertEqual(res.header("Expires"), http.datetimeToString(NOW + 10).decode())
        self.assertEqual(res.header("Pragma"), "no-cache")

    async def test_internal_error(self):
        def boom(*args, **kwargs):
            raise RuntimeError("boom")

        self.patch(self.db.builds, "getBuilds", boom)
        await self.assertError(await self.get("builds"), 500, "RuntimeError('boom')")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    async def test_data_layer_query_error(self):
        async def refuse(endpoint, kwargs, spec):
            raise InvalidQueryParameter("cannot do that")

        self.patch(self.data, "getFromEndpoint", refuse)
        await self.assertError(await self.get("builds"), 400, "cannot do that")

    async def test_bad_methods(self):
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            res = await self.request(method, "api/v2/builds")
            await self.assertError(res, 400, "invalid HTTP method")

    # --- CORS -------------------------------------------------------------------------

    async def test_cors_default_origin_is_buildbot_url(self):
        res = await self.get("builds", Origin="http://bb.example.org:8010")
        self.assertEqual(res.code, 200)
        self.assertEqual(res.header("Access-Control-Allow-Origin"), "http://bb.example.org:8010")
        self.assertEqual(res.header("Access-Control-Allow-Headers"), "Content-Type")
        self.assertEqual(res.header("Access-Control-Max-Age"), "3600")
        no_origin = await self.get("builds")
        self.assertIsNone(no_origin.header("Access-Control-Allow-Origin"))

    async def test_cors_denied(self):
        res = await self.get("builds", Origin="http://evil.example.com")
        await self.assertError(res, 400, "invalid origin")
        self.assertIsNone(res.header("Access-Control-Allow-Origin"))
        res = await self.request(
            "POST",
            "api/v2/builds/12",
            headers={"Origin": "http://evil.example.com", "Content-Type": "application/json"},
            body=b"{}",
        )
        self.assertEqual((res.code, res.json()), (400, {"error": {"message": "invalid origin"}}))

    async def test_cors_patterns(self):
        await self.reconfig_www(allowed_origins=["https://*.example.com"])
        self.assertEqual((await self.get("builds", Origin="https://CI.Example.COM")).code, 200)
        self.assertEqual((await self.get("builds", Origin="http://ci.example.com")).code, 400)
        self.assertEqual((await self.get("builds", Origin="http://bb.example.org:8010")).code, 400)

    async def test_cors_preflight(self):
        origin = "http://bb.example.org:8010"
        for method in ("GET", "POST", "HEAD"):
            res = await self.request(
                "OPTIONS",
                "api/v2/builds/12",
                headers={"Origin": origin, "Access-Control-Request-Method": method},
            )
            self.assertEqual((res.code, res.body), (200, b""), method)
            self.assertEqual(res.header("Access-Control-Allow-Origin"), origin)
        res = await self.request(
            "OPTIONS",
            "api/v2/builds/12",
            headers={"Origin": origin, "Access-Control-Request-Method": "PUT"},
        )
        await self.assertError(res, 400, "invalid method")
        res = await self.request(
            "OPTIONS",
            "api/v2/builds",
            headers={"Origin": "http://evil.org", "Access-Control-Request-Method": "GET"},
        )
        await self.assertError(res, 400, "invalid origin")
